"""`prepare`: raw text -> train/val channel files and eval scoring records; failures go to output/message."""

from __future__ import annotations

import json
import subprocess

from conftest import BIN, child_env


def test_prepare_raw_splits_every_document(tmp_path):
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.txt").write_text("".join(f"alpha line {i}\n" for i in range(100)))
    (raw / "sub").mkdir()
    (raw / "sub" / "b.txt").write_text("".join(f"beta line {i}\n" for i in range(50)))
    proc = subprocess.run(
        [BIN / "prepare", "--val-fraction", "0.2"], env=child_env(tmp_path), capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    out = tmp_path / "processing" / "output"
    train = (out / "train" / "corpus.txt").read_text()
    val = (out / "val" / "corpus.txt").read_text()
    records = [json.loads(line)["score"] for line in (out / "eval" / "records.jsonl").read_text().splitlines()]
    held = "".join(records)
    # Each document: its last 5 % of lines (the default --eval-fraction) held out, then 80/20 train/val.
    assert "alpha line 0\n" in train and "alpha line 94\n" in val and "alpha line 94" not in train
    assert "alpha line 95\n" in held and "alpha line 99\n" in held
    assert "beta line 0\n" in train and "beta line 47\n" in val and "beta line 48\n" in held
    for line in held.splitlines():
        assert line not in train.splitlines() and line not in val.splitlines()
    every = [ln for text in (train, val, held) for ln in text.splitlines() if ln]
    assert len(every) == len(set(every)) == 150


def test_prepare_missing_input_reports(tmp_path):
    proc = subprocess.run([BIN / "prepare"], env=child_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 1
    msg = (tmp_path / "output" / "message").read_text()
    assert msg == f"missing processing input 'raw': expected a directory at {tmp_path}/processing/input/raw"


def test_prepare_builtin_is_deterministic(tmp_path, corpus):
    proc = subprocess.run([BIN / "prepare", "--source", "builtin"], env=child_env(tmp_path), capture_output=True)
    assert proc.returncode == 0
    for ch in ("train", "val"):
        assert (tmp_path / "processing/output" / ch / "corpus.txt").read_bytes() == (
            corpus / ch / "corpus.txt"
        ).read_bytes()


def test_prepare_follows_processingjobconfig(tmp_path):
    raw = tmp_path / "custom" / "in"
    raw.mkdir(parents=True)
    (raw / "doc.txt").write_text("".join(f"line {i}\n" for i in range(20)))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "processingjobconfig.json").write_text(
        json.dumps(
            {
                "ProcessingInputs": [{"InputName": "raw", "S3Input": {"LocalPath": str(raw)}}],
                "ProcessingOutputConfig": {
                    "Outputs": [
                        {"OutputName": "train", "S3Output": {"LocalPath": str(tmp_path / "custom" / "out" / "train")}},
                        {"OutputName": "val", "S3Output": {"LocalPath": str(tmp_path / "custom" / "out" / "val")}},
                        {"OutputName": "eval", "S3Output": {"LocalPath": str(tmp_path / "elsewhere" / "eval")}},
                    ]
                },
            }
        )
    )
    proc = subprocess.run([BIN / "prepare"], env=child_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "line 18\n" in (tmp_path / "custom" / "out" / "val" / "corpus.txt").read_text()
    assert "line 0\n" in (tmp_path / "custom" / "out" / "train" / "corpus.txt").read_text()
    assert json.loads((tmp_path / "elsewhere" / "eval" / "records.jsonl").read_text()) == {"score": "line 19\n"}


def test_prepare_maps_opt_ml_local_paths_into_its_base_dir(tmp_path):
    """In local process mode SAGEMAKER_BASE_DIR is the host's /opt/ml: the job's LocalPaths move with it."""
    raw = tmp_path / "processing" / "data"
    raw.mkdir(parents=True)
    (raw / "doc.txt").write_text("".join(f"line {i}\n" for i in range(20)))
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "processingjobconfig.json").write_text(
        json.dumps(
            {
                "ProcessingInputs": [{"InputName": "raw", "S3Input": {"LocalPath": "/opt/ml/processing/data"}}],
                "ProcessingOutputConfig": {
                    "Outputs": [{"OutputName": "train", "S3Output": {"LocalPath": "/opt/ml/processing/prepared/train"}}]
                },
            }
        )
    )
    proc = subprocess.run([BIN / "prepare"], env=child_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    for name, file in (("train", "corpus.txt"), ("val", "corpus.txt"), ("eval", "records.jsonl")):
        assert (tmp_path / "processing" / "prepared" / name / file).stat().st_size > 0


def test_prepare_eval_records_are_bounded_deterministic_and_held_out(tmp_path):
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    # One very long line, and many short ones: every record stays within 1,000 characters.
    (raw / "long.txt").write_text("head\n" * 40 + "x" * 2500 + "\n" + "".join(f"tail {i}\n" for i in range(200)))
    runs = []
    for attempt in ("a", "b"):
        base = tmp_path / attempt
        proc = subprocess.run(
            [BIN / "prepare", "--eval-fraction", "0.2", "--input", str(raw)],
            env=child_env(base),
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 0, proc.stderr
        assert '"eval_records": ' in proc.stdout
        runs.append((base / "processing" / "output" / "eval" / "records.jsonl").read_bytes())
    assert runs[0] == runs[1]
    records = [json.loads(line) for line in runs[0].decode().splitlines()]
    assert records and all(set(r) == {"score"} and 0 < len(r["score"]) <= 1000 for r in records)
    held = "".join(r["score"] for r in records)
    assert "tail 199\n" in held and "tail 150\n" not in held  # 20 % of 241 lines: the last 48


def test_prepare_refuses_fractions_that_leave_no_train(tmp_path):
    raw = tmp_path / "processing" / "input" / "raw"
    raw.mkdir(parents=True)
    (raw / "a.txt").write_text("".join(f"line {i}\n" for i in range(10)))
    proc = subprocess.run(
        [BIN / "prepare", "--val-fraction", "0.6", "--eval-fraction", "0.5"],
        env=child_env(tmp_path),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 1
    assert (tmp_path / "output" / "message").read_text().startswith("--eval-fraction must be in (0, 1)")


def test_prepare_builtin_writes_eval_records(corpus):
    lines = (corpus / "eval" / "records.jsonl").read_text().splitlines()
    assert len(lines) > 50
    records = [json.loads(line)["score"] for line in lines]
    assert all(0 < len(r) <= 1000 for r in records)
    train = (corpus / "train" / "corpus.txt").read_text()
    # Held out: a long eval record is nowhere in the training text.
    longest = max(records, key=len)
    assert len(longest) > 200 and longest not in train
