"""A decoder-only transformer language model in Flax (linen).

Pre-norm blocks (RMSNorm -> causal self-attention -> RMSNorm -> GELU MLP), learned absolute
position embeddings, token embedding tied with the output projection. Parameters are always
float32; `dtype` sets the compute dtype (bfloat16 with the `bf16` hyperparameter), which is
what the tensor cores of an A100/H100 want while the optimizer keeps full precision.

Every parameter carries logical axis names (`nn.with_logical_partitioning`) and block inputs a
logical sharding constraint; `sharding.py` maps those names onto the device mesh (FSDP). Outside
a mesh and rules context (serving, single device) the names are inert.

Two training-only options change how the block stack runs, not what it computes:
`remat` recomputes block activations in the backward pass (`nn.remat`), and `scan_layers` runs
the stack as one `nn.scan` over stacked parameters (`layers/block/...` with a leading layer
axis) so XLA compiles one layer instead of n_layers. The saved model always uses the per-layer
layout (`blocks_0` ... `blocks_{n-1}`, see `unstack_layers`) that serving loads.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal, cast

import flax.linen as nn
import jax
import jax.numpy as jnp

# jax.nn.dot_product_attention's kernels; None is JAX's default (XLA in every current release).
AttentionImpl = Literal["xla", "cudnn"] | None
# Block rematerialisation policies (the `remat` hyperparameter).
RematPolicy = Literal["none", "full", "dots"]

# Logical axis names. Parameters: EMBED is the model width, the dimension FSDP shards; the others
# stay whole. Activations: BATCH is split over every device, the rest are not split.
EMBED, MLP, QKV, VOCAB, POSITION, NORM, LAYERS = "embed", "mlp", "qkv", "vocab", "position", "norm", "layers"
BATCH, LENGTH, ACT_EMBED = "batch", "length", "act_embed"


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
        def dense(feats: int, axes: tuple[str, str]):
            return nn.Dense(
                feats,
                dtype=self.dtype,
                param_dtype=jnp.float32,
                kernel_init=nn.with_logical_partitioning(nn.initializers.normal(0.02), axes),
                bias_init=nn.with_logical_partitioning(nn.initializers.zeros_init(), (axes[1],)),
            )

        def norm():
            return nn.RMSNorm(
                dtype=self.dtype,
                param_dtype=jnp.float32,
                scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), (NORM,)),
            )

        self.attn_norm = norm()
        self.qkv = dense(3 * self.d_model, (EMBED, QKV))
        self.attn_out = dense(self.d_model, (QKV, EMBED))
        self.mlp_norm = norm()
        self.mlp_in = dense(self.mlp_ratio * self.d_model, (EMBED, MLP))
        self.mlp_out = dense(self.d_model, (MLP, EMBED))
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
        # Keep activations split over the batch (every device) so XLA gathers the FSDP-sharded
        # weights for the matmuls instead of re-sharding activations. Inert outside a mesh.
        x = nn.with_logical_constraint(x, (BATCH, LENGTH, ACT_EMBED))
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

    def extend(self, x, start, slot, cache_k, cache_v):
        """A chunk of one prompt: x [1, C, d] at positions start..start+C-1 (start + C <= T).

        Writes the chunk's k/v into cache row `slot` and attends causally over that row (the
        earlier chunks are already there), so a long prompt is prefilled a chunk at a time
        between decode steps instead of in one long step that stalls them.
        """
        _, c, d = x.shape
        q, k, v = self._qkv(x)
        cache_k = jax.lax.dynamic_update_slice(cache_k, k.astype(cache_k.dtype), (slot, start, 0, 0))
        cache_v = jax.lax.dynamic_update_slice(cache_v, v.astype(cache_v.dtype), (slot, start, 0, 0))
        keys = jax.lax.dynamic_index_in_dim(cache_k, slot, 0, keepdims=False)  # [T, heads, head_dim]
        values = jax.lax.dynamic_index_in_dim(cache_v, slot, 0, keepdims=False)
        scale = 1.0 / jnp.sqrt(jnp.float32(d // self.n_heads))
        scores = jnp.einsum("chd,thd->hct", q[0], keys).astype(jnp.float32) * scale
        visible = jnp.arange(keys.shape[0])[None, :] <= (start + jnp.arange(c))[:, None]
        scores = jnp.where(visible[None], scores, -jnp.inf)
        probs = jax.nn.softmax(scores, axis=-1).astype(values.dtype)
        att = jnp.einsum("hct,thd->chd", probs, values).reshape(1, c, d)
        x = x + self.attn_out(att.astype(x.dtype))
        return self._mlp(x, True), cache_k, cache_v


class _ScanStep(nn.Module):
    """One Block in nn.scan's (carry, broadcast input) -> (carry, output) form; k/v are dropped."""

    d_model: int
    n_heads: int
    mlp_ratio: int
    dropout: float
    dtype: Any
    attention_impl: AttentionImpl = None

    @nn.compact
    def __call__(self, x, deterministic: bool):
        block = Block(
            self.d_model, self.n_heads, self.mlp_ratio, self.dropout, self.dtype, self.attention_impl, name="block"
        )
        return block(x, deterministic)[0], None


