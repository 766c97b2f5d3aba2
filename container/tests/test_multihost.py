"""Several hosts on one machine: `train` processes joined by jax.distributed (gloo on CPU).

Each process drives two virtual CPU devices, so two hosts make a 2 x 2 (data, fsdp) mesh: the
state is sharded within a host and replicated across hosts, as on 4 x p4de. Each host has its
own checkpoints/ directory, as on SageMaker; `sync_checkpoints` plays the S3 round trip a
restarted SageMaker job gets (every host's files uploaded to one prefix, the union restored).
"""

from __future__ import annotations

import json
import re
import signal
import time

import pytest
from conftest import (
    TINY,
    checkpoint_dir,
    checkpoint_steps,
    devices_env,
    make_base,
    run_train,
    start_hosts,
    sync_checkpoints,
)

HOSTS = ["algo-1", "algo-2"]
HP = {
    **TINY,
    "n_layers": "2",
    "max_steps": "20",
    "eval_every": "10",
    "checkpoint_every": "10",
    "scan_layers": "true",
    "remat": "full",
}


def chunks(record: dict) -> set[str]:
    """Array chunk files (default/<array>/<chunk index>) a host's commit record lists."""
    return {f for f in record["files"] if f.count("/") == 2 and not f.rsplit("/", 1)[1].startswith(".")}


@pytest.fixture(scope="module")
def two_hosts(tmp_path_factory, corpus):
    root = tmp_path_factory.mktemp("two-hosts")
    bases = [make_base(root / h, corpus, HP, hosts=HOSTS, current=h) for h in HOSTS]
    procs = start_hosts(bases, devices=2)
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out
    return bases, outs


def test_two_hosts_shard_the_state_and_every_host_writes_its_part(two_hosts):
    bases, outs = two_hosts
    assert "hosts=2 process=0 devices=4" in outs[0]
    assert "mesh data=2 fsdp=2" in outs[0] and "(per-host storage)" in outs[0]
    assert re.search(r"\((9\d|100)% of the state sharded\)", outs[0]), outs[0]
    records = [
        json.loads((checkpoint_dir(b) / "20" / f"jaxsm-host-{i}-of-2.json").read_text()) for i, b in enumerate(bases)
    ]
    mine = [chunks(r) for r in records]
    # Each host wrote its own share of the chunks (no gather onto the first host), together all of them.
    assert mine[0] and mine[1] and not mine[0] & mine[1]
    assert len(mine[1]) > 0.25 * (len(mine[0]) + len(mine[1]))


def test_only_the_first_host_writes_the_model(two_hosts):
    bases, _ = two_hosts
    assert (bases[0] / "model" / "params.msgpack").is_file() and (bases[0] / "model" / "config.json").is_file()
    assert not (bases[1] / "model").exists() or not any((bases[1] / "model").iterdir())


def test_resume_on_one_host_with_four_devices(two_hosts, tmp_path, corpus):
    """Orbax reshards on restore: the 2-host checkpoint continues on 1 host x 4 devices, exactly."""
    bases, _ = two_hosts
    single = make_base(tmp_path / "one", corpus, HP)
    sync_checkpoints(bases, single)
    proc = run_train(single, 300, **devices_env(4))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "mesh data=1 fsdp=4" in proc.stdout
    assert "resumed from checkpoint step=20" in proc.stdout
    # Nothing left to train: the model written is the restored state, bit for bit.
    assert (single / "model" / "params.msgpack").read_bytes() == (bases[0] / "model" / "params.msgpack").read_bytes()


def test_sigterm_on_one_host_stops_both_at_the_same_step_and_resumes(tmp_path, corpus):
    """SIGTERM reaches only the second host; JAX's preemption sync tells the first, and both stop
    after the same step (no collective per step), each saving its part of the checkpoint."""
    hps = {**TINY, "max_steps": "300", "eval_every": "20", "checkpoint_every": "20"}
    bases = [make_base(tmp_path / h, corpus, hps, hosts=HOSTS, current=h) for h in HOSTS]
    procs = start_hosts(bases)
    t0 = time.monotonic()
    while not all(20 in checkpoint_steps(b) for b in bases):
        assert all(p.poll() is None for p in procs) and time.monotonic() - t0 < 240
        time.sleep(0.05)
    procs[1].send_signal(signal.SIGTERM)
    outs = [p.communicate(timeout=120)[0] for p in procs]
    assert all(p.returncode != 0 for p in procs), outs
    failures = [(b / "output" / "failure").read_text() for b in bases]
    found = [re.search(r"stopped by SIGTERM at step (\d+)", f) for f in failures]
    assert all(found), failures
    stopped = {int(m.group(1)) for m in found if m}
    assert len(stopped) == 1, stopped
    (step,) = stopped
    assert 20 <= step < 300 and all(step in checkpoint_steps(b) for b in bases)

    for b in bases:
        sync_checkpoints(bases, b)
    procs = start_hosts(bases)
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out
    assert f"resumed from checkpoint step={step}" in outs[0]
    assert (bases[0] / "model" / "params.msgpack").is_file()
