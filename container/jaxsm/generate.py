"""Batched, jitted text generation for serving.

One jitted function samples up to `max_new_tokens` tokens for a whole batch of prompts. Each
row carries its own prompt length, token budget, temperature, top-k and PRNG key, so unrelated
requests share one device call. Batches are padded to a few bucket sizes (default 1, 8, 32)
and prompts to two prefill lengths (32 and seq_len), so only that many programs are ever
compiled; all of them are compiled in `warmup()` before the server reports ready.

Decoding uses a k/v cache: one prefill pass over the (padded) prompt window, then each step
feeds only the newly sampled token per row, attending over that row's cached positions. So a
step's cost grows with the batch only through tiny matmuls, which is what makes batching
concurrent requests pay off.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .tokenizer import BOS_ID, EOS_ID, PAD_ID, ByteTokenizer

log = logging.getLogger(__name__)

DEFAULT_BUCKETS = (1, 8, 32)


@dataclass
class Request:
    prompt: str
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0


TOP_K_FAST = 64


def _apply_top_k(logits, top_k):
    """Per-row top-k filter (k = 0 keeps all). A full sort of the vocabulary per step is slow
    on CPU, so: skip when no row asks for top-k, use lax.top_k when every k <= TOP_K_FAST,
    and fall back to a sort otherwise."""
    import jax
    import jax.numpy as jnp

    vocab = logits.shape[-1]
    rows = jnp.arange(logits.shape[0])
    kmax = min(TOP_K_FAST, vocab)

    def kth_from(values):
        return values[rows, jnp.clip(top_k - 1, 0, values.shape[-1] - 1)]

    def fast(x):
        return kth_from(jax.lax.top_k(x, kmax)[0])

    def full(x):
        return kth_from(-jnp.sort(-x, axis=-1))

    def filtered(x):
        kth = jax.lax.cond(jnp.max(top_k) <= kmax, fast, full, x)
        return jnp.where((top_k[:, None] > 0) & (x < kth[:, None]), -jnp.inf, x)

    return jax.lax.cond(jnp.any(top_k > 0), filtered, lambda x: x, logits)


class Generator:
    """The model loaded from a model directory (params.msgpack + config.json)."""

    def __init__(self, model_dir: Path, buckets: Sequence[int] = DEFAULT_BUCKETS):
        import jax
        import jax.numpy as jnp
        from flax import serialization

        from .model import ModelConfig, build_model

        model_dir = Path(model_dir)
        config_path = model_dir / "config.json"
        if not config_path.exists():
            raise FileNotFoundError(f"no model at {model_dir}: config.json is missing")
        config = json.loads(config_path.read_text())
        self.config = ModelConfig.from_dict(config["model"])
        self.tokenizer = ByteTokenizer.from_json(config.get("tokenizer", {"type": "byte"}))
        self.model = build_model(self.config)
        state = serialization.msgpack_restore((model_dir / "params.msgpack").read_bytes())
        self.params = jax.tree_util.tree_map(jnp.asarray, state)
        self.buckets = tuple(sorted(buckets))
        self.max_batch = self.buckets[-1]
        t = self.config.seq_len
        self.prefill_buckets = tuple(sorted({min(32, t), t}))
        self._fn = jax.jit(self._generate, static_argnums=(7,))

    # -- device side -----------------------------------------------------------------------
    def _generate(self, params, tokens, lengths, max_new, temperature, top_k, keys, prefill_len):
        import jax
        import jax.numpy as jnp

        b, t = tokens.shape
        vocab = self.config.vocab_size
        rows = jnp.arange(b)
        # Never sample padding, BOS or unused (padded-vocabulary) ids.
        ids = jnp.arange(vocab)
        banned = (ids == PAD_ID) | (ids == BOS_ID) | (ids > EOS_ID)

        def apply(*a: Any, method: Any) -> Any:
            return self.model.apply({"params": params}, *a, method=method)

        # Prefill: one pass over the prompts, padded only to the prompt-length bucket, fills
        # the k/v caches; the caches are then padded to the full window for decoding.
        logits, cache_k, cache_v = apply(tokens[:, :prefill_len], method=self.model.prefill)
        last = logits[rows, lengths - 1]
        grow = lambda c: jnp.pad(c, ((0, 0), (0, t - prefill_len), (0, 0), (0, 0)))  # noqa: E731
        cache_k = tuple(grow(c) for c in cache_k)
        cache_v = tuple(grow(c) for c in cache_v)

        def body(i, state):
            tokens, lengths, done, last, cache_k, cache_v = state
            masked = jnp.where(banned[None, :], -jnp.inf, last)
            masked = _apply_top_k(masked, top_k)
            greedy = jnp.argmax(masked, axis=-1)
            # Inverse-CDF sampling: one uniform per row instead of a Gumbel draw per vocabulary
            # entry (the PRNG dominated the step time on CPU).
            step_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, i)
            u = jax.vmap(lambda k: jax.random.uniform(k, ()))(step_keys)
            probs = jax.nn.softmax(masked / jnp.maximum(temperature, 1e-6)[:, None], axis=-1)
            cdf = jnp.cumsum(probs, axis=-1)
            # first index whose cdf exceeds u * total: always a token with positive probability
            sampled = jnp.argmax(cdf > (u * cdf[:, -1])[:, None], axis=-1)
            tok = jnp.where(temperature > 0, sampled, greedy).astype(tokens.dtype)
            active = (i < max_new) & ~done & (lengths < t)
            pos = jnp.minimum(lengths, t - 1)
            tokens = tokens.at[rows, pos].set(jnp.where(active, tok, tokens[rows, pos]))
            done = done | (active & (tok == EOS_ID))
            # Decode: only the new token goes through the model, attending over the cache.
            last, cache_k, cache_v = apply(tok, pos, cache_k, cache_v, method=self.model.decode_step)
            lengths = lengths + active.astype(lengths.dtype)
            return tokens, lengths, done, last, cache_k, cache_v

        steps = jnp.max(max_new)
        done = jnp.zeros((b,), bool)
        state = jax.lax.fori_loop(0, steps, body, (tokens, lengths, done, last, cache_k, cache_v))
        return state[0], state[1]

    # -- host side -------------------------------------------------------------------------
    def bucket_for(self, n: int) -> int:
        for b in self.buckets:
            if n <= b:
                return b
        return self.max_batch

    def _encode(self, r: Request) -> tuple[np.ndarray, int]:
        t = self.config.seq_len
        budget = max(0, min(r.max_new_tokens, t - 1))
        ids = self.tokenizer.encode(r.prompt)
        if ids.size == 0:
            ids = np.array([EOS_ID], np.int32)  # documents start after an EOS in training
        ids = ids[-(t - budget) :]  # keep the end of a long prompt, leave room to generate
        return ids, budget

    def generate(self, requests: Sequence[Request]) -> list[str]:
        """Generated continuations (prompt not repeated), in request order."""
        out: list[str] = []
        for start in range(0, len(requests), self.max_batch):
            out.extend(self._generate_chunk(requests[start : start + self.max_batch]))
        return out

    def _generate_chunk(self, requests: Sequence[Request]) -> list[str]:
        import jax

        n = len(requests)
        b = self.bucket_for(n)
        t = self.config.seq_len
        tokens = np.full((b, t), PAD_ID, np.int32)
        lengths = np.ones((b,), np.int32)
        max_new = np.zeros((b,), np.int32)
        temperature = np.zeros((b,), np.float32)
        top_k = np.zeros((b,), np.int32)
        seeds = np.zeros((b,), np.uint32)
        for i, r in enumerate(requests):
            ids, budget = self._encode(r)
            tokens[i, : ids.size] = ids
            lengths[i] = ids.size
            max_new[i] = budget
            temperature[i] = r.temperature
            top_k[i] = r.top_k
            seeds[i] = r.seed
        keys = jax.vmap(jax.random.PRNGKey)(seeds)
        prefill_len = next(p for p in self.prefill_buckets if p >= int(lengths.max()))
        out_tokens, out_lengths = self._fn(self.params, tokens, lengths, max_new, temperature, top_k, keys, prefill_len)
        out_tokens, out_lengths = np.asarray(out_tokens), np.asarray(out_lengths)
        return [self.tokenizer.decode(out_tokens[i, lengths[i] : out_lengths[i]]) for i in range(n)]

    def warmup(self) -> float:
        """Compile every bucket; returns the seconds it took."""
        t0 = time.perf_counter()
        long_prompt = "w" * (self.config.seq_len - 2)
        for b in self.buckets:
            for prompt in ("warm", long_prompt):  # the short and the long prefill bucket
                self._generate_chunk([Request(prompt, max_new_tokens=1)] * b)
        elapsed = time.perf_counter() - t0
        log.info("warmed up buckets %s in %.1fs", self.buckets, elapsed)
        return elapsed
