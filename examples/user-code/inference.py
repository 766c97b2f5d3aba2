"""The inference handler: the four functions of AWS's inference toolkit, served unchanged by the
jaxsm image (`serve`). SageMaker unpacks model.tar.gz into /opt/ml/model; this file arrives in
/opt/ml/model/code/ next to model.py, as the SageMaker Python SDK repacks `Model(entry_point=...,
source_dir=...)`."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
from model import ByteMLP


def model_fn(model_dir):
    """Called once at start-up: load the parameters Orbax saved at the end of training."""
    with open(os.path.join(model_dir, "model.json")) as f:
        config = json.load(f)
    params = ocp.PyTreeCheckpointer().restore(os.path.join(model_dir, "final"))
    model = ByteMLP(context=config["context"])
    next_logits = jax.jit(lambda p, tokens: model.apply({"params": p}, tokens))
    next_logits(params, jnp.zeros((1, config["context"]), jnp.int32))  # compile before /ping says ready

    @jax.jit
    def nll_sum(p, windows, targets, mask):
        """Summed next-byte loss (training's loss, unaveraged) over the unmasked positions."""
        logits = model.apply({"params": p}, windows)
        return jnp.sum(optax.softmax_cross_entropy_with_integer_labels(logits, targets) * mask)

    return {"params": params, "next_logits": next_logits, "nll_sum": nll_sum, "context": config["context"]}


def input_fn(request_body, content_type):
    if content_type != "application/json":
        raise ValueError(f"Unsupported content type: {content_type}")
    payload = json.loads(request_body)
    if isinstance(payload.get("score"), str) and payload["score"]:
        return {"score": payload["score"]}  # an evaluation record: how likely is this text?
    if not isinstance(payload.get("inputs"), str):
        raise ValueError('expected {"inputs": "<text>", "max_new_tokens": <int>} or {"score": "<text>"}')
    return {"text": payload["inputs"], "max_new_tokens": min(int(payload.get("max_new_tokens", 32)), 256)}


def score(text, model):
    """Mean next-byte negative log-likelihood (nats) of the text, each byte predicted from the
    bytes before it (padded with spaces, as generation pads the prompt)."""
    context = model["context"]
    data = np.frombuffer(text.encode("utf-8"), dtype=np.uint8).astype(np.int32)
    padded = np.concatenate([np.full(context, 32, np.int32), data])
    n = len(data)
    size = 1 << max(0, (n - 1).bit_length())  # a power of two: a few compiled shapes, not one per length
    windows = np.zeros((size, context), np.int32)
    windows[:n] = padded[np.arange(n)[:, None] + np.arange(context)[None, :]]
    targets = np.zeros(size, np.int32)
    targets[:n] = data
    mask = (np.arange(size) < n).astype(np.float32)
    total = float(model["nll_sum"](model["params"], jnp.asarray(windows), jnp.asarray(targets), jnp.asarray(mask)))
    return {"nll": total / n, "tokens": n}


def predict_fn(inputs, model):
    """Greedy decoding, one byte at a time (or the score of a text)."""
    if "score" in inputs:
        return score(inputs["score"], model)
    context = model["context"]
    tokens = list(inputs["text"].encode("utf-8"))
    out = []
    for _ in range(inputs["max_new_tokens"]):
        window = ([32] * context + tokens)[-context:]
        logits = model["next_logits"](model["params"], jnp.asarray([window], jnp.int32))
        token = int(np.argmax(logits[0]))
        tokens.append(token)
        out.append(token)
    return bytes(out).decode("utf-8", errors="replace")


def output_fn(prediction, accept):
    if isinstance(prediction, dict):
        return json.dumps(prediction), "application/json"
    return json.dumps({"generated_text": prediction, "model": "ByteMLP"}), "application/json"
