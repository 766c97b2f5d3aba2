"""The training loop: the image's default training program.

Reads hyperparameters, channels `train` and `val`, and resourceconfig.json; initialises
jax.distributed across hosts; trains the decoder-only LM over a (data, fsdp) mesh of every
device of every host (batch split over all devices, parameters and optimizer state sharded
within a host; see sharding.py and steps.py); evaluates and prints one metrics line per eval;
checkpoints with Orbax from every process and resumes (checkpoint.py); stops on SIGTERM at a
step all hosts agree on (stopping.py); fails on a non-finite loss; the first host writes the
final model.

Nothing on the per-step path crosses hosts except the step's own collectives: the loss is summed
on device and read at eval/checkpoint boundaries, and the stop check is local.

Metric lines (stdout, process 0 only, so a multi-host job reports each value once):
  step=<int> train_loss=<float> val_loss=<float> tokens_per_sec=<float>
  final val_loss=<float>
The same values (and the learning rate) go to TensorBoard event files in /opt/ml/output/tensorboard, also from
process 0 only (tensorboard.py).
"""

from __future__ import annotations

import json
import logging
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
from .stopping import StopSignal
from .tensorboard import ScalarLog
from .tokenizer import ByteTokenizer

log = logging.getLogger("jaxsm.train")


def local_rows(global_batch: np.ndarray, axis: int) -> np.ndarray:
    """This process's contiguous slice of a global batch (the mesh orders devices by process)."""
    import jax

    n, p = jax.process_count(), jax.process_index()
    size = global_batch.shape[axis] // n
    return np.take(global_batch, np.arange(p * size, (p + 1) * size), axis=axis)


def host_params(params: Any, dtype: Any = np.float32) -> Any:
    """The whole parameter tree as host numpy arrays in `dtype`, from this process's own devices only.

    The mesh keeps every fsdp group within one host and replicates the state across hosts, so each host's devices
    hold a complete copy: the first host assembles the model from its local shards, one leaf at a time, and
    nothing crosses hosts or is gathered on the others (they do not call this)."""
    import jax

    def one(x: Any) -> np.ndarray:
        out = np.empty(x.shape, dtype)
        covered, seen = 0, set()
        for shard in x.addressable_shards:
            key = tuple((s.start, s.stop, s.step) for s in shard.index)
            if key in seen:
                continue  # the same block on another local device (replicated)
            seen.add(key)
            block = np.asarray(shard.data)
            out[shard.index] = block.astype(dtype)
            covered += block.size
        if covered != out.size:
            raise RuntimeError(f"this host holds {covered} of the {out.size} elements of a {x.shape} parameter")
        return out

    return jax.tree_util.tree_map(one, params)


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


def _diverged(what: str, value: float, step: int, since: int) -> UserError:
    return UserError(
        f"training diverged: {what}={value} (not finite) in steps {since + 1}-{step}; no checkpoint was written "
        "after it. Lower 'learning_rate', raise 'warmup_steps' or keep 'grad_clip' on"
    )


