"""The training computation: precision, optimizer, sharded state, and the jitted train and eval steps.

Shared by the trainer (train.py) and the GPU benchmark (bench/container/gpu_mfu.py), so the
benchmark times exactly the step the trainer runs.

State is {"params", "opt_state"}, laid out by sharding.py (FSDP within a host, replicated across
hosts) and initialised directly in that layout by a jitted init, so no device or host ever holds
a whole unsharded copy. The train step takes a [grad_accum, micro_batch, seq_len + 1] batch split
over every device, scans the micro-batches, applies AdamW, and adds its loss to a running sum
that stays on device until the log interval reads it. With several data groups (hosts) each group
accumulates its own gradients and one psum over `data` per optimizer step, in `grad_reduce_dtype`,
is the only gradient traffic between hosts (see reduce_once; container/tests/test_hlo_p4de.py
checks it in the compiled program).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import optax
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P

from . import sharding as shd
from .config import AUTO, TrainConfig
from .model import AttentionImpl, DecoderLM, ModelConfig, build_model, init_boxed

log = logging.getLogger(__name__)

# cuDNN's fused (flash) attention handles these head sizes on every GPU JAX supports (A100: <= 128,
# multiple of 8; Hopper allows 256). jax/_src/cudnn/fused_attention_stablehlo.py checks the same.
CUDNN_MAX_HEAD_DIM = 128


@dataclass(frozen=True)
class Precision:
    compute_dtype: Any
    attention: AttentionImpl
    why: str
    grad_reduce_dtype: Any = jnp.float32  # what gradients cross hosts in (the psum over `data`)

    def describe(self) -> str:
        return (
            f"compute={jnp.dtype(self.compute_dtype).name} attention={self.attention or 'xla'} "
            f"grad_reduce={jnp.dtype(self.grad_reduce_dtype).name} ({self.why})"
        )


def resolve_precision(cfg: TrainConfig, backend: str) -> Precision:
    """bf16/attention 'auto': bf16 and cuDNN flash attention on GPU, float32 and XLA elsewhere."""
    accelerator = backend in ("gpu", "cuda", "rocm", "tpu")
    bf16 = accelerator if cfg.bf16 is None else cfg.bf16
    dtype = jnp.bfloat16 if bf16 else jnp.float32
    head_dim = cfg.d_model // cfg.n_heads
    reasons = [f"bf16={'auto' if cfg.bf16 is None else cfg.bf16} on {backend}"]
    attention: AttentionImpl
    if cfg.attention == AUTO:
        fits = head_dim % 8 == 0 and head_dim <= CUDNN_MAX_HEAD_DIM
        attention = "cudnn" if backend in ("gpu", "cuda") and bf16 and fits else "xla"
        if backend in ("gpu", "cuda") and attention == "xla":
            reasons.append(
                "cuDNN attention needs bf16 and a head size that is a multiple of 8 and at most "
                f"{CUDNN_MAX_HEAD_DIM} (here {head_dim})"
            )
    else:
        attention = "cudnn" if cfg.attention == "cudnn" else "xla"
    reduce_dtype = dtype if cfg.grad_reduce_dtype == AUTO else jnp.dtype(cfg.grad_reduce_dtype)
    if backend == "cpu" and jnp.dtype(reduce_dtype) != jnp.float32:
        # XLA:CPU has no bfloat16 all-reduce (it promotes them to float32, and this release's promotion pass
        # aborts on a psum's reducer), so CPU hosts reduce in float32; GPUs (NCCL) reduce in bfloat16.
        reduce_dtype = jnp.float32
        reasons.append("grad_reduce float32 on cpu (XLA:CPU has no bfloat16 all-reduce)")
    return Precision(dtype, attention, "; ".join(reasons), reduce_dtype)


def make_optimizer(cfg: TrainConfig):
    """AdamW with linear warmup and cosine decay; no weight decay on vectors (norms, biases)."""
    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps,
        decay_steps=max(cfg.max_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.min_lr_ratio,
    )
    chain = [optax.clip_by_global_norm(cfg.grad_clip)] if cfg.grad_clip > 0 else []
    chain.append(optax.adamw(schedule, b1=0.9, b2=0.95, eps=1e-8, weight_decay=cfg.weight_decay, mask=decay_mask))
    return optax.chain(*chain), schedule


def decay_mask(params: Any) -> Any:
    """True for matrices (decayed), False for vectors (norm scales, biases). Under scan_layers a
    block's parameters carry a leading layer axis, which does not count."""

    def one(path: tuple, p: Any) -> bool:
        stacked = any(getattr(k, "key", None) == "layers" for k in path)
        return p.ndim - int(stacked) >= 2

    return jax.tree_util.tree_map_with_path(one, params)


