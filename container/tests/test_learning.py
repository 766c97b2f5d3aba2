"""The default CPU config really learns: validation loss well below the unigram baseline."""

from __future__ import annotations

import json
import re

import numpy as np


def unigram_baseline(train: bytes, val: bytes) -> float:
    counts = np.bincount(np.frombuffer(train, np.uint8), minlength=259).astype(np.float64) + 1
    p = counts / counts.sum()
    return float(-np.log(p[np.frombuffer(val, np.uint8)]).mean())


def test_beats_unigram_baseline(trained):
    base, proc = trained
    train = (base / "input/data/train/corpus.txt").read_bytes()
    val = (base / "input/data/val/corpus.txt").read_bytes()
    baseline = unigram_baseline(train, val)
    found = re.search(r"^final val_loss=([0-9.]+)$", proc.stdout, re.M)
    assert found, proc.stdout[-2000:]
    final = float(found.group(1))
    metrics = json.loads((base / "model" / "config.json").read_text())["metrics"]
    assert abs(metrics["val_loss"] - final) < 1e-3
    print(f"unigram baseline {baseline:.3f} nats, model {final:.3f} nats")
    assert final < baseline - 0.5, (final, baseline)
    losses = [float(x) for x in re.findall(r"val_loss=([0-9.]+) tokens", proc.stdout)]
    assert losses == sorted(losses, reverse=True)  # improves at every eval