def run(paths: SageMakerPaths | None = None) -> dict[str, Any]:
    """Train to completion; returns the final metrics. Raises UserError for user problems."""
    paths = paths or SageMakerPaths.from_env()
    cfg = load_hyperparameters(paths.hyperparameters)
    hosts = distributed.read_host_info(paths.resource_config)
    stop = StopSignal()
    stop.install()  # before jax.distributed: its preemption manager takes SIGTERM over from here
    distributed.initialize(hosts)

    import jax
    import jax.numpy as jnp

    from . import sharding as shd
    from .checkpoint import Checkpointer, quiet_orbax_logs
    from .data import channel_spec, load_channel, train_batch, unigram_xent, val_batches
    from .model import ModelConfig, unstack_layers
    from .steps import build, resolve_precision

    is_main = jax.process_index() == 0
    say = (lambda msg: print(msg, flush=True)) if is_main else log.info
    stop.start()
    quiet_orbax_logs()
    board = ScalarLog(paths.tensorboard, enabled=is_main)

    # Each host reads only its share of the training channel (data.py); the validation channel is small and
    # read whole unless it is ShardedByS3Key (then each host evaluates its own windows).
    n_proc, proc = jax.process_count(), jax.process_index()
    train_spec = channel_spec(paths.input_config, "train")
    val_spec = channel_spec(paths.input_config, "val")
    train_tokens = load_channel("train", paths.channel("train"), cfg.seq_len + 2, (proc, n_proc), train_spec)
    val_tokens = load_channel("val", paths.channel("val"), cfg.seq_len + 2, spec=val_spec)

    n_dev = jax.device_count()
    if cfg.micro_batch_size % n_dev:
        raise UserError(
            f"hyperparameter 'batch_size' ({cfg.batch_size}) / 'grad_accum' ({cfg.grad_accum}) = "
            f"{cfg.micro_batch_size} must be divisible by the {n_dev} devices across {jax.process_count()} host(s)"
        )
    mesh = shd.make_mesh(cfg.fsdp)
    mcfg = ModelConfig.from_dict(cfg.model_dict())
    precision = resolve_precision(cfg, jax.default_backend())
    training = build(cfg, mesh, precision)

    say(
        f"jaxsm: hosts={hosts.num_hosts} process={jax.process_index()} devices={n_dev} "
        f"backend={jax.default_backend()} params={mcfg.param_count()} "
        f"train_tokens={train_tokens.size} val_tokens={val_tokens.size}"
    )
    state_bytes = training.state_bytes_per_device()
    sharded = shd.sharded_fraction(training.abstract_state, training.state_shardings)
    say(
        f"mesh data={mesh.shape[shd.DATA]} fsdp={mesh.shape[shd.FSDP]} {precision.describe()} "
        f"remat={cfg.remat} scan_layers={cfg.scan_layers} state_per_device={state_bytes / 2**20:.1f}MiB "
        f"({100 * sharded:.0f}% of the state sharded)"
    )
    baseline = unigram_xent(train_tokens, val_tokens, cfg.vocab_size)
    say(f"baseline unigram_xent={baseline:.4f}")

    ckpt = Checkpointer(paths.checkpoints, cfg.fingerprint(), cfg.trajectory(), cfg.keep_checkpoints)
    for note in ckpt.foreign():
        log.warning(note)
        say(f"WARNING: {note}")
    restored, notes = ckpt.restore_latest(training.abstract_state)
    for note in notes:
        log.warning(note)
        say(f"WARNING: {note}")
    if restored is not None:
        start_step, state = restored.step, restored.state
        say(f"resumed from checkpoint step={start_step} dir={ckpt.directory} ({ckpt.storage()} storage)")
    else:
        start_step, state = 0, training.init_state()
        say(f"checkpoints: {ckpt.directory} ({ckpt.storage()} storage); starting from step 0")
    if stop.received_early:
        raise UserError("training stopped by SIGTERM during start-up, before the first step")

    if val_spec.sharded and n_proc > 1:
        vb = val_batches(val_tokens, cfg.batch_size // n_proc, cfg.seq_len, cfg.eval_batches, exact=True)
    else:
        vb = val_batches(val_tokens, cfg.batch_size, cfg.seq_len, cfg.eval_batches)
    val_rows = (lambda b: b) if val_spec.sharded and n_proc > 1 else (lambda b: local_rows(b, 0))
    val_shape = (cfg.batch_size, cfg.seq_len + 1)
    zero = jax.device_put(np.float32(0.0), training.replicated)

    def evaluate(params) -> float:
        total = zero
        for b in vb:
            arr = jax.make_array_from_process_local_data(training.eval_sharding, val_rows(b), val_shape)
            total = training.eval_step(params, arr, total)
        # Replicated: every process reads its own copy; no cross-host traffic.
        return float(np.asarray(total.addressable_data(0))) / len(vb)

    def host_value(x) -> float:
        return float(np.asarray(x.addressable_data(0)))

    def save(at: int, loss_sum, since: int, n_steps: int) -> None:
        """Checkpoint, unless the steps since the last read diverged (never save a poisoned state)."""
        if n_steps and not np.isfinite(host_value(loss_sum)):
            raise _diverged("train_loss", host_value(loss_sum) / n_steps, at, since)
        ckpt.save(at, state)

    tokens_per_step = cfg.batch_size * cfg.seq_len
    global_batch = (cfg.grad_accum, cfg.micro_batch_size, cfg.seq_len + 1)
    metrics: dict[str, Any] = {"unigram_xent": baseline}
    val_loss = None
    loss_sum, interval_steps, interval_since = zero, 0, start_step
    timed_steps, timed = 0, 0.0
    previous = None
    step = start_step
    t_last = time.perf_counter()
    while step < cfg.max_steps:
        if stop.at_step():
            save(step, loss_sum, interval_since, interval_steps)
            ckpt.close()
            raise UserError(
                f"training stopped by SIGTERM at step {step}; checkpoint saved to {ckpt.directory}; "
                "restarting the job resumes from it"
            )
        # This host's rows of the step's [grad_accum, micro_batch, seq_len + 1] batch, from its own tokens.
        host = proc if n_proc > 1 else None
        mine = train_batch(train_tokens, cfg.seed, step, cfg.batch_size // n_proc, cfg.seq_len, host)
        mine = mine.reshape(cfg.grad_accum, cfg.micro_batch_size // n_proc, cfg.seq_len + 1)
        batch = jax.make_array_from_process_local_data(training.batch_sharding, mine, global_batch)
        state, loss_sum = training.train_step(state, batch, jnp.asarray(step, jnp.int32), loss_sum)
        step += 1
        interval_steps += 1
        # At most one step queued behind the running one: bounds the SIGTERM reaction time and
        # host memory. A local wait on this process's own device work, not a collective.
        if previous is not None:
            previous.block_until_ready()
        previous = loss_sum
        if step == start_step + 1:
            loss_sum.block_until_ready()  # the first step compiles: keep it out of tokens/sec
            t_last = time.perf_counter()
        else:
            timed_steps += 1
        boundary_eval = step % cfg.eval_every == 0 or step == cfg.max_steps
        boundary_ckpt = step % cfg.checkpoint_every == 0 or step == cfg.max_steps
        if boundary_eval:
            train_loss = host_value(loss_sum) / interval_steps
            timed += time.perf_counter() - t_last
            val_loss = evaluate(state["params"])
            tps = tokens_per_step * timed_steps / timed if timed_steps else 0.0
            say(f"step={step} train_loss={train_loss:.4f} val_loss={val_loss:.4f} tokens_per_sec={tps:.1f}")
            lr = float(training.schedule(step))
            board.scalars(
                step,
                {
                    "train/loss": train_loss,
                    "eval/val_loss": val_loss,
                    "train/learning_rate": lr,
                    "train/tokens_per_sec": tps,
                },
            )
            board.flush()  # on disk before a later failure or SIGTERM ends the process
            for name, value in (("train_loss", train_loss), ("val_loss", val_loss)):
                if not np.isfinite(value):
                    raise _diverged(name, value, step, interval_since)
            metrics.update(
                step=step,
                train_loss=train_loss,
                val_loss=val_loss,
                tokens_per_sec=tps,
                learning_rate=lr,
            )
            loss_sum, interval_steps, interval_since = zero, 0, step
            timed_steps, timed = 0, 0.0
            t_last = time.perf_counter()
        if boundary_ckpt:
            t0 = time.perf_counter()
            save(step, loss_sum, interval_since, interval_steps)
            stalled = time.perf_counter() - t0
            t_last += stalled  # checkpoint time is not training time
            log.info("checkpoint step=%d: training waited %.3f s (%s save)", step, stalled, ckpt.mode())
        if (boundary_eval or boundary_ckpt) and stop.at_boundary():
            save(step, loss_sum, interval_since, interval_steps)
            ckpt.close()
            raise UserError(
                f"training stopped by SIGTERM at step {step}; checkpoint saved to {ckpt.directory}; "
                "restarting the job resumes from it"
            )
    ckpt.close()

    if val_loss is None:  # resumed at max_steps: nothing left to train, still report
        val_loss = evaluate(state["params"])
        metrics.update(step=step, val_loss=val_loss)
    say(f"final val_loss={val_loss:.4f}")
    board.scalars(step, {"eval/final_val_loss": val_loss})
    board.close()
    if is_main:
        # SageMaker uploads the first host's /opt/ml/model only; several writers would clash. The first host has a
        # whole copy on its own devices (host_params): the others neither gather nor write anything.
        export = jnp.bfloat16 if cfg.export_dtype == "bfloat16" else np.float32
        params_host = unstack_layers(host_params(state["params"], export), cfg.n_layers)
        write_model(paths.model, cfg, params_host, metrics)
        say(f"model written to {paths.model}")
    else:
        log.info("model written by the first host; this host (%d) writes none", jax.process_index())
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
