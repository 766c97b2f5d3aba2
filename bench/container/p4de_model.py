"""Step-time and MFU model of the 6.45 B recipe on 1, 2 and 4 x ml.p4de.24xlarge, from the compiled train step.

  python bench/container/p4de_model.py [--out bench/results/p4de-model.md] [--gemm-efficiency 0.75] [--quick]

For 1, 2 and 4 nodes it compiles the trainer's step (jaxsm.step_audit: jaxsm.steps.build on 8, 16, 32 simulated CPU
devices, mesh data=nodes x fsdp=8) at full size (d_model 4096, 32 layers, seq_len 2048: the layer scan compiles one
layer whatever the depth, so the full model compiles in seconds), reads from the optimized HLO the matmul FLOPs per
device (loops counted by their trip counts) and the bytes of every collective per device, in-host or cross-host,
and turns them into a step time with the published figures of HARDWARE:

  compute   = matmul FLOPs per device / (312 TFLOP/s x gemm efficiency)
  in-host   = bytes each GPU sends in in-host collectives / NVLink one-way bandwidth (300 GB/s)
  cross-host= bytes each GPU sends in cross-host collectives / its share of EFA (4 x 100 Gbps / 8 GPUs)
  step      = before: compute + in-host + cross-host (no overlap: no latency-hiding flags were set)
              after:  max(compute, in-host) + cross-host (the latency-hiding scheduler overlaps the per-layer FSDP
                      gathers and reduce-scatters with the layers' matmuls; the one gradient all-reduce runs after
                      the last micro-batch, when nothing is left to overlap it with, so it is counted in full)
  MFU       = model FLOPs per device (6 x matmul parameters + causal attention per token, ModelConfig) / (step x peak)

Bytes crossing hosts are counted in the dtype the program JAX hands XLA reduces in (bf16 after, f32 before):
XLA:CPU rewrites bf16 all-reduces to f32, XLA:GPU (NCCL) keeps them. Ring algorithms: an all-reduce over n sends
2(n-1)/n of the buffer per device, an all-gather (n-1)/n. "gemm efficiency" is an assumption, not a published
figure: the share of the dense bf16 peak that the step's matmuls (and the elementwise work between them, which
is not counted separately) sustain; bench/container/gpu_mfu.py measures it on a GPU and prints it beside this
prediction. Per GPU the micro-batch is 2 sequences of 2048 tokens, as in the recipe (batch_size = 16 x nodes x
grad_accum).
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "container"))

from jaxsm.model import ModelConfig  # noqa: E402

PER_HOST = 8
HARDWARE = [
    # (name, value, unit, source)
    (
        "A100 dense bf16 peak",
        312e12,
        "FLOP/s per GPU",
        "NVIDIA A100 Tensor Core GPU datasheet (https://www.nvidia.com/en-us/data-center/a100/): BF16 Tensor Core "
        "312 TFLOPS (624 with sparsity)",
    ),
    (
        "NVLink (NVSwitch) per GPU",
        600e9,
        "B/s, both directions",
        "same datasheet: NVLink 600 GB/s per GPU (third-generation NVLink, 12 links); one direction 300 GB/s",
    ),
    (
        "EFA per p4de node",
        4 * 100e9 / 8,
        "B/s (4 x 100 Gbps)",
        "Amazon EC2 P4 instances (https://aws.amazon.com/ec2/instance-types/p4/): p4de.24xlarge, 400 Gbps EFA "
        "(4 x 100 Gbps), 8 x A100 80 GB",
    ),
]
PEAK = HARDWARE[0][1]
NVLINK_ONE_WAY = HARDWARE[1][1] / 2
EFA_PER_GPU = HARDWARE[2][1] / PER_HOST

FULL = {"n_layers": 32, "d_model": 4096, "n_heads": 32, "seq_len": 2048, "vocab_size": 384}
QUICK = {"n_layers": 2, "d_model": 256, "n_heads": 4, "seq_len": 128, "vocab_size": 384}
MICRO_PER_GPU = 2  # sequences per GPU per micro-batch (the recipe: 64 sequences over 32 GPUs)


def variants(ga_list: list[int]) -> list[tuple[str, dict]]:
    rows = []
    for ga in ga_list:
        rows.append((f"before, grad_accum={ga}", {"grad_accum": ga, "legacy": True}))
        if ga > 1:  # the intermediate row: one reduction per step, still fp32 (what bf16 adds is the next row)
            rows.append(
                (f"one reduction per step, fp32, grad_accum={ga}", {"grad_accum": ga, "grad_reduce_dtype": "float32"})
            )
        rows.append((f"after: + bf16 reduction, grad_accum={ga}", {"grad_accum": ga}))
    return rows


def compile_cases(nodes: int, shape: dict, cases: list[dict]) -> list[dict]:
    devices = nodes * PER_HOST
    args = [sys.executable, "-m", "jaxsm.step_audit", "--devices", str(devices), "--per-host", str(PER_HOST)]
    for case in cases:
        batch = MICRO_PER_GPU * devices * case["grad_accum"]
        args += ["--case", json.dumps({**shape, **case, "batch_size": batch})]
    proc = subprocess.run(args, capture_output=True, text=True, cwd=ROOT / "container", timeout=3600)
    if proc.returncode:
        raise SystemExit(f"step_audit failed on {devices} devices:\n{proc.stderr[-3000:]}")
    return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]


def predict(audit: dict, legacy: bool, reduce_bytes: int, gemm_efficiency: float) -> dict:
    in_host = sum(c["runs"] * c["sent_per_device"] for c in audit["collectives"] if not c["cross_host"])
    cross = 0.0
    for c in audit["collectives"]:
        if c["cross_host"]:
            width = max(1, c["bytes"] // max(1, c["elements"]))  # the HLO's own dtype (f32 on a CPU compile)
            cross += c["runs"] * c["sent_per_device"] * (reduce_bytes / width if c["elements"] > 8 else 1)
    t_compute = audit["dot_flops"] / (PEAK * gemm_efficiency)
    t_in = in_host / NVLINK_ONE_WAY
    t_cross = cross / EFA_PER_GPU
    step = t_compute + t_in + t_cross if legacy else max(t_compute, t_in) + t_cross
    case = audit["case"]
    mcfg = ModelConfig.from_dict({"mlp_ratio": 4, **case})
    tokens_per_device = case["batch_size"] * case["seq_len"] / audit["devices"]
    model_flops = mcfg.flops_per_token() * tokens_per_device
    return {
        "compute_s": t_compute,
        "in_host_gb": in_host / 1e9,
        "in_host_s": t_in,
        "cross_gb": cross / 1e9,
        "cross_s": t_cross,
        "step_s": step,
        "mfu": model_flops / (step * PEAK),
        "cross_runs": sum(c["runs"] for c in audit["collectives"] if c["cross_host"] and c["elements"] > 8),
        "temp_gib": audit["memory"].get("temp", 0) / 2**30,
        "args_gib": audit["memory"].get("argument", 0) / 2**30,
        "tokens_per_s": case["batch_size"] * case["seq_len"] / step,
    }


def table(results: list[tuple[int, str, dict, dict]]) -> str:
    head = (
        "| nodes (GPUs) | step | cross-host reductions / step | GB sent per GPU over EFA | EFA s | NVLink GB / s | "
        "compute s | predicted step s | tokens/s | **MFU** |\n|---|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    rows = []
    for nodes, label, p, _ in results:
        rows.append(
            f"| {nodes} ({nodes * PER_HOST}) | {label} | {p['cross_runs']} | {p['cross_gb']:.2f} | "
            f"{p['cross_s']:.3f} | "
            f"{p['in_host_gb']:.1f} / {p['in_host_s']:.3f} | {p['compute_s']:.3f} | {p['step_s']:.3f} | "
            f"{p['tokens_per_s']:,.0f} | **{100 * p['mfu']:.1f} %** |"
        )
    return head + "\n".join(rows) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", type=Path, default=None, help="write the markdown table here")
    ap.add_argument("--gemm-efficiency", type=float, default=0.75, help="share of peak the matmuls sustain")
    ap.add_argument("--nodes", default="1,2,4")
    ap.add_argument("--grad-accum", default="1,4")
    ap.add_argument("--quick", action="store_true", help="a tiny model (smoke test of this script)")
    args = ap.parse_args()
    shape = QUICK if args.quick else FULL
    nodes_list = [int(n) for n in args.nodes.split(",")]
    ga_list = [int(g) for g in args.grad_accum.split(",")]
    rows = variants(ga_list)
    results = []
    for nodes in nodes_list:
        print(
            f"[p4de-model] compiling {len(rows)} variants of the step for {nodes} node(s) = {nodes * PER_HOST} devices"
        )
        audits = compile_cases(
            nodes, {**shape, "remat": "full", "scan_layers": True, "bf16": True}, [c for _, c in rows]
        )
        for (label, case), audit in zip(rows, audits, strict=True):
            legacy = bool(case.get("legacy"))
            reduce_bytes = 4 if legacy or case.get("grad_reduce_dtype") == "float32" else 2
            p = predict(audit, legacy, reduce_bytes, args.gemm_efficiency)
            results.append((nodes, label, p, audit))
            print(
                f"nodes={nodes} {label}: step={p['step_s']:.3f}s mfu={100 * p['mfu']:.1f}% "
                f"cross_host={p['cross_gb']:.2f}GB x{p['cross_runs']} compute={p['compute_s']:.3f}s "
                f"temp={p['temp_gib']:.1f}GiB"
            )
    text = table(results)
    print(text)
    final = [p for n, label, p, _ in results if n == max(nodes_list) and label.startswith("after")]
    best = max(p["mfu"] for p in final) if final else 0.0
    print(f"predicted MFU at {max(nodes_list)} nodes (after): best {100 * best:.1f} % (bar 45 %)")
    if args.out:
        write_markdown(args.out, text, results, args, shape)
        print(f"wrote {args.out}")


def write_markdown(out: Path, text: str, results: list, args: argparse.Namespace, shape: dict) -> None:
    hw = "\n".join(f"| {name} | {value:.4g} {unit} | {source} |" for name, value, unit, source in HARDWARE)
    audit = results[0][3]
    params = audit["param_elements"]
    mem = "\n".join(f"| {n} | {label} | {p['args_gib']:.2f} | {p['temp_gib']:.2f} |" for n, label, p, _ in results)
    out.write_text(
        f"""# 6.45 B recipe on p4de: predicted step time and MFU

