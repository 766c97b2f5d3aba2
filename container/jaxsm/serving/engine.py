"""Continuous batching: a scheduler thread per accelerator drives the slot steps.

Each iteration of an engine's thread:
  1. admits waiting requests into free slots, lowest slot first: one prefill + insert each
     (dispatched, not waited for), whose sampled token is the request's first token. A prompt
     longer than one chunk (JAXSM_PREFILL_CHUNK) is prefilled a chunk per iteration instead,
     within JAXSM_PREFILL_TOKENS_PER_STEP prompt tokens per iteration over all admissions, so a
     long prompt delays the running requests' next token by one chunk, not by its whole prefill;
  2. dispatches one generate step for every occupied slot. The decode state (last tokens,
     positions, sampling parameters, keys) lives on the device and each step updates it there,
     so nothing goes from the host to the device per token;
  3. only then reads back what the device made before: the first tokens of step 1 (streamed at
     once: time to first token is one prefill after a request reaches a slot) and the previous
     generate step's tokens, hands each request its token, and frees the slot of every request
     that sampled EOS, used its `max_new_tokens`, was cancelled (client gone, timeout) or failed.
So the device always has the next step queued while the host streams the last one. The price:
a request that samples EOS at step n has step n+1 computed for it as well (the host learns of the
end only then), and that token is dropped; its slot is free for the next request one step later.
A request that ends at max_new_tokens is not given that extra step (the host counts them).
Nobody waits for the longest generation of a batch.

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
    key: Any = None  # its PRNG key (host array), set when admitted
    dispatched: int = 0  # tokens the device was asked for (prefill's first + one per decode step)
    chunks: list[int] = field(default_factory=list)  # starts of the prompt chunks still to prefill
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
        # The host's copy of each slot's position, advanced at every dispatch (never read back from
        # the device): it picks the attention window of the next step.
        self._pos = np.zeros((slots,), np.int32)
        # The generate step dispatched but not read yet: (tokens on the device, its slots' tickets, start time).
        self._in_flight: tuple[Any, list[tuple[int, Ticket]], float] | None = None
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
                while not self._waiting and not self._busy() and not self._stopping and self._in_flight is None:
                    self._cond.wait()
                if self._stopping and not self._waiting and not self._busy() and self._in_flight is None:
                    return
            firsts = self._admit()
            self._drop_cancelled()
            previous, self._in_flight = self._in_flight, (self._dispatch() if self._busy() else None)
            # The device now has the next step queued: read what it made before, and stream it.
            for slot, t, tok in firsts:
                self._first_token(slot, t, tok)
            if previous is not None:
                self._collect(previous)

    def _busy(self) -> bool:
        return any(t is not None for t in self._running)

    def _admit(self) -> list[tuple[int, Ticket, Any]]:
        """Dispatch prefill work: the next chunks of long prompts already in slots, then waiting
        requests into free slots, within the prefill budget; returns the first tokens, unread."""
        firsts: list[tuple[int, Ticket, Any]] = []
        spent = 0
        for slot, t in enumerate(self._running):
            if t is not None and t.chunks and spent < self.prefill_budget:
                spent += self._chunk(t, slot, firsts)
        while spent < self.prefill_budget:
            try:
                slot = self._running.index(None)
            except ValueError:
                break  # every slot is taken
            with self._cond:
                if not self._waiting:
                    break
                t = self._waiting.popleft()
            if t.cancelled:
                continue
            r = t.request
            t.admitted = time.monotonic()
            t.key = self.steps.key(r.seed)
            t.chunks = self.steps.chunk_starts(t.ids.size)
            if t.chunks:
                self._running[slot] = t
                self._pos[slot] = 0  # not decoding yet: does not widen the attention window
                spent += self._chunk(t, slot, firsts)
                continue
            spent += self.steps.prompt_bucket(t.ids.size)
            tok = self._start(t, slot)
            if tok is not None:
                firsts.append((slot, t, tok))
        return firsts

    def _chunk(self, t: Ticket, slot: int, firsts: list[tuple[int, Ticket, Any]]) -> int:
        """Dispatch the next chunk of t's prompt; returns the prompt tokens it spent."""
        r = t.request
        start = t.chunks.pop(0)
        try:
            tok = self.steps.prefill_chunk(t.ids, slot, start, r.temperature, r.top_k, r.min_new_tokens, t.key)
        except Exception as e:  # noqa: BLE001 - this request fails; the engine goes on
            log.exception("%s: prefill failed", self.name)
            self._running[slot] = None
            t.sink(ErrorEvent(e))
            return self.steps.chunk
        if tok is not None:  # the last chunk: the request decodes from the next step on
            t.chunks = []
            self._pos[slot] = t.ids.size
            t.dispatched = 1
            firsts.append((slot, t, tok))
        return self.steps.chunk

    def _start(self, t: Ticket, slot: int) -> Any:
        r = t.request
        try:
            tok = self.steps.prefill_insert(t.ids, slot, r.temperature, r.top_k, r.min_new_tokens, t.key)
        except Exception as e:  # noqa: BLE001 - this request fails; the engine goes on
            log.exception("%s: prefill failed", self.name)
            t.sink(ErrorEvent(e))
            return None
        self._running[slot] = t
        self._pos[slot] = t.ids.size
        t.dispatched = 1
        return tok

    def _first_token(self, slot: int, t: Ticket, tok: Any) -> None:
        try:
            first = int(self.steps.read(tok))
        except Exception as e:  # noqa: BLE001 - as for a failed dispatch
            log.exception("%s: prefill failed", self.name)
            if self._running[slot] is t:
                self._running[slot] = None
            t.sink(ErrorEvent(e))
            return
        self.stats["prefills"] += 1
        self.stats["prefill_s"] += time.monotonic() - t.admitted
        t.first_token = time.monotonic()
        self._emit(slot, t, first)

    def _emit(self, slot: int, t: Ticket, tok: int) -> None:
        """Deliver one sampled token; finish the request (freeing its slot) when it ends. A token
        for a ticket no longer in its slot (ended, cancelled, failed) is the dropped extra step."""
        if self._running[slot] is not t:
            return
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

    def _dispatch(self) -> tuple[Any, list[tuple[int, Ticket]], float] | None:
        """Queue one generate step for the decoding slots (without waiting for it). A request already
        asked for its max_new_tokens is left out: it ends with a token in flight, so only an EOS
        ending costs a dropped step."""
        occupied = [
            (s, t) for s, t in enumerate(self._running) if t is not None and not t.chunks and t.dispatched < t.budget
        ]
        if not occupied:
            return None  # only prompts being prefilled, or requests whose last token is in flight
        slots = [s for s, _ in occupied]
        rows = self.steps.rows_for(slots[-1])
        window = self.steps.window_for(int(self._pos[slots].max()) + 1)
        t0 = time.monotonic()
        try:
            nxt = self.steps.generate(rows, window)
        except Exception as e:  # noqa: BLE001 - fail the running requests, keep serving
            self._fail(occupied, e)
            return None
        self._pos[slots] += 1
        for _, t in occupied:
            t.dispatched += 1
        self.stats["steps"] += 1
        self.stats["rows"] += rows
        for _, t in occupied:
            t.peak_batch = max(t.peak_batch, len(occupied))
        return nxt, occupied, t0

    def _collect(self, dispatched: tuple[Any, list[tuple[int, Ticket]], float]) -> None:
        """Read a dispatched step's tokens and hand them to the requests that ran in it."""
        handle, occupied, t0 = dispatched
        try:
            nxt = self.steps.read(handle)
        except Exception as e:  # noqa: BLE001 - as for a failed dispatch
            self._fail(occupied, e)
            return
        self.stats["step_s"] += time.monotonic() - t0
        self.stats["tokens"] += sum(self._running[s] is t for s, t in occupied)
        for s, t in occupied:
            self._emit(s, t, int(nxt[s]))

    def _fail(self, occupied: list[tuple[int, Ticket]], e: BaseException) -> None:
        log.error("%s: generate step failed; failing %d running requests", self.name, len(occupied), exc_info=e)
        for s, t in occupied:
            if self._running[s] is t:
                self._running[s] = None
                t.sink(ErrorEvent(e))


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
