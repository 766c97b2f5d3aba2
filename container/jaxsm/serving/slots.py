"""The slot engine's device side: a KV cache of fixed slots, the per-slot decode state, and three
separately jitted steps. Everything a decode step reads stays on the device.

The cache holds `slots` rows of the model's whole context per layer ([slots, seq_len, heads,
head_dim], in the serving dtype) on one device, allocated once. Beside it, the decode state: per
slot its last token, position, temperature, top-k, min_new_tokens, PRNG key and step count
([slots] arrays on the device, donated and updated in place by every step). The steps:

  prefill(params, tokens [1, P], length, sampling...) -> first token, k/v [1, P, ...] per layer
      one prompt, padded to a power-of-two length bucket P; samples the first token itself so
      it can be streamed before the request's first decode step
  insert(cache, state, k/v, slot, first token, sampling...) -> cache, state
      writes a prefilled prompt into a slot's rows 0..P-1 and the request's decode state into
      the slot (the first token is the prefill's device output: no host round trip)
  extend(params, cache, state, tokens [1, C], start, slot, sampling..., last) -> token, cache, state
      one chunk of a prompt longer than C (JAXSM_PREFILL_CHUNK, 128): its k/v written into the
      slot at start..start+C-1, attending over the chunks before it; the engine runs one chunk
      per iteration between decode steps, so a long prompt does not stall the running requests.
      While the prompt is prefilled the slot's position is parked past the context, so decode
      steps (which compute every row of the prefix) write nothing into it. The last chunk
      samples the first token and writes the request's decode state, as insert does.
  generate(params, cache, state, window) -> next tokens [R], cache, state
      one token for each of the first R slots (R: a power-of-two occupancy bucket), attending
      only over the first `window` cache positions (a power-of-two bucket over the longest
      running request); positions beyond a slot's own length are masked. The sampled tokens
      become the next step's input on the device, so the host can dispatch step n+1 before it
      reads step n's tokens (which it needs only to stream them and to see who finished).

Slots are handed out lowest-index first, so the running requests sit at the front and a
lightly loaded engine runs small R. Free slots inside the prefix are computed and ignored
(their garbage k/v lands at their own position and is overwritten by the next insert or
masked). Every prompt bucket and every (R, window) pair is compiled ahead of time in
`warmup()` (several at once: XLA compiles outside the GIL), before /ping reports ready, and the
steps call those executables directly, so no request ever waits for a compile.
"""

from __future__ import annotations

import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np

from ..generate import Generator, length_buckets, sample_next

log = logging.getLogger(__name__)

MIN_WINDOW = 128
DEFAULT_PREFILL_CHUNK = 128  # attention over shorter windows saves little; every window is one more compile per R


def pow2_buckets(limit: int) -> tuple[int, ...]:
    """1, 2, 4, ... up to limit, and limit itself."""
    out, n = [], 1
    while n < limit:
        out.append(n)
        n *= 2
    return (*out, limit)