Written by `npm run bench -- p4de-model` (bench/container/p4de_model.py) from the train step compiled by XLA for
8, 16 and 32 simulated CPU devices (mesh data = nodes x fsdp = 8), model `{json.dumps(shape)}` ({params / 1e9:.2f} B
parameters), remat=full, scan_layers, bf16 compute, 2 sequences of {shape["seq_len"]} tokens per GPU per micro-batch.
"before" is the step as it was before issue 22 (`build(..., legacy_reduction=True)`: the gradient accumulator pinned
to the parameters' layout, so every micro-batch's gradient is all-reduced across hosts, in fp32) with no overlap
flags; "after" is today's step (one gradient all-reduce per optimizer step in `grad_reduce_dtype`, bf16 by default
with bf16 compute) with the image's latency-hiding scheduler flags.

Hardware figures:

| figure | value | source |
|---|---|---|
{hw}

Assumptions (stated, not measured): matmuls sustain **{100 * args.gemm_efficiency:.0f} % of the bf16 peak**
(`--gemm-efficiency`; replace it with what `bench/container/gpu_mfu.py` measures on one A100); ring all-reduce
and all-gather; each GPU gets 1/8 of its node's EFA bandwidth and 300 GB/s of NVLink one way; no latency term.
**Overlap**: before, nothing overlaps (compute + NVLink + EFA). After, the per-layer FSDP all-gathers and gradient
reductions on NVLink are hidden behind the matmuls (XLA's latency-hiding scheduler, now an image default:
`max(compute, NVLink)`), and the one cross-host gradient all-reduce, which runs after the last micro-batch, is not
overlapped at all (added in full). The FLOPs are the compiled program's matmul FLOPs per device (remat=full
recomputes each block's forward: about 8 x parameters x tokens); MFU counts model FLOPs only (6 x matmul
parameters + causal attention per token).

{text}
Compiled memory per device (XLA's buffer assignment on the CPU; the GPU's cuDNN attention needs less than XLA's):

| nodes | step | arguments GiB | temporaries GiB |
|---|---|---:|---:|
{mem}

Reading it: before the change, grad_accum multiplies the cross-host traffic (one fp32 all-reduce per micro-batch),
so accumulating micro-batches never amortises the EFA time. After it, a step sends each GPU's gradient shard over
EFA once, in bf16 (half the bytes), whatever grad_accum is, so grad_accum=4 (batch 256 x 2048 = 0.5 M tokens per
step on 4 nodes) spends {_share(results, 4)} of the step on EFA.
"""
    )


def _share(results: list, ga: int) -> str:
    rows = [p for n, label, p, _ in results if label == f"after: + bf16 reduction, grad_accum={ga}"]
    if not rows:
        return "little"
    p = rows[-1]
    return f"{100 * p['cross_s'] / p['step_s']:.0f} %"


if __name__ == "__main__":
    main()
