"""Training tokens/sec on CPU through the real `train` entry (toolkit + trainer).

Runs a few configs on the demo corpus (`prepare --source builtin`) in a temp
SAGEMAKER_BASE_DIR and reads `tokens_per_sec` from the trainer's own metric lines (excluding
the compiling first step). Writes bench/results/train-cpu.md.

  container/.venv/bin/python bench/container/train_cpu.py [--steps 60]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
BIN = ROOT / "container" / ".venv" / "bin"
# (name, hyperparameters, virtual CPU devices)
CONFIGS = [
    ("default (2x128, seq 128, batch 16)", {}, 1),
    ("default, bf16", {"bf16": "true"}, 1),
    ("default, grad_accum 4 (batch 16)", {"grad_accum": "4"}, 1),
    ("default, scan_layers + remat full", {"scan_layers": "true", "remat": "full"}, 1),
    ("default, 2 virtual devices (fsdp 2)", {}, 2),
    ("4x256, seq 256, batch 16", {"n_layers": "4", "d_model": "256", "n_heads": "8", "seq_len": "256"}, 1),
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=60)
    ap.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "train-cpu.md")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-train-"))
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(tmp / "prep"), "JAX_PLATFORMS": "cpu"}
    subprocess.run([BIN / "prepare", "--source", "builtin"], env=env, check=True, capture_output=True)
    rows = []
    for name, hps, devices in CONFIGS:
        base = tmp / f"run{len(rows)}"
        (base / "input" / "config").mkdir(parents=True)
        for ch in ("train", "val"):
            shutil.copytree(tmp / "prep" / "processing" / "output" / ch, base / "input" / "data" / ch)
        full = {
            "max_steps": str(args.steps),
            "eval_every": str(args.steps // 2),
            "checkpoint_every": str(args.steps),
            "warmup_steps": "5",
            **hps,
        }
        (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(full))
        run_env = {**env, "SAGEMAKER_BASE_DIR": str(base)}
        if devices > 1:
            run_env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
        load_before = os.getloadavg()[0]
        t0 = time.perf_counter()
        proc = subprocess.run([BIN / "train"], env=run_env, capture_output=True, text=True)
        wall = time.perf_counter() - t0
        load = f"{load_before:.1f} / {os.getloadavg()[0]:.1f}"
        if proc.returncode:
            sys.exit(proc.stdout + proc.stderr)
        tps = [float(x) for x in re.findall(r"tokens_per_sec=([0-9.]+)", proc.stdout)]
        params = re.search(r"params=(\d+)", proc.stdout).group(1)
        val = re.search(r"final val_loss=([0-9.]+)", proc.stdout).group(1)
        rows.append((name, int(params), tps[-1], wall, val, load))
        print(
            f"{name}: params={params} tokens/s={tps[-1]:.0f} wall={wall:.1f}s final val_loss={val} load={load}",
            flush=True,
        )
    lines = [
        "# Training throughput on CPU",
        "",
        f"`container/.venv/bin/python bench/container/train_cpu.py --steps {args.steps}`: the real `train` entry "
        "(sagemaker-training toolkit + jaxsm trainer), demo corpus from `prepare --source builtin`, one process, "
        f"{os.cpu_count()} CPU cores ({platform.processor() or platform.machine()}), shared with other jobs: "
        "the load column is the 1-minute load average before / after each run (more than the core count means "
        "the trainer got a fraction of the CPU, and the numbers are lower bounds). "
        "tokens/s is the trainer's own `tokens_per_sec` for the second half of the run (compilation excluded); "
        "wall includes process start, compilation, eval and checkpoints. The virtual-device row splits the same "
        "2 cores into 2 XLA CPU devices (the mesh and FSDP code path, not a speed-up).",
        "",
        "| config | params | tokens/s | wall (s) | final val_loss | load avg |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    lines += [f"| {n} | {p:,} | {t:,.0f} | {w:.1f} | {v} | {ld} |" for n, p, t, w, v, ld in rows]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text("\n".join(lines) + "\n")
    shutil.rmtree(tmp, ignore_errors=True)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
