"""A decoder-only transformer language model in Flax (linen).

Pre-norm blocks (RMSNorm -> causal self-attention -> RMSNorm -> GELU MLP), learned absolute
position embeddings, token embedding tied with the output projection. Parameters are always
float32; `dtype` sets the compute dtype (bfloat16 with the `bf16` hyperparameter), which is
what the tensor cores of an A100/H100 want while the optimizer keeps full precision.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


@dataclass(frozen=True)
class ModelConfig:
    n_layers: int
    d_model: int
    n_heads: int
    seq_len: int
    vocab_size: int
    mlp_ratio: int = 4

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "ModelConfig":
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
    n_heads: int
    mlp_ratio: int
    dropout: float
    dtype: Any
    attention_impl: str | None = None

    @nn.compact
    def __call__(self, x, deterministic: bool):
        b, t, d = x.shape
        head_dim = d // self.n_heads
        dense = lambda feats, name: nn.Dense(  # noqa: E731
            feats, dtype=self.dtype, param_dtype=jnp.float32, name=name,
            kernel_init=nn.initializers.normal(0.02),
        )
        h = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32, name="attn_norm")(x)
        qkv = dense(3 * d, "qkv")(h).reshape(b, t, 3, self.n_heads, head_dim)
        q, k, v = qkv[:, :, 0], qkv[:, :, 1], qkv[:, :, 2]
        # jax.nn.dot_product_attention picks a fused kernel (cuDNN flash attention on GPU when
        # implementation="cudnn" and the dtype is bf16); on CPU it is plain XLA.
        att = jax.nn.dot_product_attention(q, k, v, is_causal=True, implementation=self.attention_impl)
        att = dense(d, "attn_out")(att.reshape(b, t, d))
        x = x + nn.Dropout(self.dropout)(att, deterministic=deterministic)
        h = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32, name="mlp_norm")(x)
        h = dense(self.mlp_ratio * d, "mlp_in")(h)
        h = dense(d, "mlp_out")(nn.gelu(h))
        return x + nn.Dropout(self.dropout)(h, deterministic=deterministic)


class DecoderLM(nn.Module):
    n_layers: int
    d_model: int
    n_heads: int
    seq_len: int
    vocab_size: int
    mlp_ratio: int = 4
    dropout: float = 0.0
    dtype: Any = jnp.float32
    attention_impl: str | None = None

    @nn.compact
    def __call__(self, tokens, deterministic: bool = True):
        """tokens: int32 [batch, time <= seq_len] -> float32 logits [batch, time, vocab]."""
        t = tokens.shape[1]
        embed = nn.Embed(
            self.vocab_size, self.d_model, dtype=self.dtype, param_dtype=jnp.float32,
            embedding_init=nn.initializers.normal(0.02), name="embed",
        )
        pos = self.param("pos_embed", nn.initializers.normal(0.01), (self.seq_len, self.d_model), jnp.float32)
        x = embed(tokens) + pos[:t].astype(self.dtype)
        for i in range(self.n_layers):
            x = Block(self.n_heads, self.mlp_ratio, self.dropout, self.dtype, self.attention_impl, name=f"block_{i}")(
                x, deterministic
            )
        x = nn.RMSNorm(dtype=self.dtype, param_dtype=jnp.float32, name="final_norm")(x)
        return embed.attend(x).astype(jnp.float32)


def build_model(cfg: ModelConfig, dtype=jnp.float32, dropout: float = 0.0, attention_impl: str | None = None) -> DecoderLM:
    return DecoderLM(
        n_layers=cfg.n_layers, d_model=cfg.d_model, n_heads=cfg.n_heads, seq_len=cfg.seq_len,
        vocab_size=cfg.vocab_size, mlp_ratio=cfg.mlp_ratio, dropout=dropout, dtype=dtype,
        attention_impl=attention_impl,
    )


def init_params(model: DecoderLM, seed: int):
    tokens = jnp.zeros((1, model.seq_len), jnp.int32)
    return model.init(jax.random.PRNGKey(seed), tokens, deterministic=True)["params"]
