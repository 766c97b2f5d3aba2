"""The built-in inference handler (the sagemaker-inference toolkit's four-function interface,
plus this image's continuous-batching engine and streaming).

Request  (application/json):
  {"score": "text"}                               a scoring record (held-out evaluation): answered
                                                  with {"nll": <mean next-token negative
                                                  log-likelihood, nats>, "tokens": <predicted tokens>}
                                                  (jaxsm.scoring)
  {"inputs": "prompt" | ["p1", "p2", ...],
   "parameters": {"max_new_tokens": 32, "min_new_tokens": 0, "temperature": 1.0, "top_k": 0, "seed": <int>}}
Response (Accept: application/json, the default):
  {"generated_text": "..."}                       for a string input
  [{"generated_text": "..."}, ...]                for a list input (same order)
Streamed response (Accept: application/jsonlines, or text/event-stream; one string input):
  {"token": {"id": 104, "text": "h", "index": 0}}           one line per generated token, as it is produced
  ...
  {"generated_text": "...", "details": {"finish_reason": "eos"|"length", "generated_tokens": n,
   "prompt_tokens": n, "queue_ms": ..., "ttft_ms": ..., "total_ms": ...}}   the last line
  {"error": {"message": "..."}}                   instead of the last line if generation failed
text/event-stream sends the same objects as `data: {...}` events. A token's "text" is "" while
it is the first byte of a multi-byte UTF-8 character and for EOS; the final generated_text is
authoritative. Where the server cannot stream (AWS's toolkit), application/jsonlines answers
with the last line only.

`generated_text` is the continuation only; the prompt is not repeated. temperature 0 is
greedy decoding; top_k 0 disables top-k; min_new_tokens keeps EOS from ending a generation
early (fixed-length benchmarks); without a seed each request draws a random one.

Besides model_fn / input_fn / predict_fn / output_fn (which AWS's toolkit also calls, so this
file serves unchanged there), it defines what this image's server adds:
  engine_fn(model)                 -> the continuous-batching engine (jaxsm.serving.engine); the
                                      server then submits input_fn's `requests` to it instead of
                                      calling predict_fn, and gives output_fn the same prediction
  output_stream_fn(event, accept)  -> the bytes of one streamed event
  predict_batch_fn(batch, model)   -> run-to-completion batches (kept for handler files that
                                      import it; unused when engine_fn is present)
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from jaxsm.generate import Generator, Request
from jaxsm.serving.errors import InputError, UnsupportedAccept, UnsupportedContentType

JSON = "application/json"
JSONLINES = "application/jsonlines"
EVENT_STREAM = "text/event-stream"
SUPPORTED_ACCEPTS = (JSON, JSONLINES, EVENT_STREAM)
STREAM_ACCEPTS = (JSONLINES, EVENT_STREAM)
MAX_PROMPTS = 64
LIMITS = {
    "max_new_tokens": (int, 1, 4096, 32),
    "min_new_tokens": (int, 0, 4096, 0),
    "temperature": (float, 0.0, 100.0, 1.0),
    "top_k": (int, 0, 1 << 20, 0),
    "seed": (int, 0, 2**32 - 1, None),
}


def model_fn(model_dir, context=None):
    """Load the model. The engine (engine_fn) or the first predict_fn call compiles what it needs."""
    return Generator(model_dir)


def engine_fn(model):
    """This image's server: one continuous-batching engine per device, compiled before /ping is 200."""
    from jaxsm.serving.engine import EnginePool

    pool = EnginePool.on_devices(model)
    pool.start()
    return pool


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
    """Parse and validate the JSON body into {'requests': [Request, ...], 'is_list': bool}."""
    base_type = (content_type or JSON).split(";")[0].strip().lower()
    if base_type != JSON:
        raise UnsupportedContentType(f"unsupported Content-Type {content_type!r}; use {JSON}")
    if isinstance(input_data, (bytes, bytearray)):
        input_data = input_data.decode("utf-8")
    try:
        body = json.loads(input_data)
    except ValueError as e:
        raise InputError(f"body is not valid JSON: {e}") from None
    if isinstance(body, dict) and "score" in body:
        return _score_input(body)
    if not isinstance(body, dict) or "inputs" not in body:
        raise InputError(
            'body must be a JSON object with "inputs": a string or a list of strings, or "score": a string'
        )
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
    if values["min_new_tokens"] > values["max_new_tokens"]:
        raise InputError(
            f"parameters.min_new_tokens ({values['min_new_tokens']}) must be <= max_new_tokens "
            f"({values['max_new_tokens']})"
        )
    # Distinct prompts in one request get distinct streams from the one seed.
    requests = [
        Request(
            p,
            max_new_tokens=values["max_new_tokens"],
            temperature=values["temperature"],
            top_k=values["top_k"],
            seed=(values["seed"] + i) % 2**32,
            min_new_tokens=values["min_new_tokens"],
        )
        for i, p in enumerate(prompts)
    ]
    return {"requests": requests, "is_list": is_list}


