"""An ordinary JAX training script, as a team brings it to SageMaker (script mode).

Nothing in it knows about the container it runs in: SageMaker's training toolkit passes the
hyperparameters as command-line arguments and the paths as SM_* environment variables, and
`jax.distributed.initialize()` finds the job's hosts by itself. It trains data-parallel over every
device of every host, prints metrics as `name=value` lines for the job's MetricDefinitions, writes the same
values as TensorBoard event files (tensorboardX, no TensorFlow) to /opt/ml/output/tensorboard, which SageMaker
syncs to the job's TensorBoardOutputConfig.S3OutputPath, and saves the parameters with Orbax to /opt/ml/model.
"""

import argparse
import json
import os
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from jax.sharding import Mesh, NamedSharding
from jax.sharding import PartitionSpec as P
from model import ByteMLP, windows
from tensorboardX import SummaryWriter


def parse_args():
    p = argparse.ArgumentParser()
    p.add_argument("--steps", type=int, default=200)
    p.add_argument("--batch-size", type=int, default=64)  # global: split over every device of every host
    p.add_argument("--learning-rate", type=float, default=3e-3)
    p.add_argument("--context", type=int, default=8)
    p.add_argument("--eval-every", type=int, default=50)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--model-dir", default=os.environ.get("SM_MODEL_DIR", "/opt/ml/model"))
    p.add_argument("--train", default=os.environ.get("SM_CHANNEL_TRAIN", "/opt/ml/input/data/train"))
    p.add_argument("--val", default=os.environ.get("SM_CHANNEL_VAL", "/opt/ml/input/data/val"))
    # TensorBoardOutputConfig.LocalPath's default; the toolkit gives the output directory as SM_OUTPUT_DIR.
    p.add_argument(
        "--tensorboard-dir", default=os.path.join(os.environ.get("SM_OUTPUT_DIR", "/opt/ml/output"), "tensorboard")
    )
    return p.parse_args()


def read_channel(path):
    data = b"".join(f.read_bytes() for f in sorted(Path(path).rglob("*")) if f.is_file())
    return np.frombuffer(data, dtype=np.uint8).astype(np.int32)


def main():
    args = parse_args()
    jax.distributed.initialize()  # coordinator, process count and id come from the job
    main_host = jax.process_index() == 0
    mesh = Mesh(np.array(jax.devices()), ("data",))  # every device of every host
    replicated, sharded = NamedSharding(mesh, P()), NamedSharding(mesh, P("data"))
    if main_host:
        print(f"processes={jax.process_count()} devices={jax.device_count()}", flush=True)

    train, val = read_channel(args.train), read_channel(args.val)
    model = ByteMLP(context=args.context)
    tx = optax.adamw(optax.cosine_decay_schedule(args.learning_rate, args.steps, alpha=0.1), weight_decay=0.01)
    host_params = model.init(jax.random.key(args.seed), jnp.zeros((1, args.context), jnp.int32))["params"]

    def global_array(x, sharding):
        return jax.make_array_from_callback(x.shape, sharding, lambda index: np.asarray(x)[index])

    params = jax.tree.map(lambda x: global_array(x, replicated), host_params)
    opt_state = jax.jit(tx.init, out_shardings=replicated)(params)

    def loss_fn(params, x, y):
        logits = model.apply({"params": params}, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    @jax.jit
    def train_step(params, opt_state, x, y):
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)  # the mean spans every host: XLA all-reduces
        updates, opt_state = tx.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state, loss

    eval_loss = jax.jit(loss_fn)

    def batch(data, rng):
        # Every host draws the same global batch and keeps its own rows of it.
        starts = rng.integers(0, len(data) - args.context - 1, size=args.batch_size)
        rows = np.array_split(starts, jax.process_count())[jax.process_index()]
        x, y = windows(data, rows, args.context)
        shape = (args.batch_size,)
        return (
            jax.make_array_from_process_local_data(sharded, np.asarray(x), shape + (args.context,)),
            jax.make_array_from_process_local_data(sharded, np.asarray(y), shape),
        )

    val_batches = [batch(val, np.random.default_rng(10_000 + i)) for i in range(4)]
    # Only the first host writes event files: every host would otherwise upload the same curves to one S3 prefix.
    board = SummaryWriter(args.tensorboard_dir) if main_host else None
    schedule = optax.cosine_decay_schedule(args.learning_rate, args.steps, alpha=0.1)
    since, started = 0, time.perf_counter()
    for step in range(1, args.steps + 1):
        x, y = batch(train, np.random.default_rng([args.seed, step]))
        params, opt_state, loss = train_step(params, opt_state, x, y)
        if step % args.eval_every == 0 or step == args.steps:
            val_loss = float(np.mean([float(eval_loss(params, vx, vy)) for vx, vy in val_batches]))
            examples_per_sec = (step - since) * args.batch_size / (time.perf_counter() - started)
            since, started = step, time.perf_counter()
            if main_host:
                print(f"step={step} train_loss={float(loss):.4f} val_loss={val_loss:.4f}", flush=True)
                board.add_scalar("train/loss", float(loss), step)
                board.add_scalar("eval/val_loss", val_loss, step)
                board.add_scalar("train/learning_rate", float(schedule(step)), step)
                board.add_scalar("train/examples_per_sec", examples_per_sec, step)
                board.flush()
    if main_host:
        print(f"final val_loss={val_loss:.4f}", flush=True)
        board.add_scalar("eval/final_val_loss", val_loss, args.steps)
        board.close()

    # Every host takes part in the save (Orbax synchronises them); the first one writes.
    ocp.PyTreeCheckpointer().save(os.path.join(args.model_dir, "final"), jax.device_get(params))
    if main_host:
        with open(os.path.join(args.model_dir, "model.json"), "w") as f:
            json.dump({"context": args.context, "steps": args.steps, "val_loss": val_loss}, f)


if __name__ == "__main__":
    main()
