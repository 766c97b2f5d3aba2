"""The built-in inference handler (the sagemaker-inference toolkit's four-function interface).

Request  (application/json):
  {"inputs": "prompt" | ["p1", "p2", ...],
   "parameters": {"max_new_tokens": 32, "temperature": 1.0, "top_k": 0, "seed": <int>}}
Response (application/json):
  {"generated_text": "..."}                       for a string input
  [{"generated_text": "..."}, ...]                for a list input (same order)
`generated_text` is the continuation only; the prompt is not repeated. temperature 0 is
greedy decoding; top_k 0 disables top-k; without a seed each request draws a random one.

Besides model_fn / input_fn / predict_fn / output_fn (which AWS's toolkit also calls, so this
file serves unchanged there), it defines predict_batch_fn: this image's server uses it to run
many queued requests in one jitted device call.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from jaxsm.generate import Generator, Request
from jaxsm.serving.errors import InputError, UnsupportedAccept, UnsupportedContentType

JSON = "application/json"
SUPPORTED_ACCEPTS = (JSON,)
MAX_PROMPTS = 64
LIMITS = {
    "max_new_tokens": (int, 1, 4096, 32),
    "temperature": (float, 0.0, 100.0, 1.0),
    "top_k": (int, 0, 1 << 20, 0),
    "seed": (int, 0, 2**32 - 1, None),
}


def model_fn(model_dir, context=None):
    """Load the model and compile every batch bucket (so /ping means warm)."""
    generator = Generator(model_dir)
    generator.warmup()
    return generator


def _param(params: dict, name: str) -> Any:
    kind, lo, hi, default = LIMITS[name]
    if name not in params or params[name] is None:
        return secrets.randbelow(2**32) if name == "seed" else default
    v = params[name]
    ok = isinstance(v, (int, float)) and not isinstance(v, bool) and (kind is float or float(v).is_integer())
    if not ok or not lo <= v <= hi:
        raise InputError(f"parameters.{name} must be {'an integer' if kind is int else 'a number'} in [{lo}, {hi}]")
    return kind(v)


def input_fn(input_data, content_type):
    """Parse and validate the JSON body into {'requests': [...], 'is_list': bool}."""
    base_type = (content_type or JSON).split(";")[0].strip().lower()
    if base_type != JSON:
        raise UnsupportedContentType(f"unsupported Content-Type {content_type!r}; use {JSON}")
    if isinstance(input_data, (bytes, bytearray)):
        input_data = input_data.decode("utf-8")
    try:
        body = json.loads(input_data)
    except ValueError as e:
        raise InputError(f"body is not valid JSON: {e}") from None
    if not isinstance(body, dict) or "inputs" not in body:
        raise InputError('body must be a JSON object with "inputs": a string or a list of strings')
    unknown = set(body) - {"inputs", "parameters"}
    if unknown:
        raise InputError(f"unknown field(s) {sorted(unknown)}; expected 'inputs' and optional 'parameters'")
    inputs = body["inputs"]
    is_list = isinstance(inputs, list)
    prompts = inputs if is_list else [inputs]
    if not prompts or len(prompts) > MAX_PROMPTS or not all(isinstance(p, str) for p in prompts):
        raise InputError(f'"inputs" must be a string or a list of 1 to {MAX_PROMPTS} strings')
    # Only a missing or null "parameters" means the defaults: [] or false is a client mistake, not "none".
    params = body.get("parameters")
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise InputError('"parameters" must be a JSON object')
    unknown = set(params) - set(LIMITS)
    if unknown:
        raise InputError(f"unknown parameter(s) {sorted(unknown)}; accepted: {sorted(LIMITS)}")
    values = {name: _param(params, name) for name in LIMITS}
    # Distinct prompts in one request get distinct streams from the one seed.
    requests = [
        Request(p, values["max_new_tokens"], values["temperature"], values["top_k"], (values["seed"] + i) % 2**32)
        for i, p in enumerate(prompts)
    ]
    return {"requests": requests, "is_list": is_list}


def predict_batch_fn(batch, model):
    """Many parsed requests -> one generate() call (chunked to the largest bucket)."""
    flat = [r for data in batch for r in data["requests"]]
    texts = model.generate(flat)
    out, i = [], 0
    for data in batch:
        n = len(data["requests"])
        out.append({"texts": texts[i : i + n], "is_list": data["is_list"]})
        i += n
    return out


def predict_fn(data, model):
    return predict_batch_fn([data], model)[0]


def accepts_json(accept) -> bool:
    """True when an Accept header (possibly a list with q-values) admits application/json."""
    ranges = [a.split(";")[0].strip().lower() for a in (accept or "*/*").split(",")]
    return any(r in ("*/*", "application/*", JSON, "") for r in ranges)


def output_fn(prediction, accept):
    if not accepts_json(accept):
        raise UnsupportedAccept(f"cannot produce Accept {accept!r}; this handler returns {JSON}")
    items = [{"generated_text": t} for t in prediction["texts"]]
    return json.dumps(items if prediction["is_list"] else items[0]), JSON
