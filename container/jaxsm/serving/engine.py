"""Continuous batching: a scheduler thread per accelerator drives the slot steps.

Each iteration of an engine's thread:
  1. admits waiting requests into free slots, lowest slot first: one prefill + insert each,
     whose sampled token is the request's first token (streamed at once: time to first token
     is one prefill after a request reaches a slot, not a whole batch);
  2. runs one generate step for every occupied slot and hands each request its token;
  3. frees the slot of every request that sampled EOS, used its `max_new_tokens`, was
     cancelled (client gone, timeout) or failed, so the next waiting request takes it in the
     next iteration.
A request therefore joins the running batch at the next step and leaves it the step it ends;
nobody waits for the longest generation of a batch.

Back-pressure is explicit: `submit` raises QueueFull when the waiting room (JAXSM_MAX_QUEUE
requests, over all engines) is full, and the server answers 503 at once.

`EnginePool` runs one engine per local device (each with its own copy of the weights and its
own cache) and sends each request to the least loaded one.

Events reach a request's `sink` on the engine thread, in order: one TokenEvent per generated
token, then exactly one final DoneEvent (completion, timings) or ErrorEvent. Sinks must be
quick and must not block (the server's posts to its event loop).
"""

from __future__ import annotations

import codecs
import logging
import os
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..generate import EOS_ID, Completion, Generator, Request
from .batcher import QueueFull
from .slots import SlotSteps

log = logging.getLogger(__name__)

DEFAULT_CPU_SLOTS = 16
MAX_AUTO_SLOTS = 256


@dataclass
class TokenEvent:
    token_id: int
    text: str  # the UTF-8 text this token completes ("" mid-character, and for EOS)
    index: int  # 0 for the first generated token


@dataclass
class DoneEvent:
    completion: Completion
    queue_s: float  # submitted -> admitted into a slot
    ttft_s: float  # submitted -> first token
    total_s: float  # submitted -> done
    peak_batch: int  # the most requests that shared one of its decode steps


@dataclass
class ErrorEvent:
    error: BaseException


Event = TokenEvent | DoneEvent | ErrorEvent
Sink = Callable[[Event], None]


@dataclass
class Ticket:
    """One request inside an engine."""

    request: Request
    sink: Sink
    ids: np.ndarray = field(default_factory=lambda: np.zeros((0,), np.int32))
    budget: int = 0
    submitted: float = field(default_factory=time.monotonic)
    admitted: float = 0.0
    first_token: float = 0.0
    generated: list[int] = field(default_factory=list)
    peak_batch: int = 1
    cancelled: bool = False
    decoder: Any = field(default_factory=lambda: codecs.getincrementaldecoder("utf-8")(errors="replace"))

    def cancel(self) -> None:
        """Stop generating for this request (its slot is freed at the next step); no more events."""
        self.cancelled = True


