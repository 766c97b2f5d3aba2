"""`prepare`: raw text -> train/val channel files; failures go to output/message."""

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
    assert "alpha line 0\n" in train and "alpha line 99\n" in val and "alpha line 99" not in train
    assert "beta line 0\n" in train and "beta line 49\n" in val
    assert train.count("\n") + val.count("\n") >= 150


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
                    ]
                },
            }
        )
    )
    proc = subprocess.run([BIN / "prepare"], env=child_env(tmp_path), capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "line 19\n" in (tmp_path / "custom" / "out" / "val" / "corpus.txt").read_text()
    assert "line 0\n" in (tmp_path / "custom" / "out" / "train" / "corpus.txt").read_text()
