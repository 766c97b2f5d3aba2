"""Two hosts on one machine: two `train` processes joined by jax.distributed (gloo on CPU)."""

from __future__ import annotations

import subprocess

from conftest import BIN, TINY, child_env, free_port, make_base


def test_two_hosts_train_identical_parameters(tmp_path, corpus):
    hosts = ["algo-1", "algo-2"]
    hps = {**TINY, "max_steps": "20", "eval_every": "10", "checkpoint_every": "10"}
    bases = [make_base(tmp_path / h, corpus, hps, hosts=hosts, current=h) for h in hosts]
    env = {"JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "JAXSM_INIT_TIMEOUT_S": "60"}
    procs = [subprocess.Popen([BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for b in bases]
    outs = [p.communicate(timeout=240)[0] for p in procs]
    for p, out in zip(procs, outs):
        assert p.returncode == 0, out
    assert "hosts=2 process=0 devices=2" in outs[0]
    params = [(b / "model" / "params.msgpack").read_bytes() for b in bases]
    assert params[0] == params[1]  # replicated parameters stayed identical on both hosts
    assert (bases[0] / "model" / "config.json").exists()
    assert (bases[0] / "checkpoints" / "20").is_dir()  # only the first host writes checkpoints
    assert not (bases[1] / "checkpoints").exists() or not any((bases[1] / "checkpoints").iterdir())
