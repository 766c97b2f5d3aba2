"""Training throughput and model FLOPs utilisation (MFU) of the trainer's own step on this machine's devices.

Builds the step with `jaxsm.steps.build` (what `train` runs: the (data, fsdp) mesh, sharded AdamW
state, bf16/cuDNN attention defaults on GPU, remat and scan options), feeds it synthetic tokens,
and reports tokens/s and MFU. One process, every local device (FSDP over all of them).

  python bench/container/gpu_mfu.py                       # ~100M params on the GPU(s) of this machine
  python bench/container/gpu_mfu.py --config 1b --remat full --scan-layers
  python bench/container/gpu_mfu.py --smoke               # tiny config, CPU-friendly (seconds)
  python bench/container/gpu_mfu.py --plan --config 6b    # compile only: memory per device, no run

On a GPU machine (JAX with CUDA, e.g. the image built with JAX_VARIANT=cuda12):
`python bench/container/gpu_mfu.py --out bench/results/gpu-mfu.md` appends a row to that table.

FLOPs per token are model FLOPs (`ModelConfig.flops_per_token`: 6 x matmul parameters + causal
attention), not hardware FLOPs: recomputation under remat is not credited, as usual for MFU.
MFU = tokens/s x FLOPs per token / (peak x devices). Peak: dense bf16 without sparsity per
device, looked up from the device kind (A100 312, H100/H200 989 TFLOP/s) or --peak-tflops.

Prediction against measurement: before running, it prints what the step-time model of
bench/container/p4de_model.py predicts for this step on these devices (the compiled program's matmul
FLOPs per device, loops counted, at --gemm-efficiency of the peak; one device has no collectives), and
after timing it prints the measured step beside it and the gemm efficiency the measurement implies,
the number that replaces the model's assumption.

  python bench/container/gpu_mfu.py --config 100m                      # one GPU, ~100M parameters
  python bench/container/gpu_mfu.py --smoke --peak-tflops 1             # CPU: tiny config, runs the same path
"""

from __future__ import annotations

import argparse
import datetime
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "container"))

import jax  # noqa: E402
import jax.numpy as jnp  # noqa: E402
import numpy as np  # noqa: E402
from jaxsm import hlo_audit  # noqa: E402
from jaxsm import sharding as shd  # noqa: E402
from jaxsm.config import parse_hyperparameters  # noqa: E402
from jaxsm.model import ModelConfig  # noqa: E402
from jaxsm.steps import build, resolve_precision  # noqa: E402

CONFIGS = {
    "smoke": dict(n_layers=2, d_model=64, n_heads=2, seq_len=64, vocab_size=259, batch_size=8),
    # ~100M parameters, GPT-2-small shape, byte vocabulary padded to 384.
    "100m": dict(n_layers=12, d_model=768, n_heads=12, seq_len=1024, vocab_size=384, batch_size=32),
    # ~1.2B parameters (fits one 80 GB GPU with remat).
    "1b": dict(n_layers=24, d_model=2048, n_heads=16, seq_len=2048, vocab_size=384, batch_size=16),
    # ~6.4B parameters: the 4 x p4de configuration of container/README.md (32 GPUs, FSDP over 8 per host).
    "6b": dict(n_layers=32, d_model=4096, n_heads=32, seq_len=2048, vocab_size=384, batch_size=64),
}
# Dense bf16 TFLOP/s per device without sparsity (NVIDIA data sheets).
PEAK_TFLOPS = {"A100": 312.0, "H100": 989.0, "H200": 989.0, "H800": 989.0, "L40S": 362.0, "A10G": 125.0}


def size(n: float) -> str:
    return f"{n / 2**30:.2f}GiB" if n >= 2**30 else f"{n / 2**20:.1f}MiB"


