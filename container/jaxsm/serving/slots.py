"""The slot engine's device side: a KV cache of fixed slots and three separately jitted steps.

The cache holds `slots` rows of the model's whole context per layer ([slots, seq_len, heads,
head_dim], in the serving dtype) on one device, allocated once. The steps:

  prefill(params, tokens [1, P], length, sampling...) -> first token, k/v [1, P, ...] per layer
      one prompt, padded to a power-of-two length bucket P; samples the first token itself so
      it can be streamed before the request's first decode step
  insert(cache, k/v, slot) -> cache
      writes a prefilled prompt into a slot's rows 0..P-1 (the cache is donated: in place)
  generate(params, cache, tokens [R], pos [R], sampling... , window) -> next tokens [R], cache
      one token for each of the first R slots (R: a power-of-two occupancy bucket), attending
      only over the first `window` cache positions (a power-of-two bucket over the longest
      running request); positions beyond a slot's own length are masked

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

MIN_WINDOW = 128  # attention over shorter windows saves little; every window is one more compile per R


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
        self.params = jax.device_put(gen.params, device)
        shape = (slots, cfg.seq_len, cfg.n_heads, cfg.d_model // cfg.n_heads)
        zeros = jax.jit(lambda: jnp.zeros(shape, gen.dtype), out_shardings=jax.sharding.SingleDeviceSharding(device))
        self.cache = (tuple(zeros() for _ in range(cfg.n_layers)), tuple(zeros() for _ in range(cfg.n_layers)))
        self.cache_bytes = 2 * cfg.n_layers * int(np.prod(shape)) * jnp.dtype(gen.dtype).itemsize
        self._prefill = jax.jit(self._prefill_fn)
        self._insert = jax.jit(self._insert_fn, donate_argnums=(0,))
        self._generate = jax.jit(self._generate_fn, static_argnames=("window",), donate_argnums=(1,))
        # Ahead-of-time executables by shape, filled by warmup().
        self._prefill_exec: dict[int, Any] = {}
        self._insert_exec: dict[int, Any] = {}
        self._generate_exec: dict[tuple[int, int], Any] = {}

    # -- jitted functions --------------------------------------------------------------------
    def _prefill_fn(self, params, tokens, length, temperature, top_k, min_new, key):
        model = self.gen.model
        out: Any = model.apply({"params": params}, tokens, method=model.prefill)
        logits, ks, vs = out
        last = logits[:, length - 1]
        tok = sample_next(last, temperature[None], top_k[None], min_new[None], key[None], 0)
        return tok[0], ks, vs

    def _insert_fn(self, cache, ks, vs, slot):
        import jax

        def put(dst, src):
            return jax.lax.dynamic_update_slice(dst, src.astype(dst.dtype), (slot, 0, 0, 0))

        return (
            tuple(put(c, k) for c, k in zip(cache[0], ks, strict=True)),
            tuple(put(c, v) for c, v in zip(cache[1], vs, strict=True)),
        )

    def _generate_fn(self, params, cache, tokens, pos, temperature, top_k, min_new, keys, steps, *, window):
        model = self.gen.model
        out: Any = model.apply({"params": params}, tokens, pos, cache[0], cache[1], window, method=model.decode_step)
        logits, ck, cv = out
        return sample_next(logits, temperature, top_k, min_new, keys, steps), (ck, cv)

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

    def prefill_insert(self, ids: np.ndarray, slot: int, temperature: float, top_k: int, min_new: int, key) -> int:
        """Prefill one prompt into `slot`; returns its first sampled token."""
        p = self.prompt_bucket(ids.size)
        tokens = np.full((1, p), self.gen.tokenizer.pad_id, np.int32)
        tokens[0, : ids.size] = ids
        tok, ks, vs = self._prefill_exec[p](
            self.params,
            tokens,
            np.int32(ids.size),
            np.float32(temperature),
            np.int32(top_k),
            np.int32(min_new),
            key,
        )
        self.cache = self._insert_exec[p](self.cache, ks, vs, np.int32(slot))
        return int(tok)

    def generate(self, rows: int, window: int, tokens, pos, temperature, top_k, min_new, keys, steps) -> np.ndarray:
        """One decode step over slots 0..rows-1 (host arrays sliced to rows); the next tokens."""
        nxt, self.cache = self._generate_exec[rows, window](
            self.params,
            self.cache,
            tokens[:rows],
            pos[:rows],
            temperature[:rows],
            top_k[:rows],
            min_new[:rows],
            keys[:rows],
            steps[:rows],
        )
        return np.asarray(nxt)

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
            self._insert_exec[p] = self._insert.lower(self.cache, layers, layers, i32).compile()

        def generate(rows: int, window: int) -> None:
            ints, floats = np.zeros((rows,), np.int32), np.ones((rows,), np.float32)
            keys = np.zeros((rows, 2), np.uint32)
            lowered = self._generate.lower(
                self.params, self.cache, ints, ints, floats, ints, ints, keys, ints, window=window
            )
            self._generate_exec[rows, window] = lowered.compile()

        jobs: list[tuple[Any, tuple[int, ...]]] = [(prefill, (p,)) for p in self.prompt_buckets]
        jobs += [(generate, (r, w)) for r in self.row_buckets for w in self.windows]
        with ThreadPoolExecutor(max_workers=max(1, min(4, os.cpu_count() or 1))) as pool:
            for f in [pool.submit(fn, *a) for fn, a in jobs]:
                f.result()
        # Run each once: the first call of an executable allocates and checks its buffers.
        self.prefill_insert(np.full((self.prompt_buckets[0],), 32, np.int32), 0, 1.0, 0, 0, key)
        s = self.slots
        zeros_i = np.zeros((s,), np.int32)
        keys = np.zeros((s, 2), np.uint32)
        self.generate(1, self.windows[0], zeros_i, zeros_i, np.ones((s,), np.float32), zeros_i, zeros_i, keys, zeros_i)
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
