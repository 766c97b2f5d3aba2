"""The continuous-batching engine: scheduling on scripted device steps (fast, exact), and the real
jitted steps giving the same tokens as the run-to-completion path."""

from __future__ import annotations

import threading
import time

import jax
import numpy as np
import pytest

from jaxsm.config import parse_hyperparameters
from jaxsm.generate import Completion, Generator, Request
from jaxsm.model import ModelConfig, build_model, init_params
from jaxsm.serving.batcher import QueueFull
from jaxsm.serving.engine import DoneEvent, Engine, EnginePool, ErrorEvent, TokenEvent
from jaxsm.tokenizer import EOS_ID, ByteTokenizer
from jaxsm.train import write_model

A, B = ord("a"), ord("b")


class FakeGen:
    """What the engine uses of a Generator: encoding and the tokenizer."""

    config = ModelConfig(n_layers=1, d_model=8, n_heads=1, seq_len=64, vocab_size=259)
    tokenizer = ByteTokenizer()
    encode = Generator.encode


class ScriptedSteps:
    """Device steps whose tokens come from a script per prompt; records every dispatch (`calls`) and,
    in `order`, every dispatch and read of a generate step by its number."""

    chunk = 4

    def __init__(
        self,
        slots: int,
        scripts: dict[str, list[int]],
        fail_on: str | None = None,
        delay: float = 0.0,
        chunked: bool = False,
    ):
        self.slots, self.device, self.scripts, self.fail_on, self.delay = slots, "fake", scripts, fail_on, delay
        self.chunked = chunked  # prompts longer than `chunk` are prefilled a chunk at a time
        self.calls: list[tuple] = []
        self.order: list[tuple[str, int]] = []
        self._left: dict[int, list[int]] = {}
        self._prompt: dict[int, str] = {}

    def key(self, seed):
        return np.array([0, seed], np.uint32)

    def prompt_bucket(self, n):
        return 16

    def rows_for(self, highest_slot):
        return highest_slot + 1

    def window_for(self, longest):
        return 64

    def warmup(self):
        return 0.0

    def chunk_starts(self, n):
        return list(range(0, n, self.chunk)) if self.chunked and n > self.chunk else []

    def prefill_chunk(self, ids, slot, start, temperature, top_k, min_new, key):
        prompt = bytes(ids.tolist()).decode()
        self.calls.append(("chunk", prompt, start))
        if start + self.chunk < ids.size:
            return None
        self._left[slot] = list(self.scripts[prompt])
        self._prompt[slot] = prompt
        return ("prefill", 0, self._left[slot].pop(0))

    def prefill_insert(self, ids, slot, temperature, top_k, min_new, key):
        prompt = bytes(ids.tolist()).decode()
        if prompt == self.fail_on:
            raise RuntimeError("device fell over")
        self._left[slot] = list(self.scripts[prompt])
        self._prompt[slot] = prompt
        self.calls.append(("prefill", prompt, slot))
        return ("prefill", 0, self._left[slot].pop(0))

    def generate(self, rows, window):
        self.calls.append(("generate", rows, {s: self._prompt[s] for s in range(rows) if self._left.get(s)}))
        n = sum(c[0] == "generate" for c in self.calls)
        self.order.append(("dispatch", n))
        time.sleep(self.delay)
        out = np.full((rows,), A, np.int32)
        for s in range(rows):
            if self._left.get(s):
                out[s] = self._left[s].pop(0)
        return ("generate", n, out)

    def read(self, handle):
        kind, n, value = handle
        if kind == "generate":
            self.order.append(("read", n))
        return np.asarray(value)


class Collector:
    def __init__(self, n: int):
        self.events: dict[int, list] = {i: [] for i in range(n)}
        self.done = threading.Event()
        self._lock = threading.Lock()
        self._finished = 0
        self.n = n

    def sink(self, i: int):
        def f(ev):
            with self._lock:
                self.events[i].append(ev)
                if isinstance(ev, (DoneEvent, ErrorEvent)):
                    self._finished += 1
                    if self._finished == self.n:
                        self.done.set()

        return f

    def final(self, i: int):
        return self.events[i][-1]


def run(
    steps: ScriptedSteps, requests: list[Request], max_queue: int = 16, prefill_budget: int | None = None
) -> tuple[Collector, EnginePool]:
    gen = FakeGen()
    pool = EnginePool(gen, [Engine(gen, steps)], max_queue=max_queue)  # type: ignore[arg-type]
    if prefill_budget is not None:
        pool.engines[0].prefill_budget = prefill_budget
    c = Collector(len(requests))
    pool.submit(requests, [c.sink(i) for i in range(len(requests))])
    pool.start()
    assert c.done.wait(10), "the engine did not finish"
    pool.stop(5)
    return c, pool


