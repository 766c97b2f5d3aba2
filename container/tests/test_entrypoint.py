"""The image entrypoint's `train` supervision (docker/entrypoint.sh), run outside the image with stand-in trainers.

SIGTERM sent to the entrypoint (as tini passes it on) must reach the trainer at once; a trainer killed by it before
it could write its own reason gets one written for it; a trainer that takes longer than the grace period is killed
with a reason saying so; and exit codes and a trainer's own reason pass through untouched.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ENTRYPOINT = Path(__file__).resolve().parent.parent / "docker" / "entrypoint.sh"


def start(tmp_path: Path, trainer: str, **env: str) -> tuple[subprocess.Popen, Path]:
    """Runs `entrypoint.sh train` with `trainer` (Python source) as the `train` on PATH."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    train = bin_dir / "train"
    train.write_text(f"#!{sys.executable}\n{trainer}")
    train.chmod(0o755)
    base = tmp_path / "ml"
    proc = subprocess.Popen(
        ["sh", str(ENTRYPOINT), "train"],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SAGEMAKER_BASE_DIR": str(base), **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    return proc, base


def wait_started(base: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 30
    while not (base / "started").exists():
        assert proc.poll() is None, proc.communicate()[0]
        assert time.monotonic() < deadline, "the stand-in trainer never started"
        time.sleep(0.05)


STARTED = "import os, pathlib, signal, sys, time\nb = pathlib.Path(os.environ['SAGEMAKER_BASE_DIR'])\n"
MARK = "b.mkdir(parents=True, exist_ok=True); (b / 'started').write_text('1')\n"


def test_sigterm_during_startup_kills_the_trainer_at_once_and_writes_the_reason(tmp_path):
    # No handler yet (still "importing"): the default action of SIGTERM ends it.
    proc, base = start(tmp_path, STARTED + MARK + "time.sleep(60)\n")
    wait_started(base, proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=20)
    assert time.monotonic() - t0 < 10
    assert proc.returncode == 128 + signal.SIGTERM
    reason = (base / "output" / "failure").read_text()
    assert reason.startswith("training was stopped by SIGTERM during start-up"), reason
    assert "ERROR: training was stopped by SIGTERM" in out


def test_a_trainer_with_its_own_handler_keeps_its_reason_and_exit_code(tmp_path):
    trainer = (
        STARTED
        + "def stop(*_):\n"
        + "    (b / 'output').mkdir(parents=True, exist_ok=True)\n"
        + "    (b / 'output' / 'failure').write_text('training stopped by SIGTERM at step 7; checkpoint saved')\n"
        + "    sys.exit(1)\n"
        + "signal.signal(signal.SIGTERM, stop)\n"
        + MARK
        + "time.sleep(60)\n"
    )
    proc, base = start(tmp_path, trainer)
    wait_started(base, proc)
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=20)
    assert proc.returncode == 1
    assert (base / "output" / "failure").read_text() == "training stopped by SIGTERM at step 7; checkpoint saved"


def test_a_trainer_that_does_not_stop_within_the_grace_period_is_killed(tmp_path):
    trainer = STARTED + "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n" + MARK + "time.sleep(60)\n"
    proc, base = start(tmp_path, trainer, JAXSM_STOP_GRACE_S="2")
    wait_started(base, proc)
    t0 = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.communicate(timeout=30)
    assert 1.5 < time.monotonic() - t0 < 15
    assert proc.returncode == 128 + signal.SIGKILL
    assert (base / "output" / "failure").read_text().strip() == (
        "training did not stop within 2 s of SIGTERM and was killed"
    )


@pytest.mark.parametrize("code", [0, 3])
def test_exit_codes_pass_through_and_nothing_is_written_on_a_normal_exit(tmp_path, code):
    proc, base = start(tmp_path, STARTED + f"sys.exit({code})\n")
    proc.communicate(timeout=20)
    assert proc.returncode == code
    assert not (base / "output" / "failure").exists()


def test_arguments_reach_the_trainer(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (bin_dir / "train").write_text('#!/bin/sh\necho "args: $*"\n')
    (bin_dir / "train").chmod(0o755)
    out = subprocess.run(
        ["sh", str(ENTRYPOINT), "train", "--flag", "two words"],
        env={**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}", "SAGEMAKER_BASE_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=20,
    )
    assert out.returncode == 0 and out.stdout.strip() == "args: --flag two words"
