"""The model both scripts share: a byte-level MLP language model in Flax (it predicts the next byte
of text from the CONTEXT bytes before it). Shipped in the same source directory as train.py and
inference.py, as `source_dir` bundles a script with its helpers."""

import numpy as np
from flax import linen as nn

VOCAB = 256  # bytes


class ByteMLP(nn.Module):
    context: int = 8
    embed: int = 32
    hidden: int = 256

    @nn.compact
    def __call__(self, tokens):  # [batch, context] int32 -> [batch, VOCAB] logits
        x = nn.Embed(VOCAB, self.embed)(tokens)
        x = x.reshape(x.shape[0], -1)
        x = nn.gelu(nn.Dense(self.hidden)(x))
        x = nn.gelu(nn.Dense(self.hidden)(x))
        return nn.Dense(VOCAB)(x)


def windows(data, starts, context):
    """Inputs (the `context` bytes from each start) and targets (the byte after them)."""
    idx = starts[:, None] + np.arange(context)[None, :]
    return data[idx], data[starts + context]
