"""Training throughput and model FLOPs utilisation (MFU) of the jaxsm LM on one accelerator.

For a device machine (JAX/Flax/Optax preinstalled, no internet): trains the ~100M-parameter
config for a fixed number of steps with the trainer's own jitted step (AdamW, bf16 compute)
on synthetic tokens and prints tokens/sec and MFU.

  python bench/container/gpu_mfu.py                 # ~100M params, bf16, cuDNN attention
  python bench/container/gpu_mfu.py --tiny          # CPU smoke test (seconds)

FLOPs per token = 6 * N_matmul + 6 * n_layers * seq_len * d_model  (forward + backward;
N_matmul = parameters excluding the position table, the tied output projection counted once;
causal attention scores+values at half of the dense 12*T*d per layer). MFU = achieved FLOP/s /
peak. Peak assumption: dense bf16 without sparsity, 989 TFLOP/s for H100 SXM (also used for
H200, which has the same compute); override with --peak-tflops.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "container"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jax.sharding import Mesh  # noqa: E402

from jaxsm.config import parse_hyperparameters  # noqa: E402
from jaxsm.model import ModelConfig, build_model, init_params  # noqa: E402
from jaxsm.train import _global, make_optimizer, make_steps  # noqa: E402

CONFIGS = {
    # ~100M parameters (85M in blocks + embeddings), GPT-2-small shape, byte vocab padded to 384.
    "100m": dict(n_layers=12, d_model=768, n_heads=12, seq_len=1024, vocab_size=384, batch_size=32),
    "tiny": dict(n_layers=1, d_model=64, n_heads=2, seq_len=64, vocab_size=259, batch_size=4),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tiny", action="store_true", help="tiny config for a CPU smoke test")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 50, tiny: 5)")
    ap.add_argument("--warmup", type=int, default=3, help="untimed steps (compilation)")
    ap.add_argument("--batch-size", type=int, default=None)
    ap.add_argument("--no-bf16", action="store_true")
    ap.add_argument("--attention", default=None, help="jax.nn.dot_product_attention implementation (default: cudnn on GPU)")
    ap.add_argument("--peak-tflops", type=float, default=989.0, help="per-device peak (H100 SXM dense bf16 = 989)")
    args = ap.parse_args()

    shape = dict(CONFIGS["tiny" if args.tiny else "100m"])
    if args.batch_size:
        shape["batch_size"] = args.batch_size
    steps = args.steps or (5 if args.tiny else 50)
    bf16 = not args.no_bf16
    hps = {**{k: str(v) for k, v in shape.items()}, "bf16": str(bf16), "max_steps": str(steps + args.warmup),
           "warmup_steps": "1"}
    cfg = parse_hyperparameters(hps)
    backend = jax.default_backend()
    attention = args.attention or ("cudnn" if backend == "gpu" and bf16 else None)

    devices = jax.devices()
    mesh = Mesh(np.array(devices), ("data",))
    mcfg = ModelConfig.from_dict(cfg.model_dict())
    model = build_model(mcfg, dtype=jnp.bfloat16 if bf16 else jnp.float32, attention_impl=attention)
    tx, _ = make_optimizer(cfg)
    train_step, _, repl, batch_sharding, _ = make_steps(model, tx, cfg, mesh)
    params_host = jax.device_get(init_params(model, 0))
    params = _global(params_host, repl)
    opt_state = _global(jax.device_get(tx.init(params_host)), repl)

    rng = np.random.default_rng(0)
    batches = [
        jax.device_put(rng.integers(0, 256, (cfg.grad_accum, cfg.micro_batch_size, cfg.seq_len + 1), dtype=np.int32),
                       batch_sharding)
        for _ in range(2)
    ]
    for i in range(args.warmup):
        params, opt_state, loss = train_step(params, opt_state, batches[i % 2], jnp.int32(i))
    loss.block_until_ready()
    t0 = time.perf_counter()
    for i in range(steps):
        params, opt_state, loss = train_step(params, opt_state, batches[i % 2], jnp.int32(args.warmup + i))
    loss.block_until_ready()
    elapsed = time.perf_counter() - t0

    tokens = steps * cfg.batch_size * cfg.seq_len
    tps = tokens / elapsed
    flops_per_token = mcfg.flops_per_token()
    achieved = tps * flops_per_token
    peak = args.peak_tflops * 1e12 * len(devices)
    print(f"device={devices[0].device_kind} x{len(devices)} backend={backend} attention={attention or 'xla'} bf16={bf16}")
    print(f"params={mcfg.param_count() / 1e6:.1f}M layers={mcfg.n_layers} d_model={mcfg.d_model} "
          f"seq_len={mcfg.seq_len} batch={cfg.batch_size} steps={steps} loss={float(loss):.3f}")
    print(f"flops_per_token={flops_per_token / 1e9:.3f}G step_time_ms={1000 * elapsed / steps:.1f}")
    print(f"tokens_per_sec={tps:.0f} achieved_tflops={achieved / 1e12:.2f} "
          f"mfu={100 * achieved / peak:.1f}% (peak {args.peak_tflops:.0f} TFLOP/s per device, assumed)")


if __name__ == "__main__":
    main()
