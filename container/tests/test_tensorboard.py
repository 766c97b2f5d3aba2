"""TensorBoard event files in output/tensorboard: the trainer's and the user-code example's, read back as records.

The reader below follows TensorBoard's on-disk format (TFRecord: length, masked CRC-32C of the length, the Event
protobuf, masked CRC-32C of the data) rather than the writer's own code, so a file TensorBoard could not read fails.
"""

from __future__ import annotations

import json
import re
import struct
import subprocess
from pathlib import Path

from conftest import BIN, TINY, child_env, free_port, make_base, run_train, start_hosts
from tensorboardX.crc32c import crc32c
from tensorboardX.proto.event_pb2 import Event

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user-code"
EVAL_LINE = re.compile(r"^step=(\d+) train_loss=([0-9.]+) val_loss=([0-9.]+)", re.M)


def _masked(data: bytes) -> int:
    crc = crc32c(data)
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def read_scalars(directory: Path) -> dict[str, list[tuple[int, float]]]:
    """Every scalar in every event file under `directory`: tag -> [(step, value)] in file order."""
    out: dict[str, list[tuple[int, float]]] = {}
    files = sorted(directory.rglob("events.out.tfevents.*"))
    assert files, f"no event files under {directory}"
    for f in files:
        raw, pos = f.read_bytes(), 0
        while pos < len(raw):
            header = raw[pos : pos + 8]
            (length,) = struct.unpack("<Q", header)
            (len_crc,) = struct.unpack("<I", raw[pos + 8 : pos + 12])
            assert len_crc == _masked(header), f"{f}: bad length CRC at {pos}"
            data = raw[pos + 12 : pos + 12 + length]
            (data_crc,) = struct.unpack("<I", raw[pos + 12 + length : pos + 16 + length])
            assert data_crc == _masked(data), f"{f}: bad data CRC at {pos}"
            pos += 16 + length
            event = Event.FromString(data)
            for v in event.summary.value:
                out.setdefault(v.tag, []).append((event.step, v.simple_value))
    return out


def test_trainer_writes_loss_learning_rate_throughput_and_eval(tmp_path, corpus):
    base = make_base(
        tmp_path, corpus, {**TINY, "max_steps": "20", "eval_every": "10", "checkpoint_every": "20", "bf16": "False"}
    )
    proc = run_train(base)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    scalars = read_scalars(base / "output" / "tensorboard")
    assert set(scalars) == {
        "train/loss",
        "eval/val_loss",
        "train/learning_rate",
        "train/tokens_per_sec",
        "eval/final_val_loss",
    }
    printed = {int(s): (float(t), float(v)) for s, t, v in EVAL_LINE.findall(proc.stdout)}
    assert [s for s, _ in scalars["train/loss"]] == [10, 20] == sorted(printed)
    for step, value in scalars["train/loss"]:
        assert abs(value - printed[step][0]) < 1e-3  # the same value the metric line (4 decimals) reports
    for step, value in scalars["eval/val_loss"]:
        assert abs(value - printed[step][1]) < 1e-3
    rates = [v for _, v in scalars["train/learning_rate"]]
    assert len(rates) == 2 and rates[0] > rates[1] >= 0  # past warm-up the schedule decays
    assert all(v > 0 for _, v in scalars["train/tokens_per_sec"])
    assert scalars["eval/final_val_loss"] == [(20, scalars["eval/val_loss"][-1][1])]


def test_only_the_first_host_writes_event_files(tmp_path, corpus):
    hosts = ["algo-1", "algo-2"]
    hp = {**TINY, "max_steps": "10", "eval_every": "10", "checkpoint_every": "10"}
    bases = [make_base(tmp_path / h, corpus, hp, hosts=hosts, current=h) for h in hosts]
    procs = start_hosts(bases)
    for p in procs:
        out = p.communicate(timeout=300)[0]
        assert p.returncode == 0, out
    assert [s for s, _ in read_scalars(bases[0] / "output" / "tensorboard")["eval/val_loss"]] == [10]
    assert not (bases[1] / "output" / "tensorboard").exists()


def _example_base(root: Path, corpus: Path, hosts: list[str], current: str) -> Path:
    cfg = root / "input" / "config"
    cfg.mkdir(parents=True)
    # JSON-encoded, as the SageMaker Python SDK sends them; the toolkit passes the others as --name value.
    hps = {
        "sagemaker_program": json.dumps("train.py"),
        "sagemaker_submit_directory": json.dumps(str(EXAMPLE)),
        "steps": "20",
        "eval-every": "10",
        "batch-size": "16",
    }
    (cfg / "hyperparameters.json").write_text(json.dumps(hps))
    (cfg / "resourceconfig.json").write_text(json.dumps({"current_host": current, "hosts": hosts}))
    for ch in ("train", "val"):
        dst = root / "input" / "data" / ch
        dst.mkdir(parents=True)
        # A slice keeps the example's byte windows cheap to build.
        (dst / "part-0.txt").write_bytes((corpus / ch / "corpus.txt").read_bytes()[:50_000])
    return root


def test_user_code_example_writes_event_files_from_the_first_host(tmp_path, corpus):
    hosts = ["algo-1", "algo-2"]
    bases = [_example_base(tmp_path / h, corpus, hosts, h) for h in hosts]
    env = {"JAXSM_COORDINATOR_ADDRESS": f"127.0.0.1:{free_port()}", "SM_STUDIO_LOCAL_MODE": "true"}
    procs = [
        subprocess.Popen(
            [BIN / "train"], env=child_env(b, **env), stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        for b in bases
    ]
    outs = [p.communicate(timeout=300)[0] for p in procs]
    for p, out in zip(procs, outs, strict=True):
        assert p.returncode == 0, out
    scalars = read_scalars(bases[0] / "output" / "tensorboard")
    printed = {int(s): (float(t), float(v)) for s, t, v in EVAL_LINE.findall(outs[0])}
    assert [s for s, _ in scalars["eval/val_loss"]] == [10, 20] == sorted(printed)
    for step, value in scalars["eval/val_loss"]:
        assert abs(value - printed[step][1]) < 1e-3
    assert {"train/loss", "train/learning_rate", "train/examples_per_sec", "eval/final_val_loss"} <= set(scalars)
    assert not (bases[1] / "output" / "tensorboard").exists()
