"""Text generation for serving: the loaded model, request encoding, sampling, and the
run-to-completion path.

`Generator` loads a model directory (params.msgpack + config.json) once. Two ways drive it:
  - `jaxsm.serving.engine` (this image's server): continuous batching over KV-cache slots, one
    jitted step per token for every running request (see that module);
  - `Generator.complete()` (the handler's predict_fn, i.e. AWS's toolkit on MMS, and offline use):
    one jitted program per batch that samples every token of every row to completion.

Both sample with `sample_next`, so a request gives the same tokens on either path: each row
carries its own temperature, top-k, minimum length and PRNG key, and token i is drawn with
fold_in(key, i), which makes a row's output independent of its batch mates.

The run-to-completion path pads batches to a few bucket sizes (default 1, 8, 32), prompts to a
power-of-two prefill length, and the k/v cache to a power-of-two window that holds the prompt
and the budget (not the whole context), so decode reads only the part of the cache it can use.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .tokenizer import BOS_ID, EOS_ID, PAD_ID, ByteTokenizer

log = logging.getLogger(__name__)

DEFAULT_BUCKETS = (1, 8, 32)
MIN_BUCKET_LEN = 16


@dataclass
class Request:
    prompt: str
    max_new_tokens: int = 32
    temperature: float = 1.0
    top_k: int = 0
    seed: int = 0
    min_new_tokens: int = 0  # EOS is not sampled before this many tokens (fixed-length benchmarks)


@dataclass
class Completion:
    """One finished generation."""

    text: str
    generated_tokens: int
    prompt_tokens: int
    finish_reason: str  # "eos" (the model ended it) or "length" (budget or context exhausted)


def length_buckets(seq_len: int, smallest: int = MIN_BUCKET_LEN) -> tuple[int, ...]:
    """Powers of two from `smallest` up to seq_len, and seq_len itself."""
    out, n = [], min(smallest, seq_len)
    while n < seq_len:
        out.append(n)
        n *= 2
    return (*out, seq_len)


def bucket_for(n: int, buckets: Sequence[int]) -> int:
    for b in buckets:
        if n <= b:
            return b
    return buckets[-1]


def serving_dtype(platform: str) -> Any:
    """Compute (and KV-cache) dtype: bfloat16 on accelerators, float32 on CPU, where XLA's
    bfloat16 matmuls are slower than float32 ones. JAXSM_DTYPE=float32|bfloat16 overrides."""
    import jax.numpy as jnp

    choice = os.environ.get("JAXSM_DTYPE", "auto").strip().lower()
    if choice in ("bfloat16", "bf16"):
        return jnp.bfloat16
    if choice in ("float32", "fp32", "f32"):
        return jnp.float32
    if choice != "auto":
        raise ValueError(f"JAXSM_DTYPE must be auto, float32 or bfloat16, not {choice!r}")
    return jnp.float32 if platform == "cpu" else jnp.bfloat16


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


def sample_next(logits, temperature, top_k, min_new, keys, step):
    """Token `step` (0 = the first generated one) for each row of float logits [b, vocab].

    temperature 0 is greedy; EOS is masked while step < min_new; padding, BOS and padded
    vocabulary ids are never sampled. `step` is a scalar or one index per row.
    """
    import jax
    import jax.numpy as jnp

    b, vocab = logits.shape
    ids = jnp.arange(vocab)
    step = jnp.broadcast_to(jnp.asarray(step, jnp.int32), (b,))
    banned = ((ids == PAD_ID) | (ids == BOS_ID) | (ids > EOS_ID))[None, :]
    banned = banned | ((ids == EOS_ID)[None, :] & (step < min_new)[:, None])
    masked = jnp.where(banned, -jnp.inf, logits.astype(jnp.float32))
    masked = _apply_top_k(masked, top_k)
    greedy = jnp.argmax(masked, axis=-1)
    # Inverse-CDF sampling: one uniform per row instead of a Gumbel draw per vocabulary entry
    # (the PRNG dominated the step time on CPU).
    step_keys = jax.vmap(jax.random.fold_in)(keys, step)
    u = jax.vmap(lambda k: jax.random.uniform(k, ()))(step_keys)
    probs = jax.nn.softmax(masked / jnp.maximum(temperature, 1e-6)[:, None], axis=-1)
    cdf = jnp.cumsum(probs, axis=-1)
    # first index whose cdf exceeds u * total: always a token with positive probability
    sampled = jnp.argmax(cdf > (u * cdf[:, -1])[:, None], axis=-1)
    return jnp.where(temperature > 0, sampled, greedy).astype(jnp.int32)


class Generator:
    """The model loaded from a model directory (params.msgpack + config.json)."""

    def __init__(self, model_dir: Path | str, buckets: Sequence[int] = DEFAULT_BUCKETS, dtype: Any = None):
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
        self.platform = jax.devices()[0].platform
        self.dtype = dtype if dtype is not None else serving_dtype(self.platform)
        self.model = build_model(self.config, dtype=self.dtype)
        state = serialization.msgpack_restore((model_dir / "params.msgpack").read_bytes())
        # Weights in the compute dtype: decode reads every weight once per step, so bfloat16
        # halves the bytes that bound it on accelerators.
        self.params = jax.tree_util.tree_map(lambda a: jnp.asarray(a, self.dtype), state)
        self.buckets = tuple(sorted(buckets))
        self.max_batch = self.buckets[-1]
        self.length_buckets = length_buckets(self.config.seq_len)
        self._fn = jax.jit(self._generate, static_argnums=(8,))

    def param_count(self) -> int:
        import jax

        return sum(int(np.prod(a.shape)) for a in jax.tree_util.tree_leaves(self.params))

    # -- device side -----------------------------------------------------------------------
    def _generate(self, params, tokens, lengths, max_new, min_new, temperature, top_k, keys, prefill_len):
        """tokens [b, W]: prompts, left-aligned; W (the window) holds every prompt and budget."""
        import jax
        import jax.numpy as jnp

        b, w = tokens.shape
        rows = jnp.arange(b)

        def apply(*a: Any, method: Any) -> Any:
            return self.model.apply({"params": params}, *a, method=method)

        # Prefill: one pass over the prompts, padded only to the prompt-length bucket, fills
        # the k/v caches; the caches are then padded to the window for decoding.
        logits, cache_k, cache_v = apply(tokens[:, :prefill_len], method=self.model.prefill)
        last = logits[rows, lengths - 1]
        grow = lambda c: jnp.pad(c, ((0, 0), (0, w - prefill_len), (0, 0), (0, 0)))  # noqa: E731
        cache_k = tuple(grow(c) for c in cache_k)
        cache_v = tuple(grow(c) for c in cache_v)

        def body(i, state):
            tokens, lengths, done, last, cache_k, cache_v = state
            tok = sample_next(last, temperature, top_k, min_new, keys, i).astype(tokens.dtype)
            active = (i < max_new) & ~done & (lengths < w)
            pos = jnp.minimum(lengths, w - 1)
            tokens = tokens.at[rows, pos].set(jnp.where(active, tok, tokens[rows, pos]))
            done = done | (active & (tok == EOS_ID))
            # Decode: only the new token goes through the model, attending over the cache.
            last, cache_k, cache_v = apply(tok, pos, cache_k, cache_v, method=self.model.decode_step)
            lengths = lengths + active.astype(lengths.dtype)
            return tokens, lengths, done, last, cache_k, cache_v

        steps = jnp.max(max_new)
        done = jnp.zeros((b,), bool)
        state = jax.lax.fori_loop(0, steps, body, (tokens, lengths, done, last, cache_k, cache_v))
        return state[0], state[1], state[2]

    # -- host side -------------------------------------------------------------------------
    def bucket_for(self, n: int) -> int:
        return bucket_for(n, self.buckets)

    def encode(self, r: Request) -> tuple[np.ndarray, int]:
        """Prompt ids and token budget: the end of a long prompt is kept so the budget fits the context."""
        t = self.config.seq_len
        budget = max(1, min(r.max_new_tokens, t - 1))
        ids = self.tokenizer.encode(r.prompt)
        if ids.size == 0:
            ids = np.array([EOS_ID], np.int32)  # documents start after an EOS in training
        ids = ids[-(t - budget) :]
        return ids, budget

    def generate(self, requests: Sequence[Request]) -> list[str]:
        """Generated continuations (prompt not repeated), in request order."""
        return [c.text for c in self.complete(requests)]

    def complete(self, requests: Sequence[Request]) -> list[Completion]:
        """Run every request to completion (batched, chunked to the largest bucket)."""
        out: list[Completion] = []
        for start in range(0, len(requests), self.max_batch):
            out.extend(self._complete_chunk(requests[start : start + self.max_batch]))
        return out

    def _complete_chunk(self, requests: Sequence[Request]) -> list[Completion]:
        import jax

        n = len(requests)
        b = self.bucket_for(n)
        encoded = [self.encode(r) for r in requests]
        window = bucket_for(max(ids.size + budget for ids, budget in encoded), self.length_buckets)
        tokens = np.full((b, window), PAD_ID, np.int32)
        lengths = np.ones((b,), np.int32)
        max_new = np.zeros((b,), np.int32)
        min_new = np.zeros((b,), np.int32)
        temperature = np.zeros((b,), np.float32)
        top_k = np.zeros((b,), np.int32)
        seeds = np.zeros((b,), np.uint32)
        for i, (r, (ids, budget)) in enumerate(zip(requests, encoded, strict=True)):
            tokens[i, : ids.size] = ids
            lengths[i] = ids.size
            max_new[i] = budget
            min_new[i] = r.min_new_tokens
            temperature[i] = r.temperature
            top_k[i] = r.top_k
            seeds[i] = r.seed
        keys = jax.vmap(jax.random.PRNGKey)(seeds)
        prefill_len = bucket_for(int(lengths.max()), self.length_buckets)
        out = self._fn(self.params, tokens, lengths, max_new, min_new, temperature, top_k, keys, prefill_len)
        out_tokens, out_lengths, done = (np.asarray(a) for a in out)
        result = []
        for i in range(n):
            ids = out_tokens[i, lengths[i] : out_lengths[i]]
            result.append(
                Completion(
                    text=self.tokenizer.decode(ids),
                    generated_tokens=int(ids.size),
                    prompt_tokens=int(lengths[i]),
                    finish_reason="eos" if done[i] else "length",
                )
            )
        return result

    def warmup(self) -> float:
        """Compile the run-to-completion path for every batch bucket at the shortest and the
        longest prompt; returns the seconds it took."""
        t0 = time.perf_counter()
        long_prompt = "w" * (self.config.seq_len - 2)
        for b in self.buckets:
            for prompt in ("warm", long_prompt):
                self._complete_chunk([Request(prompt, max_new_tokens=1)] * b)
        elapsed = time.perf_counter() - t0
        log.info("warmed up buckets %s in %.1fs", self.buckets, elapsed)
        return elapsed