class Engine:
    """Continuous batching over the KV-cache slots of one device (`steps`: its SlotSteps)."""

    def __init__(self, gen: Generator, steps: SlotSteps, name: str = "engine"):
        self.gen = gen
        self.steps = steps
        slots = self.slots = steps.slots
        self.name = name
        self.prefill_budget = max(1, _env_int("JAXSM_PREFILL_TOKENS_PER_STEP", 512))
        self._cond = threading.Condition()
        self._waiting: deque[Ticket] = deque()
        self._running: list[Ticket | None] = [None] * slots
        self._stopping = False
        self._thread = threading.Thread(target=self._loop, name=name, daemon=True)
        # Per-slot state fed to every generate step (host arrays, sliced to the occupied prefix).
        self._tokens = np.zeros((slots,), np.int32)
        self._pos = np.zeros((slots,), np.int32)
        self._temperature = np.ones((slots,), np.float32)
        self._top_k = np.zeros((slots,), np.int32)
        self._min_new = np.zeros((slots,), np.int32)
        self._keys = np.zeros((slots, 2), np.uint32)
        self._steps = np.zeros((slots,), np.int32)
        # Counters for logs and the bench's profile.
        self.stats = {"steps": 0, "step_s": 0.0, "rows": 0, "prefills": 0, "prefill_s": 0.0, "tokens": 0}

    # -- any thread ---------------------------------------------------------------------------
    def start(self) -> float:
        """Compile (see SlotSteps.warmup), then start the scheduler thread; returns the warm-up seconds."""
        elapsed = self.steps.warmup()
        self._thread.start()
        return elapsed

    def load(self) -> int:
        """Requests waiting or running here."""
        return len(self._waiting) + sum(t is not None for t in self._running)

    def waiting(self) -> int:
        return len(self._waiting)

    def enqueue(self, tickets: Sequence[Ticket]) -> None:
        with self._cond:
            if self._stopping:
                raise QueueFull("draining")
            self._waiting.extend(tickets)
            self._cond.notify()

    def stop(self, timeout: float | None = None) -> None:
        """Finish everything waiting and running, then end the thread."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        if self._thread.is_alive():
            self._thread.join(timeout)

    # -- the engine thread ----------------------------------------------------------------------
    def _loop(self) -> None:
        while True:
            with self._cond:
                while not self._waiting and not self._busy() and not self._stopping:
                    self._cond.wait()
                if self._stopping and not self._waiting and not self._busy():
                    return
            self._admit()
            self._drop_cancelled()
            if self._busy():
                self._step()

    def _busy(self) -> bool:
        return any(t is not None for t in self._running)

    def _admit(self) -> None:
        spent = 0
        while spent < self.prefill_budget:
            try:
                slot = self._running.index(None)
            except ValueError:
                return  # every slot is taken
            with self._cond:
                if not self._waiting:
                    return
                t = self._waiting.popleft()
            if t.cancelled:
                continue
            spent += self.steps.prompt_bucket(t.ids.size)
            self._start(t, slot)

    def _start(self, t: Ticket, slot: int) -> None:
        r = t.request
        t.admitted = time.monotonic()
        key = self.steps.key(r.seed)
        try:
            tok = self.steps.prefill_insert(t.ids, slot, r.temperature, r.top_k, r.min_new_tokens, key)
        except Exception as e:  # noqa: BLE001 - this request fails; the engine goes on
            log.exception("%s: prefill failed", self.name)
            t.sink(ErrorEvent(e))
            return
        self.stats["prefills"] += 1
        self.stats["prefill_s"] += time.monotonic() - t.admitted
        t.first_token = time.monotonic()
        self._running[slot] = t
        self._tokens[slot] = tok
        self._pos[slot] = t.ids.size
        self._temperature[slot] = r.temperature
        self._top_k[slot] = r.top_k
        self._min_new[slot] = r.min_new_tokens
        self._keys[slot] = key
        self._steps[slot] = 1
        self._emit(slot, tok)

    def _emit(self, slot: int, tok: int) -> None:
        """Deliver one sampled token; finish the request (freeing its slot) when it ends."""
        t = self._running[slot]
        assert t is not None
        if t.cancelled:
            self._running[slot] = None
            return
        t.generated.append(tok)
        text = t.decoder.decode(bytes([tok])) if 0 <= tok < 256 else ""
        t.sink(TokenEvent(tok, text, len(t.generated) - 1))
        if tok == EOS_ID or len(t.generated) >= t.budget:
            self._running[slot] = None
            now = time.monotonic()
            completion = Completion(
                text=self.gen.tokenizer.decode(t.generated),
                generated_tokens=len(t.generated),
                prompt_tokens=int(t.ids.size),
                finish_reason="eos" if tok == EOS_ID else "length",
            )
            t.sink(
                DoneEvent(
                    completion, t.admitted - t.submitted, t.first_token - t.submitted, now - t.submitted, t.peak_batch
                )
            )

    def _drop_cancelled(self) -> None:
        for slot, t in enumerate(self._running):
            if t is not None and t.cancelled:
                self._running[slot] = None

    def _step(self) -> None:
        occupied = [s for s, t in enumerate(self._running) if t is not None]
        rows = self.steps.rows_for(occupied[-1])
        window = self.steps.window_for(int(self._pos[occupied].max()) + 1)
        t0 = time.monotonic()
        try:
            nxt = self.steps.generate(
                rows,
                window,
                self._tokens,
                self._pos,
                self._temperature,
                self._top_k,
                self._min_new,
                self._keys,
                self._steps,
            )
        except Exception as e:  # noqa: BLE001 - fail the running requests, keep serving
            log.exception("%s: generate step failed; failing %d running requests", self.name, len(occupied))
            for s in occupied:
                t = self._running[s]
                self._running[s] = None
                if t is not None:
                    t.sink(ErrorEvent(e))
            return
        self.stats["steps"] += 1
        self.stats["step_s"] += time.monotonic() - t0
        self.stats["rows"] += rows
        self.stats["tokens"] += len(occupied)
        for s in occupied:
            t = self._running[s]
            if t is not None and t.peak_batch < len(occupied):
                t.peak_batch = len(occupied)
            tok = int(nxt[s])
            self._tokens[s] = tok
            self._pos[s] += 1
            self._steps[s] += 1
            self._emit(s, tok)


def configure_cpu_engines(environ: dict[str, str] | None = None) -> int:
    """JAXSM_CPU_ENGINES=n (> 1) on a CPU-only host: n engines, each on its own XLA CPU device
    running single-threaded, instead of one engine whose every op is split across XLA's thread
    pool. On a small or shared machine, threads that wait for each other at every op lose most of
    their time when any of them is descheduled; engines that share nothing do not. Must run
    before JAX initialises its backends (it edits XLA_FLAGS); returns the engine count."""
    env = os.environ if environ is None else environ
    n = _env_int("JAXSM_CPU_ENGINES", 1)
    platforms = env.get("JAX_PLATFORMS", "").lower()
    if n <= 1 or (platforms and platforms != "cpu"):
        return 1
    flags = env.get("XLA_FLAGS", "")
    extra = [
        f"--xla_force_host_platform_device_count={n}",
        "--xla_cpu_multi_thread_eigen=false",
        "intra_op_parallelism_threads=1",
    ]
    env["XLA_FLAGS"] = " ".join([flags, *(f for f in extra if f.split("=")[0] not in flags)]).strip()
    return n


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


def default_slots(gen: Generator, device: Any) -> int:
    """JAXSM_SLOTS, else 16 on CPU, else as many as fit in a third of the device's free memory
    (up to 256), rounded down to a power of two."""
    configured = _env_int("JAXSM_SLOTS", 0)
    if configured > 0:
        return configured
    if device.platform == "cpu":
        return DEFAULT_CPU_SLOTS
    cfg = gen.config
    per_slot = 2 * cfg.n_layers * cfg.seq_len * cfg.d_model * np.dtype(gen.dtype).itemsize
    try:
        mem = device.memory_stats() or {}
        free = int(mem.get("bytes_limit", 0)) - int(mem.get("bytes_in_use", 0))
    except Exception:  # noqa: BLE001 - backends without memory stats
        free = 0
    if free <= 0:
        return DEFAULT_CPU_SLOTS
    fit = max(1, min(MAX_AUTO_SLOTS, free // 3 // per_slot))
    return 1 << (int(fit).bit_length() - 1)


class EnginePool:
    """Engines (one per device) behind one waiting room; requests go to the least loaded engine."""

    def __init__(self, gen: Generator, engines: Sequence[Engine], max_queue: int | None = None):
        self.gen = gen
        self.engines = list(engines)
        self.max_queue = max_queue if max_queue is not None else max(1, _env_int("JAXSM_MAX_QUEUE", 256))
        self._lock = threading.Lock()

    @classmethod
    def on_devices(cls, gen: Generator, devices: Sequence[Any] | None = None, slots: int | None = None) -> EnginePool:
        """One engine per local device (all of them by default), each with its own weights and cache."""
        import jax

        devices = list(devices) if devices is not None else jax.local_devices()
        engines = [
            Engine(gen, SlotSteps(gen, slots or default_slots(gen, d), d), name=f"engine-{i}")
            for i, d in enumerate(devices)
        ]
        return cls(gen, engines)

    def start(self) -> float:
        """Warm up every engine (in parallel: one compile per device) and start them; returns the seconds taken."""
        t0 = time.perf_counter()
        threads = [threading.Thread(target=e.start, name=f"warmup-{e.name}") for e in self.engines]
        for th in threads:
            th.start()
        for th in threads:
            th.join()
        return time.perf_counter() - t0

    def submit(self, requests: Sequence[Request], sinks: Sequence[Sink]) -> list[Ticket]:
        """Queue every request or none: QueueFull when the waiting room cannot take them all."""
        tickets = []
        for r, sink in zip(requests, sinks, strict=True):
            ids, budget = self.gen.encode(r)
            tickets.append(Ticket(r, sink, ids, budget))
        with self._lock:
            if sum(e.waiting() for e in self.engines) + len(tickets) > self.max_queue:
                raise QueueFull(f"request queue is full ({self.max_queue} waiting)")
            for t in tickets:
                min(self.engines, key=lambda e: e.load()).enqueue([t])
        return tickets

    def pending(self) -> int:
        return sum(e.load() for e in self.engines)

    def stop(self, timeout: float | None = None) -> None:
        deadline = None if timeout is None else time.monotonic() + timeout
        for e in self.engines:
            e.stop(None if deadline is None else max(0.0, deadline - time.monotonic()))

    def describe(self) -> str:
        return ", ".join(f"{e.name}: {e.slots} slots on {e.steps.device}" for e in self.engines)
