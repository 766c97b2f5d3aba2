"""The example user handler (examples/user-code/inference.py) answers the scoring record of the
evaluation step with the training script's own loss on the same text."""

from __future__ import annotations

import importlib
import json
import sys
from pathlib import Path

import numpy as np
import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "user-code"


@pytest.fixture(scope="module")
def handler(tmp_path_factory):
    import jax
    import jax.numpy as jnp
    import orbax.checkpoint as ocp

    sys.path.insert(0, str(EXAMPLE))
    try:
        model_mod = importlib.import_module("model")
        inference = importlib.import_module("inference")
    finally:
        sys.path.remove(str(EXAMPLE))
    model_dir = tmp_path_factory.mktemp("user-model")
    context = 8
    params = model_mod.ByteMLP(context=context).init(jax.random.key(3), jnp.zeros((1, context), jnp.int32))["params"]
    ocp.PyTreeCheckpointer().save(str(model_dir / "final"), params)
    (model_dir / "model.json").write_text(json.dumps({"context": context}))
    return inference, inference.model_fn(str(model_dir)), model_mod, params, context


def test_score_record_is_the_training_loss_on_the_text(handler):
    import jax.numpy as jnp
    import optax

    inference, model, model_mod, params, context = handler
    text = "hello, batch transform"
    data = inference.input_fn(json.dumps({"score": text}), "application/json")
    body, content_type = inference.output_fn(inference.predict_fn(data, model), "application/json")
    answer = json.loads(body)
    assert content_type == "application/json" and answer["tokens"] == len(text)
    # train.py's loss_fn over the windows of the text (the text after `context` spaces).
    padded = np.concatenate([np.full(context, 32), np.frombuffer(text.encode(), np.uint8)]).astype(np.int32)
    x, y = model_mod.windows(padded, np.arange(len(text)), context)
    logits = model_mod.ByteMLP(context=context).apply({"params": params}, jnp.asarray(x))
    expected = float(optax.softmax_cross_entropy_with_integer_labels(logits, jnp.asarray(y)).mean())
    assert answer["nll"] == pytest.approx(expected, rel=1e-5)


def test_generation_requests_still_work(handler):
    inference, model, *_ = handler
    data = inference.input_fn(json.dumps({"inputs": "ab", "max_new_tokens": 3}), "application/json")
    body, _ = inference.output_fn(inference.predict_fn(data, model), "application/json")
    assert json.loads(body)["model"] == "ByteMLP"