def _loss(model: DecoderLM, params, tokens, deterministic: bool, rng=None):
    rngs = {"dropout": rng} if rng is not None else {}
    logits = model.apply({"params": params}, tokens[:, :-1], deterministic=deterministic, rngs=rngs)
    return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()


@dataclass
class Training:
    """Everything the loop needs: the model, the mesh, the state layout and the compiled steps."""

    cfg: TrainConfig
    mesh: Mesh
    precision: Precision
    model: DecoderLM
    tx: Any
    schedule: Callable[[int], Any]
    abstract_state: Any  # {"params", "opt_state"} of ShapeDtypeStructs carrying their shardings
    state_shardings: Any
    batch_sharding: NamedSharding  # [grad_accum, micro_batch, seq_len + 1]
    eval_sharding: NamedSharding  # [batch, seq_len + 1]
    replicated: NamedSharding
    _train: Any
    _eval: Any
    _init: Any

    @contextlib.contextmanager
    def context(self) -> Iterator[None]:
        """Mesh and logical-axis rules: what the model's sharding constraints resolve against."""
        with jax.set_mesh(self.mesh), nn.logical_axis_rules(shd.LOGICAL_RULES):
            yield

    def init_state(self) -> dict[str, Any]:
        with self.context():
            return self._init()

    def train_step(self, state, batch, step, loss_sum):
        """-> (new state, loss_sum + this step's mean loss). `state` is donated."""
        with self.context():
            return self._train(state, batch, step, loss_sum)

    def eval_step(self, params, tokens, loss_sum):
        with self.context():
            return self._eval(params, tokens, loss_sum)

    def compiled_train_step(self):
        """The compiled train step (for memory and cost analysis), without running it."""
        c = self.cfg
        batch = jax.ShapeDtypeStruct(
            (c.grad_accum, c.micro_batch_size, c.seq_len + 1), jnp.int32, sharding=self.batch_sharding
        )
        scalar = jax.ShapeDtypeStruct((), jnp.float32, sharding=self.replicated)
        step = jax.ShapeDtypeStruct((), jnp.int32, sharding=self.replicated)
        with self.context():
            return self._train.lower(self.abstract_state, batch, step, scalar).compile()

    def state_bytes_per_device(self) -> int:
        return shd.bytes_per_device(self.abstract_state, self.state_shardings)


