"""The inference handler: the four functions of AWS's inference toolkit, served unchanged by the
jaxsm image (`serve`). SageMaker unpacks model.tar.gz into /opt/ml/model; this file arrives in
/opt/ml/model/code/ next to model.py, as the SageMaker Python SDK repacks `Model(entry_point=...,
source_dir=...)`."""

import json
import os

import jax
import jax.numpy as jnp
import numpy as np
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
    return {"params": params, "next_logits": next_logits, "context": config["context"]}


def input_fn(request_body, content_type):
    if content_type != "application/json":
        raise ValueError(f"Unsupported content type: {content_type}")
    payload = json.loads(request_body)
    if not isinstance(payload.get("inputs"), str):
        raise ValueError('expected {"inputs": "<text>", "max_new_tokens": <int>}')
    return {"text": payload["inputs"], "max_new_tokens": min(int(payload.get("max_new_tokens", 32)), 256)}


def predict_fn(inputs, model):
    """Greedy decoding, one byte at a time."""
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
    return json.dumps({"generated_text": prediction, "model": "ByteMLP"}), "application/json"
