"""The training loop: the image's default training program.

Reads hyperparameters, channels `train` and `val`, and resourceconfig.json; initialises
jax.distributed across hosts; trains the decoder-only LM data-parallel over every device of
every host (batch sharded, parameters replicated, gradients all-reduced by XLA); evaluates and
prints one metrics line per eval; checkpoints with Orbax and resumes; writes the final model.

Metric lines (stdout, process 0 only, so a multi-host job reports each value once):
  step=<int> train_loss=<float> val_loss=<float> tokens_per_sec=<float>
  final val_loss=<float>
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
import traceback
from pathlib import Path
from typing import Any

import numpy as np

from . import distributed
from .config import TrainConfig, load_hyperparameters
from .errors import UserError, write_failure
from .paths import SageMakerPaths
from .tokenizer import ByteTokenizer

log = logging.getLogger("jaxsm.train")


class _StopFlag:
    """Set by SIGTERM (StopTrainingJob, spot interruption, MaxRuntimeInSeconds)."""

    def __init__(self):
        self.requested = False

    def install(self) -> None:
        try:
            signal.signal(signal.SIGTERM, self._handle)
        except ValueError:  # not the main thread (embedded use): rely on the caller
            pass

    def _handle(self, signum, frame) -> None:
        self.requested = True


def make_optimizer(cfg: TrainConfig):
    """AdamW with linear warmup and cosine decay; no weight decay on vectors (norms, biases)."""
    import jax
    import optax

    schedule = optax.warmup_cosine_decay_schedule(
        init_value=0.0,
        peak_value=cfg.learning_rate,
        warmup_steps=cfg.warmup_steps,
        decay_steps=max(cfg.max_steps, cfg.warmup_steps + 1),
        end_value=cfg.learning_rate * cfg.min_lr_ratio,
    )
    decay_mask = lambda params: jax.tree_util.tree_map(lambda p: p.ndim >= 2, params)  # noqa: E731
    chain = []
    if cfg.grad_clip > 0:
        chain.append(optax.clip_by_global_norm(cfg.grad_clip))
    chain.append(optax.adamw(schedule, b1=0.9, b2=0.95, eps=1e-8, weight_decay=cfg.weight_decay, mask=decay_mask))
    return optax.chain(*chain), schedule


def make_steps(model, tx, cfg: TrainConfig, mesh):
    """Jitted train and eval steps with explicit shardings over the 1-D 'data' mesh."""
    import jax
    import jax.numpy as jnp
    import optax
    from jax.sharding import NamedSharding
    from jax.sharding import PartitionSpec as P

    repl = NamedSharding(mesh, P())
    batch_sharding = NamedSharding(mesh, P(None, "data", None))  # [accum, micro, seq+1]
    eval_sharding = NamedSharding(mesh, P("data", None))  # [batch, seq+1]
    deterministic = cfg.dropout == 0.0

    def loss_fn(params, tokens, rng):
        logits = model.apply({"params": params}, tokens[:, :-1], deterministic=deterministic, rngs={"dropout": rng})
        return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()

    def train_step(params, opt_state, batch, step):
        rng = jax.random.fold_in(jax.random.PRNGKey(cfg.seed), step)

        def micro(carry, xs):
            grads, loss = carry
            tokens, i = xs
            step_loss, g = jax.value_and_grad(loss_fn)(params, tokens, jax.random.fold_in(rng, i))
            return (jax.tree_util.tree_map(jnp.add, grads, g), loss + step_loss), None

        zeros = jax.tree_util.tree_map(jnp.zeros_like, params)
        (grads, loss), _ = jax.lax.scan(micro, (zeros, 0.0), (batch, jnp.arange(batch.shape[0])))
        scale = 1.0 / batch.shape[0]
        grads = jax.tree_util.tree_map(lambda g: g * scale, grads)
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss * scale

    def eval_step(params, tokens):
        logits = model.apply({"params": params}, tokens[:, :-1], deterministic=True)
        return optax.softmax_cross_entropy_with_integer_labels(logits, tokens[:, 1:]).mean()

    train_jit = jax.jit(
        train_step,
        in_shardings=(repl, repl, batch_sharding, None),
        out_shardings=(repl, repl, repl),
        donate_argnums=(0, 1),
    )
    eval_jit = jax.jit(eval_step, in_shardings=(repl, eval_sharding), out_shardings=repl)
    return train_jit, eval_jit, repl, batch_sharding, eval_sharding


def _global(tree: Any, sharding) -> Any:
    """Identical host numpy trees on every process -> one replicated global jax tree."""
    import jax

    def one(x):
        x = np.asarray(x)
        return jax.make_array_from_callback(x.shape, sharding, lambda idx: x[idx])

    return jax.tree_util.tree_map(one, tree)


def _local_rows(global_batch: np.ndarray, axis: int) -> np.ndarray:
    """This process's contiguous slice of a global batch (devices are ordered by process)."""
    import jax

    n, p = jax.process_count(), jax.process_index()
    size = global_batch.shape[axis] // n
    return np.take(global_batch, np.arange(p * size, (p + 1) * size), axis=axis)