class SlotSteps:
    def __init__(self, gen: Generator, slots: int, device: Any):
        import jax
        import jax.numpy as jnp

        cfg = gen.config
        self.gen = gen
        self.device = device
        self.slots = slots
        self.seq_len = cfg.seq_len
        self.prompt_buckets = length_buckets(cfg.seq_len)
        self.windows = length_buckets(cfg.seq_len, MIN_WINDOW)
        self.row_buckets = pow2_buckets(slots)
        self.chunk = max(1, min(int(os.environ.get("JAXSM_PREFILL_CHUNK", DEFAULT_PREFILL_CHUNK)), cfg.seq_len))
        self.params = jax.device_put(gen.params, device)
        shape = (slots, cfg.seq_len, cfg.n_heads, cfg.d_model // cfg.n_heads)
        zeros = jax.jit(lambda: jnp.zeros(shape, gen.dtype), out_shardings=jax.sharding.SingleDeviceSharding(device))
        self.cache = (tuple(zeros() for _ in range(cfg.n_layers)), tuple(zeros() for _ in range(cfg.n_layers)))
        self.cache_bytes = 2 * cfg.n_layers * int(np.prod(shape)) * jnp.dtype(gen.dtype).itemsize
        on_device = jax.sharding.SingleDeviceSharding(device)
        # tokens, pos, temperature, top_k, min_new, keys, steps: one entry per slot
        self.state = jax.device_put(
            (
                np.zeros((slots,), np.int32),
                np.zeros((slots,), np.int32),
                np.ones((slots,), np.float32),
                np.zeros((slots,), np.int32),
                np.zeros((slots,), np.int32),
                np.zeros((slots, 2), np.uint32),
                np.zeros((slots,), np.int32),
            ),
            on_device,
        )
        self._prefill = jax.jit(self._prefill_fn)
        self._insert = jax.jit(self._insert_fn, donate_argnums=(0, 1))
        self._generate = jax.jit(self._generate_fn, static_argnames=("rows", "window"), donate_argnums=(1, 2))
        self._extend = jax.jit(self._extend_fn, static_argnames=("last",), donate_argnums=(1, 2))
        # Ahead-of-time executables by shape, filled by warmup().
        self._prefill_exec: dict[int, Any] = {}
        self._insert_exec: dict[int, Any] = {}
        self._generate_exec: dict[tuple[int, int], Any] = {}
        self._extend_exec: dict[bool, Any] = {}

    # -- jitted functions --------------------------------------------------------------------
    def _prefill_fn(self, params, tokens, length, temperature, top_k, min_new, key):
        model = self.gen.model
        out: Any = model.apply({"params": params}, tokens, method=model.prefill)
        logits, ks, vs = out
        last = logits[:, length - 1]
        tok = sample_next(last, temperature[None], top_k[None], min_new[None], key[None], 0)
        return tok[0], ks, vs

    def _insert_fn(self, cache, state, ks, vs, slot, tok, length, temperature, top_k, min_new, key):
        import jax

        def put(dst, src):
            return jax.lax.dynamic_update_slice(dst, src.astype(dst.dtype), (slot, 0, 0, 0))

        tokens, pos, temp, topk, minnew, keys, steps = state
        state = (
            tokens.at[slot].set(tok),
            pos.at[slot].set(length),
            temp.at[slot].set(temperature),
            topk.at[slot].set(top_k),
            minnew.at[slot].set(min_new),
            keys.at[slot].set(key),
            steps.at[slot].set(1),  # the prefill sampled token 0
        )
        cache = (
            tuple(put(c, k) for c, k in zip(cache[0], ks, strict=True)),
            tuple(put(c, v) for c, v in zip(cache[1], vs, strict=True)),
        )
        return cache, state

    def _extend_fn(self, params, cache, state, tokens, start, slot, length, temperature, top_k, min_new, key, *, last):
        import jax
        import jax.numpy as jnp

        model = self.gen.model
        out: Any = model.apply({"params": params}, tokens, start, slot, cache[0], cache[1], method=model.prefill_chunk)
        logits, ck, cv = out
        tokens_, pos, temp, topk, minnew, keys, steps = state
        if not last:
            # parked: a decode step's write at this position falls outside the cache and is dropped
            return jnp.int32(0), (ck, cv), (tokens_, pos.at[slot].set(self.seq_len), temp, topk, minnew, keys, steps)
        row = jax.lax.dynamic_index_in_dim(logits[0], length - 1 - start, 0, keepdims=False)
        tok = sample_next(row[None], temperature[None], top_k[None], min_new[None], key[None], 0)[0]
        state = (
            tokens_.at[slot].set(tok),
            pos.at[slot].set(length),
            temp.at[slot].set(temperature),
            topk.at[slot].set(top_k),
            minnew.at[slot].set(min_new),
            keys.at[slot].set(key),
            steps.at[slot].set(1),
        )
        return tok, (ck, cv), state

    def _generate_fn(self, params, cache, state, *, rows, window):
        model = self.gen.model
        tokens, pos, temp, topk, minnew, keys, steps = state
        out: Any = model.apply(
            {"params": params}, tokens[:rows], pos[:rows], cache[0], cache[1], window, method=model.decode_step
        )
        logits, ck, cv = out
        nxt = sample_next(logits, temp[:rows], topk[:rows], minnew[:rows], keys[:rows], steps[:rows])
        state = (
            tokens.at[:rows].set(nxt),
            pos.at[:rows].add(1),
            temp,
            topk,
            minnew,
            keys,
            steps.at[:rows].add(1),
        )
        return nxt, (ck, cv), state

    # -- host-facing calls (the engine thread only) ------------------------------------------
    def prompt_bucket(self, n: int) -> int:
        return next(b for b in self.prompt_buckets if b >= n)

    def rows_for(self, highest_slot: int) -> int:
        return next(r for r in self.row_buckets if r > highest_slot)

    def window_for(self, longest: int) -> int:
        return next(w for w in self.windows if w >= longest)

    def key(self, seed: int) -> np.ndarray:
        """A request's PRNG key (host array), as the run-to-completion path derives it."""
        import jax

        return np.asarray(jax.random.PRNGKey(seed))

    def chunk_starts(self, n: int) -> list[int]:
        """Where the chunks of an n-token prompt start ([] when it fits one prefill). The last chunk
        ends at the context's end at the latest (it may overlap the one before: recomputing the same
        positions writes the same k/v)."""
        if n <= self.chunk:
            return []
        return [min(s, self.seq_len - self.chunk) for s in range(0, n, self.chunk)]

    def prefill_chunk(
        self, ids: np.ndarray, slot: int, start: int, temperature: float, top_k: int, min_new: int, key
    ) -> Any:
        """Dispatch one chunk (from `start`) of a long prompt into `slot`; after the last chunk, the
        first sampled token as a device array (None before)."""
        c = self.chunk
        last = start + c >= ids.size
        tokens = np.full((1, c), self.gen.tokenizer.pad_id, np.int32)
        part = ids[start : start + c]
        tokens[0, : part.size] = part
        sampling = (np.float32(temperature), np.int32(top_k), np.int32(min_new))
        tok, self.cache, self.state = self._extend_exec[last](
            self.params,
            self.cache,
            self.state,
            tokens,
            np.int32(start),
            np.int32(slot),
            np.int32(ids.size),
            *sampling,
            key,
        )
        return tok if last else None

    def prefill_insert(self, ids: np.ndarray, slot: int, temperature: float, top_k: int, min_new: int, key) -> Any:
        """Dispatch the prefill of one prompt into `slot` (and its decode state); returns its first
        sampled token as a device array (read it with `read`; the device goes on meanwhile)."""
        p = self.prompt_bucket(ids.size)
        tokens = np.full((1, p), self.gen.tokenizer.pad_id, np.int32)
        tokens[0, : ids.size] = ids
        sampling = (np.float32(temperature), np.int32(top_k), np.int32(min_new))
        tok, ks, vs = self._prefill_exec[p](self.params, tokens, np.int32(ids.size), *sampling, key)
        self.cache, self.state = self._insert_exec[p](
            self.cache, self.state, ks, vs, np.int32(slot), tok, np.int32(ids.size), *sampling, key
        )
        return tok

    def generate(self, rows: int, window: int) -> Any:
        """Dispatch one decode step over slots 0..rows-1; returns the next tokens [rows] as a device array."""
        nxt, self.cache, self.state = self._generate_exec[rows, window](self.params, self.cache, self.state)
        return nxt

    @staticmethod
    def read(tokens: Any) -> np.ndarray:
        """The host copy of dispatched tokens (waits for the step that makes them)."""
        return np.asarray(tokens)

    def warmup(self) -> float:
        """Compile every prompt bucket and every (rows, window) pair; returns the seconds taken."""
        import jax

        t0 = time.perf_counter()
        key = np.asarray(jax.random.PRNGKey(0))
        i32, f32 = np.int32(0), np.float32(1.0)
        cfg = self.gen.config
        on_device = jax.sharding.SingleDeviceSharding(self.device)

        def prefill(p: int) -> None:
            tokens = np.zeros((1, p), np.int32)
            self._prefill_exec[p] = self._prefill.lower(self.params, tokens, i32, f32, i32, i32, key).compile()
            kv = jax.ShapeDtypeStruct(
                (1, p, cfg.n_heads, cfg.d_model // cfg.n_heads), self.gen.dtype, sharding=on_device
            )
            layers = tuple(kv for _ in range(cfg.n_layers))
            tok = jax.ShapeDtypeStruct((), np.int32, sharding=on_device)
            self._insert_exec[p] = self._insert.lower(
                self.cache, self.state, layers, layers, i32, tok, i32, f32, i32, i32, key
            ).compile()

        def generate(rows: int, window: int) -> None:
            lowered = self._generate.lower(self.params, self.cache, self.state, rows=rows, window=window)
            self._generate_exec[rows, window] = lowered.compile()

        def extend(last: bool) -> None:
            tokens = np.zeros((1, self.chunk), np.int32)
            self._extend_exec[last] = self._extend.lower(
                self.params, self.cache, self.state, tokens, i32, i32, i32, f32, i32, i32, key, last=last
            ).compile()

        jobs: list[tuple[Any, tuple[Any, ...]]] = [(prefill, (p,)) for p in self.prompt_buckets]
        jobs += [(extend, (last,)) for last in (False, True)]
        jobs += [(generate, (r, w)) for r in self.row_buckets for w in self.windows]
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            for f in [pool.submit(fn, *a) for fn, a in jobs]:
                f.result()
        # Run each once: the first call of an executable allocates and checks its buffers.
        self.read(self.prefill_insert(np.full((self.prompt_buckets[0],), 32, np.int32), 0, 1.0, 0, 0, key))
        self.read(self.generate(1, self.windows[0]))
        s = self.slots
        elapsed = time.perf_counter() - t0
        log.info(
            "engine on %s: %d slots (%.0f MiB KV cache, %s), compiled %d prompt buckets and %d x %d decode shapes"
            " in %.1fs",
            self.device,
            s,
            self.cache_bytes / 2**20,
            np.dtype(self.gen.dtype).name,
            len(self.prompt_buckets),
            len(self.row_buckets),
            len(self.windows),
            elapsed,
        )
        return elapsed
