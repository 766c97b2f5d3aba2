"""A decoder-only transformer language model in Flax (linen).

Pre-norm blocks (RMSNorm -> causal self-attention -> RMSNorm -> GELU MLP), learned absolute
position embeddings, token embedding tied with the output projection. Parameters are always
float32; `dtype` sets the compute dtype (bfloat16 with the `bf16` hyperparameter), which is
what the tensor cores of an A100/H100 want while the optimizer keeps full precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import flax.linen as nn
import jax
import jax.numpy as jnp

# jax.nn.dot_product_attention's kernels; None lets JAX choose.
AttentionImpl = Literal["xla", "cudnn"] | None


@dataclass(frozen=True)
class ModelConfig:
    n_layers: int
    d_model: int
    n_heads: int
    seq_len: int
    vocab_size: int
    mlp_ratio: int = 4

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelConfig:
        return cls(**{k: int(d[k]) for k in ("n_layers", "d_model", "n_heads", "seq_len", "vocab_size", "mlp_ratio")})

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)

    def param_count(self) -> int:
        """Parameters (embedding counted once: it is tied with the output layer)."""
        d, f = self.d_model, self.d_model * self.mlp_ratio
        per_block = 4 * d * d + 4 * d + 2 * d * f + f + d + 2 * d  # qkv+out (+bias), mlp (+bias), 2 norms
        return self.vocab_size * d + self.seq_len * d + self.n_layers * per_block + d

    def flops_per_token(self) -> float:
        """Training FLOPs per token: 6*N (forward+backward matmuls, embedding excluded as a
        lookup but the tied output projection included) + causal attention scores and values.

        Attention per layer and token, forward: 2 matmuls of 2*T*d FLOPs each = 4*T*d; halved
        for the causal mask; times 3 for forward+backward: 6*T*d per layer (T = seq_len).
        """
        n_matmul = self.param_count() - self.seq_len * self.d_model  # positions are a lookup
        attn = 6 * self.n_layers * self.seq_len * self.d_model
        return 6.0 * n_matmul + attn


class Block(nn.Module):
    d_model: int
    n_heads: int
    mlp_ratio: int
    dropout: float
    dtype: Any
    attention_impl: AttentionImpl = None

    def setup(self):
        dense = lambda feats: nn.Dense(  # noqa: E731
            feats, dtype=self.dtype, param_dtype=jnp.float32, kernel_init=nn.initializers.normal(0.02)
        )
        self.attn_norm = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32)
        self.qkv = dense(3 * self.d_model)
        self.attn_out = dense(self.d_model)
        self.mlp_norm = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32)
        self.mlp_in = dense(self.mlp_ratio * self.d_model)
        self.mlp_out = dense(self.d_model)
        self.drop = nn.Dropout(self.dropout)

    def _qkv(self, x):
        b, t, _ = x.shape
        qkv = self.qkv(self.attn_norm(x)).reshape(b, t, 3, self.n_heads, self.d_model // self.n_heads)
        return qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]

    def _mlp(self, x, deterministic: bool):
        h = self.mlp_out(nn.gelu(self.mlp_in(self.mlp_norm(x))))
        return x + self.drop(h, deterministic=deterministic)

    def __call__(self, x, deterministic: bool):
        """Full causal self-attention over x [b, t, d]; also returns (k, v) for a decode cache."""
        b, t, d = x.shape
        q, k, v = self._qkv(x)
        # jax.nn.dot_product_attention picks a fused kernel (cuDNN flash attention on GPU when
        # implementation="cudnn" and the dtype is bf16); on CPU it is plain XLA.
        att = jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation=self.attention_impl)
        x = x + self.drop(self.attn_out(att.reshape(b, t, d)), deterministic=deterministic)
        return self._mlp(x, deterministic), (k, v)

    def decode(self, x, pos, cache_k, cache_v, window: int | None = None):
        """One new token per row: x [b, 1, d] at positions pos [b]; cache [B >= b, T, heads, head_dim].

        Writes this token's k/v into rows 0..b-1 of the cache at pos and attends over entries
        <= pos among the first `window` positions (all T when None): a serving engine with
        more cache rows than running requests, all short, reads only what it can use.
        """
        b, _, d = x.shape
        q, k, v = self._qkv(x)
        rows = jnp.arange(b)
        cache_k = cache_k.at[rows, pos].set(k[:, 0].astype(cache_k.dtype))
        cache_v = cache_v.at[rows, pos].set(v[:, 0].astype(cache_v.dtype))
        keys, values = cache_k[:b, :window], cache_v[:b, :window]
        scale = 1.0 / jnp.sqrt(jnp.float32(d // self.n_heads))
        # Dot products, not a fused multiply-reduce: XLA then updates the donated cache in place
        # (the fused form made it copy the whole cache every step).
        scores = jnp.einsum("bhd,bthd->bht", q[:, 0], keys).astype(jnp.float32) * scale
        visible = jnp.arange(keys.shape[1])[None, :] <= pos[:, None]
        scores = jnp.where(visible[:, None, :], scores, -jnp.inf)
        probs = jax.nn.softmax(scores, axis=-1).astype(values.dtype)
        att = jnp.einsum("bht,bthd->bhd", probs, values).reshape(b, 1, d)
        x = x + self.attn_out(att.astype(x.dtype))
        return self._mlp(x, True), cache_k, cache_v


class DecoderLM(nn.Module):
    n_layers: int
    d_model: int
    n_heads: int
    seq_len: int
    vocab_size: int
    mlp_ratio: int = 4
    dropout: float = 0.0
    dtype: Any = jnp.float32
    attention_impl: AttentionImpl = None

    def setup(self):
        self.embed = nn.Embed(
            self.vocab_size,
            self.d_model,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            embedding_init=nn.initializers.normal(0.02),
        )
        self.pos_embed = self.param(
            "pos_embed", nn.initializers.normal(0.01), (self.seq_len, self.d_model), jnp.float32
        )
        self.blocks = [
            Block(self.d_model, self.n_heads, self.mlp_ratio, self.dropout, self.dtype, self.attention_impl)
            for _ in range(self.n_layers)
        ]
        self.final_norm = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32)

    def _logits(self, x):
        return self.embed.attend(self.final_norm(x)).astype(jnp.float32)

    def __call__(self, tokens, deterministic: bool = True):
        """tokens: int32 [batch, time <= seq_len] -> float32 logits [batch, time, vocab]."""
        return self.prefill(tokens, deterministic)[0]

    def prefill(self, tokens, deterministic: bool = True):
        """Logits for every position plus per-layer k/v caches (tuples of [b, t, heads, head_dim])."""
        t = tokens.shape[1]
        x = self.embed(tokens) + self.pos_embed[:t].astype(self.dtype)
        ks, vs = [], []
        for block in self.blocks:
            x, (k, v) = block(x, deterministic)
            ks.append(k)
            vs.append(v)
        return self._logits(x), tuple(ks), tuple(vs)

    def decode_step(self, token, pos, cache_k, cache_v, window: int | None = None):
        """token, pos: int32 [b] -> logits [b, vocab] and the updated caches (see Block.decode
        for `window` and caches with more rows than b).

        Caches stay tuples of per-layer arrays (never stacked) so XLA updates them in place
        inside the decode loop instead of copying all layers every step.
        """
        x = self.embed(token[:, None]) + self.pos_embed[pos][:, None, :].astype(self.dtype)
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block.decode(x, pos, cache_k[i], cache_v[i], window)
            ks.append(k)
            vs.append(v)
        return self._logits(x)[:, 0], tuple(ks), tuple(vs)


def build_model(
    cfg: ModelConfig, dtype=jnp.float32, dropout: float = 0.0, attention_impl: AttentionImpl = None
) -> DecoderLM:
    return DecoderLM(
        n_layers=cfg.n_layers,
        d_model=cfg.d_model,
        n_heads=cfg.n_heads,
        seq_len=cfg.seq_len,
        vocab_size=cfg.vocab_size,
        mlp_ratio=cfg.mlp_ratio,
        dropout=dropout,
        dtype=dtype,
        attention_impl=attention_impl,
    )


def init_params(model: DecoderLM, seed: int):
    tokens = jnp.zeros((1, model.seq_len), jnp.int32)
    return model.init(jax.random.PRNGKey(seed), tokens, deterministic=True)["params"]
