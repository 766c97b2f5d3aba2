"""Training data: channel files -> byte tokens -> deterministic batches.

A channel directory (File mode) holds one or more UTF-8 text files; every regular, non-hidden
file is read in sorted order, byte-tokenized, and joined with EOS between files.

Batches are a pure function of (seed, step): step s draws its window starts from a PRNG seeded
with (seed, s). So a resumed job sees exactly the batches it would have seen, and every host
computes the same global batch and keeps only its own rows (no data exchange between hosts).
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np

from .errors import UserError
from .tokenizer import EOS_ID, MIN_VOCAB_SIZE


def channel_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


def load_channel(name: str, path: Path, min_tokens: int) -> np.ndarray:
    """Token array (uint16) of a channel; UserError naming the channel on any problem."""
    if not path.is_dir():
        raise UserError(f"missing channel '{name}': expected a directory at {path}")
    files = channel_files(path)
    if not files:
        raise UserError(f"channel '{name}' at {path} contains no files")
    parts = []
    for f in files:
        parts.append(np.frombuffer(f.read_bytes(), dtype=np.uint8).astype(np.uint16))
        parts.append(np.array([EOS_ID], np.uint16))
    tokens = np.concatenate(parts)
    if tokens.size < min_tokens:
        raise UserError(
            f"channel '{name}' at {path} has {tokens.size} tokens; need at least {min_tokens} (seq_len + 1)"
        )
    return tokens


def train_batch(tokens: np.ndarray, seed: int, step: int, batch_size: int, seq_len: int) -> np.ndarray:
    """Global batch of random windows for `step`: int32 [batch_size, seq_len + 1]."""
    rng = np.random.default_rng([seed, step])
    starts = rng.integers(0, tokens.size - seq_len - 1, size=batch_size, endpoint=True)
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    return tokens[idx].astype(np.int32)


def val_batches(tokens: np.ndarray, batch_size: int, seq_len: int, max_batches: int) -> np.ndarray:
    """Fixed validation windows: int32 [n_batches, batch_size, seq_len + 1].

    Non-overlapping windows from the start of the split; when there are fewer than a whole
    number of batches, windows repeat from the beginning (a mean over repeats is unbiased
    enough for a progress metric, and shapes stay static for jit).
    """
    n_windows = max(1, (tokens.size - 1) // seq_len)
    n_batches = max(1, min(max_batches, math.ceil(n_windows / batch_size)))
    win = np.arange(n_batches * batch_size) % n_windows
    idx = (win * seq_len)[:, None] + np.arange(seq_len + 1)[None, :]
    idx = np.minimum(idx, tokens.size - 1)
    return tokens[idx].astype(np.int32).reshape(n_batches, batch_size, seq_len + 1)


def unigram_xent(train: np.ndarray, val: np.ndarray, vocab_size: int = MIN_VOCAB_SIZE) -> float:
    """Cross-entropy (nats/token) of val under the train split's add-one-smoothed unigram
    distribution: the baseline a language model has to beat. Predicted tokens only (not the
    first token of each window), matching how the model's loss is counted closely enough."""
    counts = np.bincount(train.astype(np.int64), minlength=vocab_size).astype(np.float64) + 1.0
    logp = np.log(counts / counts.sum())
    return float(-logp[val.astype(np.int64)].mean())
