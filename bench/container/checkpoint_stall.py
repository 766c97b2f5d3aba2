"""How long a checkpoint save stops training, synchronous against asynchronous saves, measured by the CPU trainer.

  container/.venv/bin/python bench/container/checkpoint_stall.py [--model-hps n_layers=4,d_model=256] [--saves 6]

Runs the real trainer (one host, CPU) twice on the built-in corpus, with JAXSM_ASYNC_CHECKPOINTS=false and =true,
saving every --every steps, and reads its log line `checkpoint step=N: training waited S s`: the time from the save's
start until training goes on. Synchronous: the whole write. Asynchronous: the copy of the state to host memory, plus
any wait for the previous save's background write still running. The last save (at max_steps) is left out: the end
of training waits for it anyway. Writes bench/results/<--name>.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import serving_bench as sb

ROOT = sb.ROOT
WAITED = re.compile(r"checkpoint step=(\d+): training waited ([0-9.]+) s \((\w+) save\)")


def run(base: Path, hps: dict[str, str], asynchronous: bool) -> tuple[list[float], int]:
    """The stalls of every save but the last, and the size of one step's files in bytes."""
    shutil.rmtree(base / "checkpoints", ignore_errors=True)
    (base / "input" / "config" / "hyperparameters.json").write_text(json.dumps(hps))
    env = {
        **os.environ,
        "SAGEMAKER_BASE_DIR": str(base),
        "JAX_PLATFORMS": "cpu",
        "JAXSM_ASYNC_CHECKPOINTS": "true" if asynchronous else "false",
    }
    proc = subprocess.run([sb.OURS_BIN / "train"], env=env, capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"train failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    found = [(int(m[1]), float(m[2])) for m in WAITED.finditer(proc.stdout + proc.stderr)]
    last = int(hps["max_steps"])
    steps = sorted((base / "checkpoints").glob("*/[0-9]*"))
    size = sum(f.stat().st_size for f in steps[-1].rglob("*") if f.is_file()) if steps else 0
    return [s for step, s in found if step != last], size


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model-hps", default="n_layers=4,d_model=256,n_heads=4,seq_len=128,batch_size=8")
    ap.add_argument("--every", type=int, default=10, help="checkpoint_every")
    ap.add_argument("--saves", type=int, default=6, help="saves measured per mode (plus the final one)")
    ap.add_argument("--name", default="checkpoint-stall", help="writes bench/results/<name>.md")
    args = ap.parse_args()
    model_hps = dict(kv.split("=", 1) for kv in args.model_hps.split(",") if kv)
    max_steps = args.every * (args.saves + 1)
    hps = {
        **model_hps,
        "max_steps": str(max_steps),
        "warmup_steps": "2",
        "eval_every": str(max_steps),
        "eval_batches": "1",
        "checkpoint_every": str(args.every),
        "keep_checkpoints": "2",
    }
    tmp = Path(tempfile.mkdtemp(prefix="jaxsm-bench-ckpt-stall-"))
    base = tmp / "train"
    env = {**os.environ, "SAGEMAKER_BASE_DIR": str(base), "JAX_PLATFORMS": "cpu"}
    subprocess.run([sb.OURS_BIN / "prepare", "--source", "builtin"], env=env, check=True, capture_output=True)
    for ch in ("train", "val"):
        shutil.copytree(base / "processing" / "output" / ch, base / "input" / "data" / ch)
    (base / "input" / "config").mkdir(parents=True, exist_ok=True)
    load_start = sb.loadavg()
    results = {}
    try:
        for asynchronous in (False, True):
            results["asynchronous" if asynchronous else "synchronous"] = run(base, hps, asynchronous)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    load_end = sb.loadavg()
    cmd = sb.command_line("checkpoint_stall.py")
    size = max(s for _, s in results.values())
    lines = [
        "# Checkpoint save: how long training waits, synchronous against asynchronous",
        "",
        f"`{cmd}`",
        "",
        f"{os.cpu_count()} cores ({platform.machine()}), CPU, one host; load average {load_start} at the start, "
        f"{load_end} at the end. Model {model_hps}; a checkpoint every {args.every} steps, {max_steps} steps; one "
        f"step's files: {size / 2**20:.1f} MiB (parameters and Adam state, fp32, zstd). The final save is left out "
        "(the end of training waits for it in both modes).",
        "",
        "| saves | measured | median s | min s | max s |",
        "|---|---:|---:|---:|---:|",
    ]
    for mode, (stalls, _) in results.items():
        lines.append(
            f"| {mode} | {len(stalls)} | {statistics.median(stalls):.3f} | {min(stalls):.3f} | {max(stalls):.3f} |"
        )
    sb.write_results(args.name, lines)


if __name__ == "__main__":
    main()