def build(cfg: TrainConfig, mesh: Mesh, precision: Precision, legacy_reduction: bool = False) -> Training:
    """The compiled steps. `legacy_reduction` rebuilds the step as it was before issue 22 (one cross-host
    gradient all-reduce per micro-batch, float32): only the step-time model's "before" row uses it."""
    model = build_model(
        ModelConfig.from_dict(cfg.model_dict()),
        dtype=precision.compute_dtype,
        dropout=cfg.dropout,
        attention_impl=precision.attention,
        remat=cfg.remat,  # type: ignore[arg-type]  # validated by config's choices
        scan_layers=cfg.scan_layers,
    )
    tx, schedule = make_optimizer(cfg)
    boxed = jax.eval_shape(lambda: init_boxed(model, cfg.seed))
    # The optimizer state of boxed parameters is boxed alike (Adam's moments take their names).
    boxed_opt = jax.eval_shape(tx.init, boxed)
    state_shardings = {"params": shd.shardings_of(boxed, mesh), "opt_state": shd.shardings_of(boxed_opt, mesh)}
    shapes = {"params": nn.unbox(boxed), "opt_state": nn.unbox(boxed_opt)}
    abstract_state = jax.tree_util.tree_map(
        lambda s, sh: jax.ShapeDtypeStruct(s.shape, s.dtype, sharding=sh), shapes, state_shardings
    )
    param_shardings = state_shardings["params"]
    repl = shd.replicated(mesh)
    batch_sharding = shd.batch_sharding(mesh, 1, 3)
    eval_sharding = shd.batch_sharding(mesh, 0, 2)
    deterministic = cfg.dropout == 0.0

    def init():
        params = nn.unbox(init_boxed(model, cfg.seed))
        return {"params": params, "opt_state": tx.init(params)}

    reduce_dtype = precision.grad_reduce_dtype
    n_data = mesh.shape[shd.DATA]

    def micro_grads(params, batch, rng, row_offset):
        """Sum over the micro-batches of `batch` of (loss, gradient), without reducing over hosts."""

        def micro(carry, xs):
            grads, loss = carry
            tokens, i = xs
            step_rng = None if deterministic else jax.random.fold_in(jax.random.fold_in(rng, i), row_offset)
            step_loss, g = jax.value_and_grad(_loss, argnums=1)(model, params, tokens, deterministic, step_rng)
            return (jax.tree_util.tree_map(jnp.add, grads, g), loss + step_loss), None

        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        (grads, loss), _ = jax.lax.scan(micro, (zeros, jnp.float32(0.0)), (batch, jnp.arange(batch.shape[0])))
        return grads, loss

    def reduce_once(params, batch, rng):
        """Gradients and loss summed over `data` by one all-reduce per optimizer step.

        shard_map makes `data` manual: each (host's) data group scans its own micro-batches and keeps its
        partial gradient sum in its own accumulator (FSDP, within the host, stays automatic), and one psum
        over `data` after the scan is the only gradient traffic between hosts, in `reduce_dtype`. Without
        it XLA reduces each micro-batch's gradient across hosts inside the scan, because the accumulator
        has the parameters' layout (replicated over `data`).
        """

        def local(params, batch):
            grads, loss = micro_grads(params, batch, rng, jax.lax.axis_index(shd.DATA))
            grads = jax.tree_util.tree_map(lambda g: g.astype(reduce_dtype), grads)
            grads, loss = jax.lax.psum((grads, loss), shd.DATA)
            return jax.tree_util.tree_map(lambda g: g.astype(jnp.float32), grads), loss

        with nn.logical_axis_rules(shd.LOGICAL_RULES_IN_DATA_GROUP):
            return jax.shard_map(
                local,
                mesh=mesh,
                in_specs=(P(), P(None, shd.DATA)),
                out_specs=(P(), P()),
                axis_names=frozenset({shd.DATA}),
                check_vma=False,
            )(params, batch)

    def reduce_per_micro_batch(params, batch, rng):
        """The accumulator pinned to the parameters' layout (replicated over `data`): XLA reduces every
        micro-batch's gradient over all devices inside the scan, in float32. Right for one data group; on
        several it is the trainer before issue 22, kept for the step-time model's "before" row."""

        def micro(carry, xs):
            grads, loss = carry
            tokens, i = xs
            step_rng = None if deterministic else jax.random.fold_in(rng, i)
            step_loss, g = jax.value_and_grad(_loss, argnums=1)(model, params, tokens, deterministic, step_rng)
            return (jax.tree_util.tree_map(jnp.add, grads, g), loss + step_loss), None

        zeros = jax.lax.with_sharding_constraint(jax.tree_util.tree_map(jnp.zeros_like, params), param_shardings)
        (grads, loss), _ = jax.lax.scan(micro, (zeros, jnp.float32(0.0)), (batch, jnp.arange(batch.shape[0])))
        return grads, loss

    # One data group (one host whose fsdp group is all its devices, the default): nothing crosses hosts, and
    # XLA rejects a shard_map over a size-1 axis (its psum is dropped); the pinned accumulator reduces within
    # the group, as FSDP must.
    per_micro_batch = legacy_reduction or n_data == 1
    accumulate = reduce_per_micro_batch if per_micro_batch else reduce_once
    # psum adds the data groups' sums; the pinned accumulator already holds the global one.
    groups = 1 if per_micro_batch else n_data

    def train_step(state, batch, step, loss_sum):
        params = state["params"]
        rng = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), step)
        grads, loss = accumulate(params, batch, rng)
        scale = 1.0 / (batch.shape[0] * groups)
        grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
        updates, opt_state = tx.update(grads, state["opt_state"], params)
        new_state = {"params": optax.apply_updates(params, updates), "opt_state": opt_state}
        return new_state, loss_sum + loss * scale

    def eval_step(params, tokens, loss_sum):
        return loss_sum + _loss(model, params, tokens, True)

    return Training(
        cfg=cfg,
        mesh=mesh,
        precision=precision,
        model=model,
        tx=tx,
        schedule=schedule,
        abstract_state=abstract_state,
        state_shardings=state_shardings,
        batch_sharding=batch_sharding,
        eval_sharding=eval_sharding,
        replicated=repl,
        _train=jax.jit(
            train_step,
            in_shardings=(state_shardings, batch_sharding, repl, repl),
            out_shardings=(state_shardings, repl),
            donate_argnums=(0,),
        ),
        _eval=jax.jit(eval_step, in_shardings=(param_shardings, eval_sharding, repl), out_shardings=repl),
        _init=jax.jit(init, out_shardings=state_shardings),
    )
