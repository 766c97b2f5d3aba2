"""Asynchronous checkpoints on two real trainer processes (per-host storage, as on SageMaker).

The e2e run with a worker killed mid-training hung after one host's asynchronous write failed (its step's
.orbax-checkpoint-tmp directory vanished): that host never reached Orbax's background barriers and the others
waited for it. Why it vanished: the slower host's writers were started by the other host's "directories created"
signal and Orbax then deleted the directory they had made (see jaxsm/checkpoint.py). tests/faulty_train.py runs the
real trainer with a fault injected on one host: the vanished directory, a failed final rename, a slow host.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TINY, child_env, devices_env, free_port, make_base

HERE = Path(__file__).resolve().parent
HOSTS = ["algo-1", "algo-2"]
HP = {**TINY, "max_steps": "30", "eval_every": "10", "checkpoint_every": "10"}


def run_with_fault(
    tmp_path: Path, corpus: Path, fault: dict[str, str], succeeds: bool = False
) -> list[tuple[Path, str]]:
    """Both hosts train with asynchronous saves (the default); `fault` is set on algo-2 only. Returns each host's
    base directory and output once both exited (non-zero, or zero when `succeeds`)."""
    bases = [make_base(tmp_path / h, corpus, HP, hosts=HOSTS, current=h) for h in HOSTS]
    env = {
        "JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "JAXSM_INIT_TIMEOUT_S": "90",
        **devices_env(1),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "faulty_train.py")],
            env=child_env(base, **env, **(fault if host == "algo-2" else {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for host, base in zip(HOSTS, bases, strict=True)
    ]
    try:
        # Before the fixes this never returned (the healthy host waited for the failed one in Orbax's barrier).
        outs = [p.communicate(timeout=400)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for host, p, out in zip(HOSTS, procs, outs, strict=True):
        assert (p.returncode == 0) == succeeds, f"{host} exited {p.returncode}:\n{out[-3000:]}"
    return list(zip(bases, outs, strict=True))


def test_a_failed_background_write_on_one_host_fails_every_host_with_the_reason(tmp_path, corpus):
    for base, _ in run_with_fault(tmp_path, corpus, {"FAULTY_CHECKPOINT_STEP": "10"}):
        reason = (base / "output" / "failure").read_text()
        assert reason.startswith("checkpoint step 10 could not be written (host 1: FileNotFoundError:"), reason
        assert "vanished while step 10 was written" in reason and "the job stops" in reason
        # No commit record for the failed step: a restart resumes from an earlier step, never from this one.
        assert not list((base / "checkpoints").glob("*/10/jaxsm-host-*.json"))


def test_a_failed_final_rename_on_one_host_fails_every_host_with_the_reason(tmp_path, corpus):
    """Every file of step 10 is written, but one host's rename of 10.orbax-checkpoint-tmp to 10 fails: that host's
    background thread stopped before the barrier after the commit, where the other host waited (20 minutes)."""
    for base, _ in run_with_fault(tmp_path, corpus, {"FAULTY_CHECKPOINT_RENAME_STEP": "10"}):
        reason = (base / "output" / "failure").read_text()
        assert reason.startswith(
            "checkpoint step 10 could not be written (host 1: commit of 10.orbax-checkpoint-tmp failed: "
            "PermissionError: rename of"
        ), reason
        assert not list((base / "checkpoints").glob("*/10/jaxsm-host-*.json"))


def arrays(step_dir: Path) -> set[str]:
    """The arrays whose zarr metadata is in a committed step (every host writes it for every array)."""
    return {p.parent.name for p in (step_dir / "default").glob("*/.zarray")}


def test_a_host_slow_to_create_its_checkpoint_directories_keeps_every_file_it_wrote(tmp_path, corpus):
    """algo-2 creates its temporary directories 3 s late. Before the fix its writers started anyway (released by
    algo-1's signal), made the directories themselves, and Orbax then deleted them, files and all ("Attempted to create
    temporary directory ... which already exists. Removing existing directory"): the step failed, or was committed on
    that host without the arrays it had written."""
    results = run_with_fault(tmp_path, corpus, {"FAULTY_SLOW_CHECKPOINT_DIRS": "3"}, succeeds=True)
    steps = {}
    for i, (base, out) in enumerate(results):
        assert "which already exists" not in out, out[-3000:]
        (fingerprint,) = [d for d in (base / "checkpoints").iterdir() if not d.name.startswith(".")]
        committed = sorted(int(d.name) for d in fingerprint.iterdir() if d.name.isdigit())
        assert committed == [20, 30], committed  # keep_checkpoints=2 of 10, 20, 30
        steps[base.name] = {step: arrays(fingerprint / str(step)) for step in committed}
        for step in committed:  # this host's commit record (the other host's is on its own disk)
            assert (fingerprint / str(step) / f"jaxsm-host-{i}-of-2.json").is_file()
    first, second = steps.values()
    assert first == second and all(first.values()), steps