def write_model(model_dir: Path, cfg: TrainConfig, params_host: Any, metrics: dict[str, Any]) -> None:
    """The artefact SageMaker tars to model.tar.gz: params, config.json, tokenizer.json."""
    from flax import serialization

    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / "params.msgpack").write_bytes(serialization.to_bytes(params_host))
    tok = ByteTokenizer().to_json()
    (model_dir / "tokenizer.json").write_text(json.dumps(tok, indent=2))
    (model_dir / "config.json").write_text(
        json.dumps(
            {
                "format": "jaxsm-decoder-lm/1",
                "model": cfg.model_dict(),
                "tokenizer": tok,
                "training": cfg.to_dict(),
                "metrics": metrics,
            },
            indent=2,
        )
    )


def run(paths: SageMakerPaths | None = None) -> dict[str, Any]:
    """Train to completion; returns the final metrics. Raises UserError for user problems."""
    paths = paths or SageMakerPaths.from_env()
    cfg = load_hyperparameters(paths.hyperparameters)
    hosts = distributed.read_host_info(paths.resource_config)
    distributed.initialize(hosts)

    import jax
    import jax.numpy as jnp
    from jax.experimental import multihost_utils
    from jax.sharding import Mesh

    from .checkpoint import Checkpointer, to_host
    from .data import load_channel, train_batch, unigram_xent, val_batches
    from .model import ModelConfig, build_model, init_params

    is_main = jax.process_index() == 0
    say = (lambda msg: print(msg, flush=True)) if is_main else log.info

    stop = _StopFlag()
    stop.install()

    train_tokens = load_channel("train", paths.channel("train"), cfg.seq_len + 2)
    val_tokens = load_channel("val", paths.channel("val"), cfg.seq_len + 2)

    devices = jax.devices()
    n_dev = len(devices)
    if cfg.micro_batch_size % n_dev:
        raise UserError(
            f"hyperparameter 'batch_size' ({cfg.batch_size}) / 'grad_accum' ({cfg.grad_accum}) = "
            f"{cfg.micro_batch_size} must be divisible by the {n_dev} devices across {jax.process_count()} host(s)"
        )
    mesh = Mesh(np.array(devices), ("data",))
    mcfg = ModelConfig.from_dict(cfg.model_dict())
    dtype = jnp.bfloat16 if cfg.bf16 else jnp.float32
    model = build_model(mcfg, dtype=dtype, dropout=cfg.dropout)
    tx, schedule = make_optimizer(cfg)
    train_step, eval_step, repl, batch_sharding, eval_sharding = make_steps(model, tx, cfg, mesh)

    say(
        f"jaxsm: hosts={hosts.num_hosts} process={jax.process_index()} devices={n_dev} "
        f"backend={jax.default_backend()} params={mcfg.param_count()} "
        f"train_tokens={train_tokens.size} val_tokens={val_tokens.size}"
    )
    baseline = unigram_xent(train_tokens, val_tokens, cfg.vocab_size)
    say(f"baseline unigram_xent={baseline:.4f}")

    params_host = jax.device_get(init_params(model, cfg.seed))
    opt_host = jax.device_get(tx.init(params_host))
    ckpt = Checkpointer(paths.checkpoints, cfg.keep_checkpoints)
    start_step = 0
    restored = ckpt.restore_latest(params_host, opt_host)
    if restored is not None:
        start_step, params_host, opt_host = restored
        say(f"resumed from checkpoint step={start_step} dir={paths.checkpoints}")
    params = _global(params_host, repl)
    opt_state = _global(opt_host, repl)
    del params_host, opt_host

    vb = val_batches(val_tokens, cfg.batch_size, cfg.seq_len, cfg.eval_batches)

    def evaluate(params) -> float:
        losses = []
        for b in vb:
            arr = jax.make_array_from_process_local_data(eval_sharding, _local_rows(b, 0), b.shape)
            losses.append(eval_step(params, arr))
        return float(np.mean([np.asarray(x.addressable_data(0)) for x in losses]))

    def stop_requested() -> bool:
        if jax.process_count() == 1:
            return stop.requested
        # Collective so all hosts stop at the same step (else the others hang in all-reduce).
        flags = multihost_utils.process_allgather(np.asarray(int(stop.requested), np.int32))
        return bool(np.any(flags))

    tokens_per_step = cfg.batch_size * cfg.seq_len
    metrics: dict[str, Any] = {"unigram_xent": baseline}
    val_loss = None
    interval_losses = []
    interval_steps = 0
    interval_time = 0.0
    step = start_step
    first = True
    t_last = time.perf_counter()
    while step < cfg.max_steps:
        if stop_requested():
            ckpt.save(step, params, opt_state)
            ckpt.close()
            raise UserError(
                f"training stopped by SIGTERM at step {step}; checkpoint saved to {paths.checkpoints}; "
                "restarting the job resumes from it"
            )
        gb = train_batch(train_tokens, cfg.seed, step, cfg.batch_size, cfg.seq_len)
        gb = gb.reshape(cfg.grad_accum, cfg.micro_batch_size, cfg.seq_len + 1)
        batch = jax.make_array_from_process_local_data(batch_sharding, _local_rows(gb, 1), gb.shape)
        params, opt_state, loss = train_step(params, opt_state, batch, jnp.asarray(step, jnp.int32))
        step += 1
        interval_losses.append(loss)
        if first:
            # Exclude the first step (jit compilation) from throughput.
            loss.block_until_ready()
            first = False
            t_last = time.perf_counter()
        else:
            interval_steps += 1
        if step % cfg.eval_every == 0 or step == cfg.max_steps:
            loss.block_until_ready()
            interval_time += time.perf_counter() - t_last
            train_loss = float(np.mean([np.asarray(x.addressable_data(0)) for x in interval_losses]))
            val_loss = evaluate(params)
            tps = tokens_per_step * interval_steps / interval_time if interval_steps else 0.0
            say(f"step={step} train_loss={train_loss:.4f} val_loss={val_loss:.4f} tokens_per_sec={tps:.1f}")
            metrics.update(
                step=step,
                train_loss=train_loss,
                val_loss=val_loss,
                tokens_per_sec=tps,
                learning_rate=float(schedule(step)),
            )
            interval_losses, interval_steps, interval_time = [], 0, 0.0
            t_last = time.perf_counter()
        if step % cfg.checkpoint_every == 0 or step == cfg.max_steps:
            t0 = time.perf_counter()
            ckpt.save(step, params, opt_state)
            t_last += time.perf_counter() - t0  # checkpoint time is not training time
    ckpt.close()

    if val_loss is None:  # resumed at max_steps: nothing left to train, still report
        val_loss = evaluate(params)
        metrics.update(step=step, val_loss=val_loss)
    say(f"final val_loss={val_loss:.4f}")
    write_model(paths.model, cfg, to_host(params), metrics)
    say(f"model written to {paths.model}")
    return metrics


def run_guarded(paths: SageMakerPaths | None = None) -> dict[str, Any]:
    """run(), but every failure writes the failure file and surfaces as a short UserError.

    Unexpected exceptions are logged with their traceback (CloudWatch) while the failure file
    gets one line, because the toolkit would otherwise put a whole traceback in FailureReason.
    """
    paths = paths or SageMakerPaths.from_env()
    try:
        return run(paths)
    except UserError as e:
        write_failure(paths.failure, str(e))
        log.error("training failed: %s", e)
        raise
    except Exception as e:  # noqa: BLE001 - convert to a short reason, keep the traceback in logs
        traceback.print_exc()
        reason = f"internal error: {type(e).__name__}: {e}".splitlines()[0]
        write_failure(paths.failure, reason)
        raise UserError(reason) from e


def main() -> None:
    """`python -m jaxsm.train` (and the baked /opt/jaxsm/code/train.py): exits non-zero on failure."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        run_guarded()
    except UserError as e:
        print(f"ERROR: {e}", file=sys.stderr, flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