def peak_for(kind: str, override: float | None) -> float | None:
    if override:
        return override
    return next((v for k, v in PEAK_TFLOPS.items() if k.lower() in kind.lower()), None)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--config", choices=sorted(CONFIGS), default="100m")
    ap.add_argument("--smoke", action="store_true", help="the tiny config, few steps (CPU smoke test)")
    ap.add_argument("--plan", action="store_true", help="compile only and print the memory per device")
    ap.add_argument("--steps", type=int, default=None, help="timed steps (default 30; smoke 3)")
    ap.add_argument("--warmup", type=int, default=2, help="untimed steps (the first compiles)")
    ap.add_argument("--batch-size", type=int, default=None, help="global batch (default: the config's)")
    ap.add_argument("--grad-accum", type=int, default=1)
    ap.add_argument("--bf16", choices=("auto", "true", "false"), default="auto")
    ap.add_argument("--attention", choices=("auto", "xla", "cudnn"), default="auto")
    ap.add_argument("--remat", choices=("none", "full", "dots"), default="none")
    ap.add_argument("--scan-layers", action="store_true")
    ap.add_argument("--fsdp", type=int, default=0, help="devices per FSDP group (0 = all local devices)")
    ap.add_argument("--peak-tflops", type=float, default=None, help="per-device peak (default: by device kind)")
    ap.add_argument("--gemm-efficiency", type=float, default=0.75, help="the p4de model's assumption (prediction)")
    ap.add_argument("--out", type=Path, default=None, help="append a result row to this markdown file")
    args = ap.parse_args()

    name = "smoke" if args.smoke else args.config
    shape = dict(CONFIGS[name])
    if args.batch_size:
        shape["batch_size"] = args.batch_size
    steps = args.steps or (3 if args.smoke else 30)
    hps = {
        **{k: str(v) for k, v in shape.items()},
        "grad_accum": str(args.grad_accum),
        "bf16": args.bf16,
        "attention": args.attention,
        "remat": args.remat,
        "scan_layers": str(args.scan_layers),
        "fsdp": str(args.fsdp),
        "max_steps": str(steps + args.warmup),
        "warmup_steps": "1",
    }
    cfg = parse_hyperparameters(hps)
    devices = jax.devices()
    mesh = shd.make_mesh(cfg.fsdp)
    precision = resolve_precision(cfg, jax.default_backend())
    training = build(cfg, mesh, precision)
    mcfg = ModelConfig.from_dict(cfg.model_dict())
    kind = devices[0].device_kind
    print(
        f"device={kind} x{len(devices)} backend={jax.default_backend()} mesh data={mesh.shape[shd.DATA]} "
        f"fsdp={mesh.shape[shd.FSDP]} {precision.describe()} remat={cfg.remat} scan_layers={cfg.scan_layers}"
    )
    print(
        f"config={name} params={mcfg.param_count() / 1e6:.1f}M layers={mcfg.n_layers} d_model={mcfg.d_model} "
        f"seq_len={mcfg.seq_len} batch={cfg.batch_size} grad_accum={cfg.grad_accum} "
        f"state_per_device={size(training.state_bytes_per_device())}"
    )
    compiled = training.compiled_train_step()
    mem = compiled.memory_analysis()
    if mem is not None:
        print(
            f"compiled step per device: arguments={size(mem.argument_size_in_bytes)} "
            f"temporaries={size(mem.temp_size_in_bytes)} outputs={size(mem.output_size_in_bytes)} "
            f"(aliased with arguments {size(mem.alias_size_in_bytes)})"
        )
    peak = peak_for(kind, args.peak_tflops)
    dot_flops = hlo_audit.parse(compiled.as_text(), len(devices)).dot_flops
    predicted = dot_flops / (peak * 1e12 * args.gemm_efficiency) if peak else None
    print(
        f"predicted: matmul_flops_per_device={dot_flops / 1e12:.3f}T step_time_ms="
        + (f"{1000 * predicted:.1f}" if predicted else "n/a (unknown peak; --peak-tflops)")
        + f" (gemm efficiency {args.gemm_efficiency:.2f} of peak, as bench/container/p4de_model.py assumes)"
    )
    if args.plan:
        return

    state = training.init_state()
    rng = np.random.default_rng(0)
    shape3 = (cfg.grad_accum, cfg.micro_batch_size, cfg.seq_len + 1)
    batches = [jax.device_put(rng.integers(0, 256, shape3, dtype=np.int32), training.batch_sharding) for _ in range(2)]
    zero = jax.device_put(np.float32(0.0), training.replicated)
    loss_sum = zero
    for i in range(args.warmup):
        state, loss_sum = training.train_step(state, batches[i % 2], jnp.int32(i), loss_sum)
    loss_sum.block_until_ready()
    loss_sum = zero
    t0 = time.perf_counter()
    for i in range(steps):
        state, loss_sum = training.train_step(state, batches[i % 2], jnp.int32(args.warmup + i), loss_sum)
    loss_sum.block_until_ready()
    elapsed = time.perf_counter() - t0

    tps = steps * cfg.batch_size * cfg.seq_len / elapsed
    flops_per_token = mcfg.flops_per_token()
    achieved = tps * flops_per_token
    mfu = f"{100 * achieved / (peak * 1e12 * len(devices)):.1f}%" if peak else "n/a (unknown peak; --peak-tflops)"
    print(
        f"steps={steps} step_time_ms={1000 * elapsed / steps:.1f} mean_loss={float(loss_sum) / steps:.3f} "
        f"flops_per_token={flops_per_token / 1e9:.3f}G"
    )
    print(f"tokens_per_sec={tps:.0f} achieved_tflops={achieved / 1e12:.2f} mfu={mfu}")
    step_s = elapsed / steps
    if peak:
        implied = dot_flops / (step_s * peak * 1e12)
        print(
            f"prediction vs measurement: predicted step_time_ms={1000 * predicted:.1f} measured "
            f"step_time_ms={1000 * step_s:.1f} (x{step_s / predicted:.2f}); implied gemm efficiency {implied:.2f} "
            f"(the model assumed {args.gemm_efficiency:.2f})"
        )
    if args.out:
        row = (
            f"| {datetime.date.today()} | {kind} x{len(devices)} | {name} ({mcfg.param_count() / 1e6:.0f}M) | "
            f"{cfg.batch_size}x{cfg.seq_len} | {precision.describe()} | remat={cfg.remat} scan={cfg.scan_layers} | "
            f"{tps:,.0f} | {mfu} |"
        )
        if not args.out.exists():
            args.out.write_text(
                "# Training MFU (bench/container/gpu_mfu.py)\n\n"
                "| date | devices | config | batch x seq | precision | memory options | tokens/s | MFU |\n"
                "|---|---|---|---|---|---|---:|---:|\n"
            )
        with args.out.open("a") as f:
            f.write(row + "\n")
        print(f"appended to {args.out}")


if __name__ == "__main__":
    main()
