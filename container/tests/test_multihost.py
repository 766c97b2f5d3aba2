"""Two hosts on one machine: two `train` processes joined by jax.distributed (gloo on CPU)."""

from __future__ import annotations

import subprocess

from conftest import BIN, TINY, child_env, free_port, make_base


def test_two_hosts_train_identical_parameters(tmp_path, corpus):
    hosts = ["algo-1", "algo-2"]
    hps = {**TINY, "max_steps": "20", "eval_every": "10", "checkpoint_every": "10"}
    bases = [make_base(tmp_path / h, corpus, hps, hosts=hosts, current=h) for h in hosts]
    env = {"JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "JAXSM_INIT_TIMEOUT_S": "60"}
    procs = [
        subprocess.Popen(
            [BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for b in bases
    ]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out
    assert "hosts=2 process=0 devices=2" in outs[0]
    params = [(b / "model" / "params.msgpack").read_bytes() for b in bases]
    assert params[0] == params[1]  # replicated parameters stayed identical on both hosts
    assert (bases[0] / "model" / "config.json").exists()
    assert (bases[0] / "checkpoints" / "20").is_dir()  # only the first host writes checkpoints
    assert not (bases[1] / "checkpoints").exists() or not any((bases[1] / "checkpoints").iterdir())


def test_two_hosts_stop_together_and_resume(tmp_path, corpus):
    """SIGTERM on both hosts stops them at the same step (a collective decision), host 1's
    checkpoint is restored and broadcast to host 2 (whose directory is empty) on restart."""
    import re
    import signal
    import time

    hosts = ["algo-1", "algo-2"]
    hps = {**TINY, "max_steps": "300", "eval_every": "20", "checkpoint_every": "20"}
    bases = [make_base(tmp_path / h, corpus, hps, hosts=hosts, current=h) for h in hosts]

    def start():
        env = {"JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "JAXSM_INIT_TIMEOUT_S": "60"}
        return [
            subprocess.Popen(
                [BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
            )
            for b in bases
        ]

    procs = start()
    t0 = time.monotonic()
    while not (bases[0] / "checkpoints" / "20").is_dir():
        assert all(p.poll() is None for p in procs) and time.monotonic() - t0 < 180
        time.sleep(0.05)
    for p in procs:
        p.send_signal(signal.SIGTERM)
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode != 0 for p in procs), outs
    found = [re.search(r"stopped by SIGTERM at step (\d+)", (b / "output" / "failure").read_text()) for b in bases]
    assert all(found), [(b / "output" / "failure").read_text() for b in bases]
    stopped = [m.group(1) for m in found if m]
    assert stopped[0] == stopped[1]
    assert (bases[0] / "checkpoints" / stopped[0]).is_dir()

    procs = start()
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out
    assert f"resumed from checkpoint step={stopped[0]}" in outs[0]
    assert (bases[0] / "model" / "params.msgpack").read_bytes() == (bases[1] / "model" / "params.msgpack").read_bytes()
