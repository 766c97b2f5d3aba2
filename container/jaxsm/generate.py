"""Batched, jitted text generation for serving.

One jitted function samples up to `max_new_tokens` tokens for a whole batch of prompts. Each
row carries its own prompt length, token budget, temperature, top-k and PRNG key, so unrelated
requests share one device call. Batches are padded to a few bucket sizes (default 1, 8, 32)
so only that many programs are ever compiled; all of them are compiled in `warmup()` before
the server reports ready.

Decoding runs the full fixed window (seq_len) each step with the causal mask; tokens after a
row's current length are padding the mask hides. With the small CPU models this image trains,
recomputing the window is cheaper than managing a KV cache per request.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

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
        self._fn = jax.jit(self._generate)

    # -- device side -----------------------------------------------------------------------
    def _generate(self, params, tokens, lengths, max_new, temperature, top_k, keys):
        import jax
        import jax.numpy as jnp

        b, t = tokens.shape
        vocab = self.config.vocab_size
        rows = jnp.arange(b)
        # Never sample padding, BOS or unused (padded-vocabulary) ids.
        banned = (jnp.arange(vocab) == PAD_ID) | (jnp.arange(vocab) == BOS_ID) | (jnp.arange(vocab) > EOS_ID)

        def body(i, state):
            tokens, lengths, done = state
            logits = self.model.apply({"params": params}, tokens)
            last = logits[rows, lengths - 1]  # [b, vocab]
            last = jnp.where(banned[None, :], -jnp.inf, last)
            # per-row top-k: keep logits >= the k-th largest (k = 0 keeps all)
            sorted_desc = -jnp.sort(-last, axis=-1)
            kth = sorted_desc[rows, jnp.clip(top_k - 1, 0, vocab - 1)]
            last = jnp.where((top_k[:, None] > 0) & (last < kth[:, None]), -jnp.inf, last)
            greedy = jnp.argmax(last, axis=-1)
            step_keys = jax.vmap(jax.random.fold_in, in_axes=(0, None))(keys, i)
            scaled = last / jnp.maximum(temperature, 1e-6)[:, None]
            sampled = jax.vmap(jax.random.categorical)(step_keys, scaled)
            tok = jnp.where(temperature > 0, sampled, greedy).astype(tokens.dtype)
            active = (i < max_new) & ~done & (lengths < t)
            pos = jnp.minimum(lengths, t - 1)
            tokens = tokens.at[rows, pos].set(jnp.where(active, tok, tokens[rows, pos]))
            lengths = lengths + active.astype(lengths.dtype)
            done = done | (active & (tok == EOS_ID))
            return tokens, lengths, done

        steps = jnp.max(max_new)
        done = jnp.zeros((b,), bool)
        tokens, lengths, _ = jax.lax.fori_loop(0, steps, body, (tokens, lengths, done))
        return tokens, lengths

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
        ids = ids[-(t - budget):]  # keep the end of a long prompt, leave room to generate
        return ids, budget

    def generate(self, requests: Sequence[Request]) -> list[str]:
        """Generated continuations (prompt not repeated), in request order."""
        out: list[str] = []
        for start in range(0, len(requests), self.max_batch):
            out.extend(self._generate_chunk(requests[start:start + self.max_batch]))
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
        out_tokens, out_lengths = self._fn(self.params, tokens, lengths, max_new, temperature, top_k, keys)
        out_tokens, out_lengths = np.asarray(out_tokens), np.asarray(out_lengths)
        return [
            self.tokenizer.decode(out_tokens[i, lengths[i]: out_lengths[i]]) for i in range(n)
        ]

    def warmup(self) -> float:
        """Compile every bucket; returns the seconds it took."""
        t0 = time.perf_counter()
        for b in self.buckets:
            self._generate_chunk([Request("warm", max_new_tokens=1)] * b)
        elapsed = time.perf_counter() - t0
        log.info("warmed up buckets %s in %.1fs", self.buckets, elapsed)
        return elapsed