def test_a_request_leaves_at_eos_and_the_next_takes_its_slot_at_the_next_step():
    steps = ScriptedSteps(
        2,
        {"long": [A] * 6, "eos": [B, EOS_ID], "next": [B, B, B]},
    )
    c, _ = run(steps, [Request("long", 6), Request("eos", 6), Request("next", 3)])
    long_, eos, nxt = (c.final(i) for i in range(3))
    assert eos.completion == Completion("b", 2, 3, "eos")
    assert long_.completion == Completion("aaaaaa", 6, 4, "length")
    assert nxt.completion == Completion("bbb", 3, 4, "length")
    # "eos" ends in the first generate step, which the host reads after dispatching the second (which
    # computes a dropped token in slot 1); "next" is prefilled into slot 1 right after that read, and
    # the following generate step runs "long" and "next" together.
    assert steps.calls[:6] == [
        ("prefill", "long", 0),
        ("prefill", "eos", 1),
        ("generate", 2, {0: "long", 1: "eos"}),
        ("generate", 2, {0: "long"}),
        ("prefill", "next", 1),
        ("generate", 2, {0: "long", 1: "next"}),
    ]
    # tokens stream in order, one event each, before the final event
    kinds = [type(e).__name__ for e in c.events[0]]
    assert kinds == ["TokenEvent"] * 6 + ["DoneEvent"]
    assert [e.index for e in c.events[0][:-1]] == list(range(6))
    assert long_.peak_batch == 2 and long_.ttft_s <= long_.total_s


def test_max_new_tokens_ends_a_request_and_occupancy_shrinks():
    steps = ScriptedSteps(2, {"y": [B] * 10, "x": [A] * 10})
    c, _ = run(steps, [Request("y", 5), Request("x", 2)])
    assert c.final(0).completion == Completion("bbbbb", 5, 1, "length")
    assert c.final(1).completion == Completion("aa", 2, 1, "length")
    rows = [call[1] for call in steps.calls if call[0] == "generate"]
    # x (slot 1) needs one generate step after its prefill token, then only slot 0 runs: a request's
    # steps stop at its max_new_tokens although the host reads its tokens one step behind
    assert rows == [2, 1, 1, 1]


def test_a_long_prompt_is_prefilled_a_chunk_per_step_between_decode_steps():
    steps = ScriptedSteps(2, {"run": [A] * 8, "a long prompt": [B, B]}, chunked=True)
    steps.chunk = 4
    c, _ = run(steps, [Request("run", 8), Request("a long prompt", 2)], prefill_budget=4)
    assert c.final(0).completion.text == "aaaaaaaa" and c.final(1).completion.text == "bb"
    # the running request gets a decode step after every chunk of the 13-byte prompt (4 chunks of 4)
    kinds = [call[0] if call[0] != "chunk" else f"chunk {call[2]}" for call in steps.calls[:10]]
    assert kinds == [
        "prefill",
        "generate",
        "chunk 0",
        "generate",
        "chunk 4",
        "generate",
        "chunk 8",
        "generate",
        "chunk 12",
        "generate",
    ]
    assert steps.calls[9] == ("generate", 2, {0: "run", 1: "a long prompt"})


def test_step_n_plus_1_is_dispatched_before_step_n_is_read():
    steps = ScriptedSteps(2, {"p": [A] * 5, "q": [B] * 3})
    c, _ = run(steps, [Request("p", 5), Request("q", 3)])
    assert c.final(0).completion.text == "aaaaa" and c.final(1).completion.text == "bbb"
    dispatched = [n for kind, n in steps.order if kind == "dispatch"]
    for n in dispatched[:-1]:
        # the device has step n+1 queued by the time the host waits for step n's tokens
        assert steps.order.index(("dispatch", n + 1)) < steps.order.index(("read", n))


def test_a_full_waiting_room_refuses_at_once_and_queues_nothing():
    gen = FakeGen()
    steps = ScriptedSteps(1, {"p": [A] * 3})
    pool = EnginePool(gen, [Engine(gen, steps)], max_queue=2)  # type: ignore[arg-type]
    sink = lambda ev: None  # noqa: E731
    pool.submit([Request("p", 3)], [sink])
    t0 = time.monotonic()
    with pytest.raises(QueueFull):
        pool.submit([Request("p", 3), Request("p", 3)], [sink, sink])  # only one place left: neither is queued
    assert time.monotonic() - t0 < 1.0
    assert pool.engines[0].waiting() == 1
    pool.submit([Request("p", 3)], [sink])
    with pytest.raises(QueueFull):
        pool.submit([Request("p", 3)], [sink])