def _score_input(body: dict) -> dict:
    unknown = set(body) - {"score"}
    if unknown:
        raise InputError(f"unknown field(s) {sorted(unknown)} in a score record; expected only 'score'")
    text = body["score"]
    if not isinstance(text, str) or not text:
        raise InputError('"score" must be a non-empty string (the text to score)')
    return {"score": text}


def score_fn(data, model):
    """A score record -> {"score": text, "scored": Score} (a jitted forward pass, jaxsm.scoring)."""
    from jaxsm.scoring import scorer_for

    return {**data, "scored": scorer_for(model).score([data["score"]])[0]}


def predict_batch_fn(batch, model):
    """Many parsed requests -> one run-to-completion generate call (chunked to the largest bucket);
    score records are scored together in one pass."""
    from jaxsm.scoring import scorer_for

    scored = [i for i, data in enumerate(batch) if "score" in data]
    out = list(batch)
    if scored:
        results = scorer_for(model).score([batch[i]["score"] for i in scored])
        for i, result in zip(scored, results, strict=True):
            out[i] = {**batch[i], "scored": result}
    generating = [data for data in batch if "score" not in data]
    flat = [r for data in generating for r in data["requests"]]
    completions = model.complete(flat) if flat else []
    i = 0
    for k, data in enumerate(batch):
        if "score" in data:
            continue
        n = len(data["requests"])
        out[k] = {**data, "completions": completions[i : i + n]}
        i += n
    return out


def predict_fn(data, model):
    return predict_batch_fn([data], model)[0]


def media_ranges(accept) -> list[str]:
    """The media ranges of an Accept header, highest q-value first (ties keep their order)."""
    ranges = []
    for i, part in enumerate((accept or "*/*").split(",")):
        media, *params = (p.strip().lower() for p in part.split(";"))
        q = 1.0
        for p in params:
            if p.startswith("q="):
                try:
                    q = float(p[2:])
                except ValueError:
                    q = 0.0
        if q > 0:
            ranges.append((-q, i, media or "*/*"))
    return [m for _, _, m in sorted(ranges)]


def negotiate(accept, supported=SUPPORTED_ACCEPTS) -> str | None:
    """The first of `supported` the Accept header admits, in the client's order of preference."""
    for media in media_ranges(accept):
        if media == "*/*":
            return supported[0]
        if media.endswith("/*"):
            match = next((s for s in supported if s.startswith(media[:-1])), None)
            if match:
                return match
        elif media in supported:
            return media
    return None


def accepts_json(accept) -> bool:
    """True when an Accept header (possibly a list with q-values) admits application/json."""
    return negotiate(accept, (JSON,)) is not None


def _details(completion, timings: dict[str, float] | None = None) -> dict[str, Any]:
    d: dict[str, Any] = {
        "finish_reason": completion.finish_reason,
        "generated_tokens": completion.generated_tokens,
        "prompt_tokens": completion.prompt_tokens,
    }
    for name, seconds in (timings or {}).items():
        d[f"{name}_ms"] = round(seconds * 1000, 2)
    return d


def _line(obj: Any, accept: str) -> bytes:
    text = json.dumps(obj, ensure_ascii=False)
    return (f"data: {text}\n\n" if accept == EVENT_STREAM else text + "\n").encode("utf-8")


def output_fn(prediction, accept):
    media = negotiate(accept)
    if media is None:
        raise UnsupportedAccept(
            f"cannot produce Accept {accept!r}; this handler returns {', '.join(SUPPORTED_ACCEPTS)}"
        )
    if "scored" in prediction:
        scored = prediction["scored"]
        return _line({"nll": scored.nll, "tokens": scored.tokens}, media).rstrip(b"\n"), media
    completions = prediction["completions"]
    if media == JSON:
        items = [{"generated_text": c.text} for c in completions]
        return json.dumps(items if prediction["is_list"] else items[0]), JSON
    # A streaming type without a streaming server: the final line(s) only.
    body = b"".join(_line({"generated_text": c.text, "details": _details(c)}, media) for c in completions)
    return body, media


def output_stream_fn(event, accept):
    """One engine event (jaxsm.serving.engine) as the bytes of a streamed line or SSE event."""
    from jaxsm.serving.engine import DoneEvent, ErrorEvent, TokenEvent

    if isinstance(event, TokenEvent):
        obj: dict[str, Any] = {"token": {"id": event.token_id, "text": event.text, "index": event.index}}
    elif isinstance(event, DoneEvent):
        timings = {"queue": event.queue_s, "ttft": event.ttft_s, "total": event.total_s}
        obj = {"generated_text": event.completion.text, "details": _details(event.completion, timings)}
    elif isinstance(event, ErrorEvent):
        obj = {"error": {"message": "generation failed; see the endpoint's logs"}}
    else:
        raise TypeError(f"unknown stream event {type(event).__name__}")
    return _line(obj, negotiate(accept) or JSONLINES)
