"""Training data: channel files -> byte tokens -> deterministic batches.

A channel directory (File or FastFile mode) holds one or more UTF-8 text files; every regular,
non-hidden file is read in sorted order, byte-tokenized, and joined with EOS between files.

Each host reads only its share of a channel, never the whole of it:
* S3DistributionType FullyReplicated (every host's channel holds every file): host i of n reads
  the i-th n-th of the channel's bytes (the files in sorted order, end to end), seeking to it and
  reading only the files it overlaps; in FastFile mode, where SageMaker streams a file's bytes
  from S3 as they are read, that is all that is downloaded.
* ShardedByS3Key (SageMaker gives each host its own subset of the files): the host reads them all.
The mode and distribution come from inputdataconfig.json; Pipe mode is refused with a clear error.

Batches are a pure function of (seed, step, host): step s draws this host's window starts from a
PRNG seeded with (seed, s) (one host: exactly the batches of earlier releases) or (seed, s, host)
(several). So a resumed job sees exactly the batches it would have seen, and no data crosses hosts.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .errors import UserError
from .tokenizer import EOS_ID, MIN_VOCAB_SIZE


def channel_files(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file() and not p.name.startswith("."))


INPUT_MODES = ("File", "FastFile")


@dataclass(frozen=True)
class ChannelSpec:
    """What inputdataconfig.json says about a channel (SageMaker's defaults when it says nothing)."""

    mode: str = "File"
    distribution: str = "FullyReplicated"

    @property
    def sharded(self) -> bool:
        return self.distribution == "ShardedByS3Key"


def channel_spec(input_config: Path, name: str) -> ChannelSpec:
    """The channel's TrainingInputMode and S3DistributionType from inputdataconfig.json in `input_config`."""
    try:
        entry = json.loads((input_config / "inputdataconfig.json").read_text()).get(name) or {}
    except (OSError, ValueError):
        return ChannelSpec()
    spec = ChannelSpec(entry.get("TrainingInputMode", "File"), entry.get("S3DistributionType", "FullyReplicated"))
    if spec.mode not in INPUT_MODES:
        raise UserError(
            f"channel '{name}' has TrainingInputMode {spec.mode!r}; this trainer reads File or FastFile channels "
            "(a directory of files), not Pipe"
        )
    return spec


def load_channel(
    name: str, path: Path, min_tokens: int, share: tuple[int, int] = (0, 1), spec: ChannelSpec | None = None
) -> np.ndarray:
    """Token array (uint16) of this host's share (host i of n) of a channel; UserError naming the channel on any
    problem. A ShardedByS3Key channel already holds only this host's files: all of them are read."""
    if not path.is_dir():
        raise UserError(f"missing channel '{name}': expected a directory at {path}")
    files = channel_files(path)
    if not files:
        raise UserError(f"channel '{name}' at {path} contains no files")
    index, count = (0, 1) if spec is not None and spec.sharded else share
    # The channel as one stream: each file's bytes, then EOS. This host reads [lo, hi) of it.
    sizes = [f.stat().st_size + 1 for f in files]
    total = sum(sizes)
    lo, hi = total * index // count, total * (index + 1) // count
    parts, offset = [], 0
    for f, size in zip(files, sizes, strict=True):
        start, stop = max(lo, offset), min(hi, offset + size)
        if start < stop:
            with f.open("rb") as fh:
                fh.seek(start - offset)
                data = fh.read(min(stop, offset + size - 1) - start)
            parts.append(np.frombuffer(data, dtype=np.uint8).astype(np.uint16))
            if stop == offset + size:
                parts.append(np.array([EOS_ID], np.uint16))
        offset += size
    tokens = np.concatenate(parts) if parts else np.zeros(0, np.uint16)
    if tokens.size < min_tokens:
        where = f" (host {index + 1} of {count} reads {hi - lo} of its {total} bytes)" if count > 1 else ""
        raise UserError(
            f"channel '{name}' at {path} has {tokens.size} tokens{where}; need at least {min_tokens} (seq_len + 1)"
        )
    return tokens


def train_batch(
    tokens: np.ndarray, seed: int, step: int, batch_size: int, seq_len: int, host: int | None = None
) -> np.ndarray:
    """`batch_size` random windows of `tokens` for `step` (this host's rows when `host` is given): int32
    [batch_size, seq_len + 1]."""
    rng = np.random.default_rng([seed, step] if host is None else [seed, step, host])
    starts = rng.integers(0, tokens.size - seq_len - 1, size=batch_size, endpoint=True)
    idx = starts[:, None] + np.arange(seq_len + 1)[None, :]
    return tokens[idx].astype(np.int32)


def val_batches(tokens: np.ndarray, batch_size: int, seq_len: int, max_batches: int, exact: bool = False) -> np.ndarray:
    """Fixed validation windows: int32 [n_batches, batch_size, seq_len + 1].

    Non-overlapping windows from the start of the split; when there are fewer than a whole
    number of batches, windows repeat from the beginning (a mean over repeats is unbiased
    enough for a progress metric, and shapes stay static for jit).
    """
    n_windows = max(1, (tokens.size - 1) // seq_len)
    # `exact`: hosts with different val shards must run the same number of (collective) eval steps.
    n_batches = max_batches if exact else max(1, min(max_batches, math.ceil(n_windows / batch_size)))
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
