"""bench/container/gpu_mfu.py runs the trainer's own step: its CPU smoke mode must keep working."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from conftest import devices_env

SCRIPT = Path(__file__).resolve().parents[2] / "bench" / "container" / "gpu_mfu.py"


def test_smoke_run_reports_throughput_on_a_sharded_mesh():
    env = {"JAX_PLATFORMS": "cpu", "PATH": "/usr/bin:/bin", **devices_env(2)}
    proc = subprocess.run(
        [sys.executable, SCRIPT, "--smoke", "--remat", "full", "--scan-layers", "--peak-tflops", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mesh data=1 fsdp=2" in proc.stdout and "remat=full scan_layers=True" in proc.stdout
    assert re.search(r"compiled step per device: arguments=", proc.stdout)
    found = re.search(r"tokens_per_sec=(\d+)", proc.stdout)
    assert found and float(found.group(1)) > 0, proc.stdout
    # The p4de model's prediction printed beside the measurement (what a GPU run compares).
    predicted = re.search(r"predicted step_time_ms=([0-9.]+) measured step_time_ms=([0-9.]+)", proc.stdout)
    assert predicted and float(predicted.group(1)) > 0 and float(predicted.group(2)) > 0, proc.stdout
