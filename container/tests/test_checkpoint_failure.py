"""A background checkpoint write that fails on one host fails the job on every host, with the failure file written.

The 4-host e2e run with a worker killed mid-training hung after one host's asynchronous write failed (its step's
.orbax-checkpoint-tmp directory vanished): that host never reached Orbax's background barriers and the others
waited for it. tests/faulty_train.py runs the real trainer with that failure injected on one host.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from conftest import TINY, child_env, devices_env, free_port, make_base

HERE = Path(__file__).resolve().parent
HOSTS = ["algo-1", "algo-2"]
HP = {**TINY, "max_steps": "30", "eval_every": "10", "checkpoint_every": "10"}


def test_a_failed_background_write_on_one_host_fails_every_host_with_the_reason(tmp_path, corpus):
    bases = [make_base(tmp_path / h, corpus, HP, hosts=HOSTS, current=h) for h in HOSTS]
    env = {
        "JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}",
        "JAXSM_INIT_TIMEOUT_S": "90",
        "JAXSM_ASYNC_CHECKPOINTS": "true",
        **devices_env(1),
    }
    procs = [
        subprocess.Popen(
            [sys.executable, str(HERE / "faulty_train.py")],
            env=child_env(base, **env, **({"FAULTY_CHECKPOINT_STEP": "10"} if host == "algo-2" else {})),
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for host, base in zip(HOSTS, bases, strict=True)
    ]
    try:
        # Before the fix this never returned (the healthy host waited for the failed one in Orbax's barrier).
        outs = [p.communicate(timeout=400)[0] for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for host, base, p, out in zip(HOSTS, bases, procs, outs, strict=True):
        assert p.returncode != 0, f"{host} exited 0:\n{out[-3000:]}"
        reason = (base / "output" / "failure").read_text()
        assert reason.startswith("checkpoint step 10 could not be written (host 1: FileNotFoundError:"), reason
        assert "vanished while step 10 was written" in reason and "the job stops" in reason
        # No commit record for the failed step: a restart resumes from an earlier step, never from this one.
        assert not list((base / "checkpoints").glob("*/10/jaxsm-host-*.json"))
