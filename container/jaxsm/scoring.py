"""Scoring text with the loaded model: the mean next-token negative log-likelihood (nats).

A score record (`{"score": "<text>"}`, the held-out evaluation set a Batch Transform job sends)
is answered with `{"nll": <mean nll per predicted token>, "tokens": <predicted tokens>}`. The
text is read as training reads a document: byte tokens after an EOS (documents are joined with
EOS between them, jaxsm.data), so the first byte is predicted from the EOS and every byte of the
text is one predicted token. The loss is the trainer's (softmax cross-entropy with integer
labels, jaxsm.steps), so a record's nll equals the trainer's loss on the same tokens.

A text longer than the model's context is scored in consecutive windows of `seq_len` predicted
tokens, each window's first input being the previous window's last token, so every byte is
scored exactly once. Windows are padded to a power-of-two length bucket and batches to a
bucket size, so a stream of requests of varying lengths compiles a handful of shapes, not one
per request.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from .tokenizer import EOS_ID, PAD_ID

if TYPE_CHECKING:
    from .generate import Generator

SCORE_BATCH_BUCKETS = (1, 8, 32)


@dataclass(frozen=True)
class Score:
    """One scored text: mean nll per predicted token (nats) and the number of predicted tokens."""

    nll: float
    tokens: int


def _bucket(n: int, buckets: Sequence[int]) -> int:
    return next((b for b in buckets if n <= b), buckets[-1])


class Scorer:
    """Scores texts with a loaded Generator's model and parameters (jitted forward pass)."""

    def __init__(self, gen: Generator):
        import jax

        from .generate import length_buckets

        self.gen = gen
        self.seq_len = gen.config.seq_len
        self.length_buckets = length_buckets(self.seq_len)
        self._fn = jax.jit(self._window_nll)

    def _window_nll(self, params, inputs, targets, mask):
        """inputs/targets/mask [b, L] -> (sum of nll over the masked positions [b], count [b])."""
        import jax.numpy as jnp
        import optax

        logits = jnp.asarray(self.gen.model.apply({"params": params}, inputs, deterministic=True), jnp.float32)
        nll = optax.softmax_cross_entropy_with_integer_labels(logits, targets)
        return jnp.sum(nll * mask, axis=1), jnp.sum(mask, axis=1)

    def windows(self, text: str) -> list[np.ndarray]:
        """The token windows of one text: each holds up to seq_len + 1 tokens (inputs + last target)."""
        ids = self.gen.tokenizer.encode(text)
        seq = np.concatenate([np.array([EOS_ID], np.int32), ids.astype(np.int32)])
        return [seq[start : start + self.seq_len + 1] for start in range(0, max(1, seq.size - 1), self.seq_len)]

    def score(self, texts: Sequence[str]) -> list[Score]:
        """Scores in text order; a text with no bytes is a ValueError (it has nothing to predict)."""
        for i, text in enumerate(texts):
            if not text:
                raise ValueError(f"text {i} is empty: there is no token to score")
        owner: list[int] = []
        wins: list[np.ndarray] = []
        for i, text in enumerate(texts):
            for w in self.windows(text):
                owner.append(i)
                wins.append(w)
        sums = np.zeros(len(texts), np.float64)
        counts = np.zeros(len(texts), np.int64)
        order = sorted(range(len(wins)), key=lambda k: wins[k].size)  # similar lengths share a bucket
        step = SCORE_BATCH_BUCKETS[-1]
        for start in range(0, len(order), step):
            chunk = order[start : start + step]
            s, c = self._run([wins[k] for k in chunk])
            for k, ws, wc in zip(chunk, s, c, strict=False):
                sums[owner[k]] += float(ws)
                counts[owner[k]] += int(wc)
        return [Score(nll=float(sums[i] / counts[i]), tokens=int(counts[i])) for i in range(len(texts))]

    def _run(self, wins: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        b = _bucket(len(wins), SCORE_BATCH_BUCKETS)
        length = _bucket(max(w.size - 1 for w in wins), self.length_buckets)
        inputs = np.full((b, length), PAD_ID, np.int32)
        targets = np.zeros((b, length), np.int32)
        mask = np.zeros((b, length), np.float32)
        for row, w in enumerate(wins):
            n = w.size - 1
            inputs[row, :n] = w[:-1]
            targets[row, :n] = w[1:]
            mask[row, :n] = 1.0
        sums, counts = self._fn(self.gen.params, inputs, targets, mask)
        return np.asarray(sums)[: len(wins)], np.asarray(counts)[: len(wins)]

    def warmup(self) -> None:
        """Compile the smallest shape, so the first score request does not pay for it."""
        self._run([np.array([EOS_ID, 0], np.int32)])


def scorer_for(gen: Any) -> Scorer:
    """The Scorer attached to a Generator (created on first use; compiled shapes are kept)."""
    scorer = getattr(gen, "_scorer", None)
    if scorer is None:
        scorer = Scorer(gen)
        gen._scorer = scorer
    return scorer