def test_a_cancelled_request_frees_its_slot_and_gets_no_more_events():
    steps = ScriptedSteps(1, {"slow": [A] * 50, "after": [B, B]}, delay=0.02)
    gen = FakeGen()
    pool = EnginePool(gen, [Engine(gen, steps)], max_queue=4)  # type: ignore[arg-type]
    c = Collector(2)
    got_first = threading.Event()

    def first(ev):
        c.sink(0)(ev)
        got_first.set()

    [slow, _] = pool.submit([Request("slow", 50), Request("after", 2)], [first, c.sink(1)])
    pool.start()
    assert got_first.wait(10)
    slow.cancel()
    deadline = time.monotonic() + 10
    while not any(isinstance(e, DoneEvent) for e in c.events[1]) and time.monotonic() < deadline:
        time.sleep(0.01)
    pool.stop(5)
    assert c.final(1).completion.text == "bb"
    assert len(c.events[0]) < 50 and not any(isinstance(e, DoneEvent) for e in c.events[0])


def test_a_failed_prefill_fails_that_request_only():
    steps = ScriptedSteps(2, {"ok": [A, A]}, fail_on="bad")
    c, _ = run(steps, [Request("bad", 2), Request("ok", 2)])
    assert isinstance(c.final(0), ErrorEvent) and "fell over" in str(c.final(0).error)
    assert c.final(1).completion.text == "aa"


def test_requests_go_to_the_least_loaded_engine():
    gen = FakeGen()
    engines = [Engine(gen, ScriptedSteps(4, {}), name=f"e{i}") for i in range(2)]  # type: ignore[arg-type]
    pool = EnginePool(gen, engines, max_queue=8)  # type: ignore[arg-type]
    pool.submit([Request("p", 3)] * 4, [lambda ev: None] * 4)
    assert [e.waiting() for e in engines] == [2, 2]


@pytest.fixture(scope="module")
def tiny_model(tmp_path_factory):
    d = tmp_path_factory.mktemp("tiny-model")
    cfg = parse_hyperparameters(
        {"n_layers": "2", "d_model": "32", "n_heads": "2", "seq_len": "48", "warmup_steps": "0"}
    )
    model = build_model(ModelConfig.from_dict(cfg.model_dict()))
    write_model(d, cfg, jax.device_get(init_params(model, 3)), {})
    return d


@pytest.mark.parametrize("chunk", [None, 16], ids=["whole-prefill", "chunked-prefill"])
def test_engine_tokens_equal_the_run_to_completion_path(tiny_model, chunk, monkeypatch):
    """Greedy, seeded sampling with top-k, min_new_tokens, an empty and a long prompt; 2 slots
    for 6 requests, so requests join a running batch, slots are reused, and occupancy and the
    attention window change between steps. Chunked: prompts over 16 tokens are prefilled 16 at a
    time (in 2 or 3 chunks) and give the same
    tokens as the unchunked run-to-completion path."""
    if chunk is not None:
        monkeypatch.setenv("JAXSM_PREFILL_CHUNK", str(chunk))
    gen = Generator(tiny_model)
    requests = [
        Request("hello", 12, 0.0),
        Request("a much longer prompt than the others, long enough for the 32 bucket", 10, 0.0),
        Request("", 5, 0.0),
        Request("abc", 9, 1.0, 0, 7),
        Request("xyz", 7, 1.3, 5, 11, min_new_tokens=7),
        Request("q" * 40, 8, 0.9, 3, 5),
    ]
    expected = [gen.complete([r])[0] for r in requests]
    pool = EnginePool.on_devices(gen, slots=2)
    pool.start()
    c = Collector(len(requests))
    pool.submit(requests, [c.sink(i) for i in range(len(requests))])
    assert c.done.wait(120)
    pool.stop(10)
    for i, want in enumerate(expected):
        got = c.final(i)
        assert isinstance(got, DoneEvent), got
        assert got.completion == want, (requests[i], got.completion, want)
        tokens = [e for e in c.events[i] if isinstance(e, TokenEvent)]
        assert len(tokens) == want.generated_tokens
        # streamed texts add up to the answer (bar a character cut off by the budget)
        assert want.text.startswith("".join(e.text for e in tokens))
    assert expected[4].generated_tokens == 7  # EOS held off until min_new_tokens
    assert pool.engines[0].stats["steps"] > 0