def _remat(cls: Any, policy: RematPolicy, scanned: bool) -> Any:
    if policy == "none":
        return cls
    # `deterministic` (argument 2, counting self) is a Python bool: static for jax.checkpoint.
    # Inside a scan, common-subexpression elimination cannot merge the recomputation with the
    # forward pass anyway, so prevent_cse only costs (Flax's advice).
    saveable = jax.checkpoint_policies.dots_with_no_batch_dims_saveable if policy == "dots" else None
    return nn.remat(cls, policy=saveable, prevent_cse=not scanned, static_argnums=(2,))


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
    remat: RematPolicy = "none"
    scan_layers: bool = False

    def setup(self):
        self.embed = nn.Embed(
            self.vocab_size,
            self.d_model,
            dtype=self.dtype,
            param_dtype=jnp.float32,
            embedding_init=nn.with_logical_partitioning(nn.initializers.normal(0.02), (VOCAB, EMBED)),
        )
        # self.param returns the plain array (boxes are unboxed on the way in); the cast says so.
        self.pos_embed = cast(
            jax.Array,
            self.param(
                "pos_embed",
                nn.with_logical_partitioning(nn.initializers.normal(0.01), (POSITION, EMBED)),
                (self.seq_len, self.d_model),
                jnp.float32,
            ),
        )
        block_args = (self.d_model, self.n_heads, self.mlp_ratio, self.dropout, self.dtype, self.attention_impl)
        if self.scan_layers:
            self.layers = nn.scan(
                _remat(_ScanStep, self.remat, scanned=True),
                variable_axes={"params": 0},
                split_rngs={"params": True, "dropout": True},
                in_axes=nn.broadcast,
                length=self.n_layers,
                metadata_params={nn.PARTITION_NAME: LAYERS},
            )(*block_args)
        else:
            block_cls = _remat(Block, self.remat, scanned=False)
            self.blocks = [block_cls(*block_args) for _ in range(self.n_layers)]
        self.final_norm = nn.RMSNorm(
            dtype=self.dtype,
            param_dtype=jnp.float32,
            scale_init=nn.with_logical_partitioning(nn.initializers.ones_init(), (NORM,)),
        )

    def _logits(self, x):
        return self.embed.attend(self.final_norm(x)).astype(jnp.float32)

    def _embed(self, tokens):
        return self.embed(tokens) + self.pos_embed[: tokens.shape[1]].astype(self.dtype)

    def __call__(self, tokens, deterministic: bool = True):
        """tokens: int32 [batch, time <= seq_len] -> float32 logits [batch, time, vocab]."""
        if self.scan_layers:
            x, _ = self.layers(self._embed(tokens), deterministic)
            return self._logits(x)
        return self.prefill(tokens, deterministic)[0]

    def _per_layer(self, what: str) -> None:
        if self.scan_layers:
            raise ValueError(f"{what} needs the per-layer model: build it with scan_layers=False (unstack_layers)")

    def prefill(self, tokens, deterministic: bool = True):
        """Logits for every position plus per-layer k/v caches (tuples of [b, t, heads, head_dim])."""
        self._per_layer("prefill")
        x = self._embed(tokens)
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
        self._per_layer("decode_step")
        x = self.embed(token[:, None]) + self.pos_embed[pos][:, None, :].astype(self.dtype)
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block.decode(x, pos, cache_k[i], cache_v[i], window)
            ks.append(k)
            vs.append(v)
        return self._logits(x)[:, 0], tuple(ks), tuple(vs)

    def prefill_chunk(self, tokens, start, slot, cache_k, cache_v):
        """tokens int32 [1, C] at positions start..start+C-1 of the prompt in cache row `slot` ->
        logits [1, C, vocab] and the updated caches (see Block.extend)."""
        self._per_layer("prefill_chunk")
        c = tokens.shape[1]
        pos = jax.lax.dynamic_slice_in_dim(self.pos_embed, start, c)
        x = self.embed(tokens) + pos[None].astype(self.dtype)
        ks, vs = [], []
        for i, block in enumerate(self.blocks):
            x, k, v = block.extend(x, start, slot, cache_k[i], cache_v[i])
            ks.append(k)
            vs.append(v)
        return self._logits(x), tuple(ks), tuple(vs)


def build_model(
    cfg: ModelConfig,
    dtype=jnp.float32,
    dropout: float = 0.0,
    attention_impl: AttentionImpl = None,
    remat: RematPolicy = "none",
    scan_layers: bool = False,
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
        remat=remat,
        scan_layers=scan_layers,
    )


def init_params(model: DecoderLM, seed: int):
    """Plain (unboxed) parameter arrays on the default device; the trainer initialises sharded instead."""
    return nn.unbox(init_boxed(model, seed))


def init_boxed(model: DecoderLM, seed: int):
    """Parameters still wrapped in their logical-axis boxes (nn.LogicallyPartitioned)."""
    tokens = jnp.zeros((1, model.seq_len), jnp.int32)
    return model.init(jax.random.PRNGKey(seed), tokens, deterministic=True)["params"]


def unstack_layers(params: dict[str, Any], n_layers: int) -> dict[str, Any]:
    """Scanned parameters (`layers/block/...`, leading layer axis) -> the per-layer layout
    (`blocks_0` ... ) that serving and `prefill`/`decode_step` use. Identity when not scanned."""
    if "layers" not in params:
        return params
    out = {k: v for k, v in params.items() if k != "layers"}
    stacked = params["layers"]["block"]
    for i in range(n_layers):
        out[f"blocks_{i}"] = jax.tree_util.tree_map(lambda a, i=i: a[i], stacked)
    return out
