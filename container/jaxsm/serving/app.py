"""The SageMaker inference routes as an ASGI application (served by uvicorn, see server.py).

Routing, the body's size limit and deadline, and the handler pipeline per request: input_fn ->
engine / side batcher / device-thread batcher -> output_fn, or a streamed answer. HTTP parsing is
uvicorn's (llhttp); the limits uvicorn does not set on a request's head are in http_protocol.py.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from .batcher import QueueFull
from .engine import DoneEvent, ErrorEvent
from .errors import status_for
from .http_protocol import json_error

if TYPE_CHECKING:
    from .server import State

log = logging.getLogger("jaxsm.serve")

MAX_BODY = 6 * 1024 * 1024
DISCARD_LIMIT = 64 * 1024 * 1024
JSONLINES = "application/jsonlines"


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, close: bool = False):
        super().__init__(message)
        self.status, self.message, self.headers, self.close = status, message, headers or {}, close


class ClientGone(Exception):
    """The client closed the connection before its request was read: nobody to answer."""


class StreamFailed(Exception):
    """Raised out of the application after a stream's error line: uvicorn then closes the
    connection without the final chunk, so a proxy sees the answer as broken, not complete."""


@dataclass
class StreamReply:
    """A 200 whose body is written chunk by chunk as `chunks` yields it (chunked encoding).
    The iterator raises StreamFailed after yielding its error line to end the stream broken."""

    content_type: str
    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


class App:
    """The ASGI callable: one coroutine per request on uvicorn's event loop."""

    def __init__(self, state: State):
        self.state = state

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return  # lifespan is off; websockets are not served
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            headers[name.decode("latin-1")] = value.decode("latin-1")
        try:
            try:
                body = await read_body(receive, headers, self.state.read_timeout)
                reply = await route(self.state, scope["method"], scope["path"], headers, body)
            except HttpError as e:
                await respond(send, e.status, json_error(e.status, e.message), "application/json", e.headers, e.close)
                return
        except ClientGone:
            return
        if isinstance(reply, StreamReply):
            await send_stream(send, receive, reply)
            return
        status, payload, ctype, extra = reply
        await respond(send, status, payload, ctype, extra)


async def respond(
    send,
    status: int,
    body: bytes | str,
    content_type: str,
    headers: dict[str, str] | None = None,
    close: bool = False,
) -> None:
    if isinstance(body, str):
        body = body.encode("utf-8")
    raw = [(b"content-type", content_type.encode("latin-1")), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    if close:
        raw.append((b"connection", b"close"))  # uvicorn closes after the response
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body, "more_body": False})


async def read_body(receive, headers: dict[str, str], read_timeout: int) -> bytes:
    """The request body, at most MAX_BODY bytes, fully received within read_timeout s of its head
    (SageMaker gives a whole invocation 60 s; receiving the request alone must not take longer)."""
    deadline = asyncio.get_running_loop().time() + read_timeout
    if "transfer-encoding" in headers:
        raise HttpError(411, "chunked bodies are not supported; send Content-Length", close=True)
    raw = headers.get("content-length")
    if raw is None:
        return b""
    try:
        length = int(raw)
        if length < 0:
            raise ValueError
    except ValueError:
        raise HttpError(400, "invalid Content-Length", close=True) from None
    if length > MAX_BODY:
        # Read (without keeping) a moderately oversized body so the client gets to read the 413
        # instead of a reset connection; beyond DISCARD_LIMIT just answer and close.
        if length <= DISCARD_LIMIT:
            try:
                async with asyncio.timeout_at(deadline):
                    while True:
                        msg = await receive()
                        if msg["type"] != "http.request" or not msg.get("more_body"):
                            break
            except TimeoutError:
                pass  # the 413 is the answer either way
        raise HttpError(413, f"body of {length} bytes exceeds the {MAX_BODY} byte (6 MiB) limit", close=True)
    parts: list[bytes] = []
    try:
        async with asyncio.timeout_at(deadline):
            while True:
                msg = await receive()
                if msg["type"] == "http.disconnect":
                    raise ClientGone()
                parts.append(msg.get("body", b""))
                if not msg.get("more_body"):
                    break
    except TimeoutError:
        raise HttpError(408, f"request body not received within {read_timeout} s", close=True) from None
    return b"".join(parts)


async def send_stream(send, receive, reply: StreamReply) -> None:
    """Write a streamed 200. uvicorn chunks it (or, for HTTP/1.0, closes at the end). A client that
    leaves ends the iteration, which cancels the generation."""
    raw = [(b"content-type", reply.content_type.encode("latin-1"))]
    raw += [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in reply.headers.items()]
    gone = asyncio.ensure_future(_disconnected(receive))
    try:
        await send({"type": "http.response.start", "status": 200, "headers": raw})
        async for data in reply.chunks:
            if gone.done():
                return
            if data:
                await send({"type": "http.response.body", "body": data, "more_body": True})
        await send({"type": "http.response.body", "body": b"", "more_body": False})
    except TimeoutError:
        raise StreamFailed("generation timed out mid-stream") from None
    finally:
        gone.cancel()
        await reply.chunks.aclose()  # type: ignore[attr-defined]


async def _disconnected(receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


async def route(st: State, method: str, path: str, headers: dict[str, str], body: bytes):
    if path == "/ping":
        if method not in ("GET", "HEAD"):
            raise HttpError(405, "use GET /ping", {"Allow": "GET"})
        if st.ready and not st.draining:
            if st.batcher is not None and not st.batcher.alive():
                # No prediction could be answered: SageMaker's health check should replace this instance.
                raise HttpError(503, "the device thread has stopped (see the log)")
            return 200, b"{}", "application/json", None
        raise HttpError(503, st.load_error or ("draining" if st.draining else "loading"))
    if path == "/execution-parameters":
        if method != "GET":
            raise HttpError(405, "use GET /execution-parameters", {"Allow": "GET"})
        return 200, json.dumps(st.execution_parameters()), "application/json", None
    if path == "/invocations":
        if method != "POST":
            raise HttpError(405, "use POST /invocations", {"Allow": "POST"})
        return await invocations(st, headers, body)
    raise HttpError(404, f"no route {method} {path}")


async def invocations(st: State, headers: dict[str, str], body: bytes):
    if not st.ready or st.draining:
        raise HttpError(503, "draining" if st.draining else "model is not loaded yet", {"Retry-After": "5"})
    content_type = headers.get("content-type") or "application/json"
    accept = headers.get("accept") or "application/json"
    if content_type.split(";")[0].strip().lower() == JSONLINES:
        return await records(st, body, accept)
    return await invoke(st, body, content_type, accept)


async def records(st: State, body: bytes, accept: str):
    """A JSON Lines body (Batch Transform's MultiRecord + SplitType Line): every non-blank line
    is one application/json request, answered in order with one line each. Lines end at '\\n'
    only, as SageMaker's SplitType Line splits. Records run concurrently (the engine batches
    them), at most `record_concurrency` at a time so one body never overfills the waiting room;
    the first failing record fails the whole body with its status and its index."""
    if not any(m in ("*/*", "application/*", JSONLINES, "application/json") for m in _media(accept)):
        raise HttpError(406, f"a {JSONLINES} body is answered with {JSONLINES}; cannot produce Accept {accept!r}")
    try:
        lines = body.decode("utf-8").split("\n")
    except UnicodeDecodeError:
        raise HttpError(400, f"{JSONLINES} body is not UTF-8") from None
    numbered = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
    if not numbered:
        raise HttpError(400, f"{JSONLINES} body has no records")
    gate = asyncio.Semaphore(st.record_concurrency())

    async def one(index: int, line_no: int, line: str) -> bytes:
        async with gate:
            try:
                reply = await invoke(st, line.encode("utf-8"), "application/json", "application/json")
            except HttpError as e:
                raise HttpError(e.status, f"record {index} (line {line_no}): {e.message}", e.headers) from None
        if isinstance(reply, StreamReply):  # not reachable: a record's Accept is application/json
            raise HttpError(500, f"record {index}: the handler streamed an answer")
        payload = reply[1]
        text = payload.decode("utf-8") if isinstance(payload, bytes) else payload
        try:
            text = json.dumps(json.loads(text), ensure_ascii=False)  # one line per record
        except ValueError:
            text = text.replace("\n", " ")
        return text.encode("utf-8")

    tasks = [asyncio.ensure_future(one(i, n, line)) for i, (n, line) in enumerate(numbered)]
    try:
        answers = await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        raise
    return 200, b"\n".join(answers) + b"\n", JSONLINES, {"X-Jaxsm-Records": str(len(answers))}


def _body_and_type(result, accept: str) -> tuple[bytes | str, str]:
    # The toolkit's convention: output_fn returns the body, or (body, content_type).
    payload, out_type = (result[0], result[1]) if isinstance(result, tuple) else (result, accept)
    if not isinstance(payload, (bytes, str)):
        payload = json.dumps(payload)
    return payload, out_type


async def invoke(st: State, body: bytes, content_type: str, accept: str):
    """One request through the handler pipeline (input_fn, prediction, output_fn)."""
    h = st.handler
    if accept.strip() in ("*/*", ""):
        accept = "application/json"
    if h.supported_accepts is not None:
        from .builtin_handler import negotiate

        chosen = negotiate(accept, h.supported_accepts)
        if chosen is None:
            raise HttpError(406, f"cannot produce Accept {accept!r}; supported: {', '.join(h.supported_accepts)}")
        accept = chosen
    if h.transform_fn is not None:
        item = (body, content_type, accept)
    else:
        item = await call(st, h.input_fn, body, content_type, stage="input")
    if st.engine is not None and isinstance(item, dict) and "requests" not in item:
        # Not a generation (a score record): batched with its neighbours when the handler batches,
        # else the handler's predict_fn; off the loop either way.
        prediction = await (predict_batched(st, item) if st.batcher is not None else predict_off_loop(st, item))
        payload, out_type = _body_and_type(await call(st, h.output_fn, prediction, accept, stage="output"), accept)
        return 200, payload, out_type, None
    if st.engine is not None:
        if accept in h.stream_accepts:
            return stream(st, item, accept)
        return await complete(st, item, accept)
    if st.batcher is None:
        raise HttpError(503, "model not loaded")
    try:
        fut = st.batcher.submit(item)
    except QueueFull:
        raise HttpError(503, "server busy: request queue is full", {"Retry-After": "1"}) from None
    try:
        prediction = await asyncio.wait_for(asyncio.wrap_future(fut), st.request_timeout)
    except TimeoutError:
        raise HttpError(503, "prediction timed out", {"Retry-After": "1"}) from None
    except Exception as e:  # noqa: BLE001
        raise client_or_internal(e, "predict") from None
    if h.transform_fn is not None:
        result = prediction
    else:
        result = await call(st, h.output_fn, prediction, accept, stage="output")
    payload, out_type = _body_and_type(result, accept)
    return 200, payload, out_type, {"X-Jaxsm-Batch": str(getattr(fut, "batch_size", 1))}


async def call(st: State, fn, *args, stage: str):
    """A handler function: on the loop when it is the built-in (cheap JSON work), else on a worker
    thread, since a user's may be slow or blocking and /ping must stay responsive."""
    try:
        if st.inline or st.inline_fns.get(stage):
            return fn(*args)
        return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
    except Exception as e:  # noqa: BLE001
        raise client_or_internal(e, stage) from None


async def predict_off_loop(st: State, item):
    """predict_fn on a worker thread (device work must not block the event loop)."""
    try:
        return await asyncio.get_running_loop().run_in_executor(None, st.handler.predict_fn, item, st.model)
    except Exception as e:  # noqa: BLE001
        raise client_or_internal(e, "predict") from None


async def predict_batched(st: State, item):
    """The item through the side batcher (predict_batch_fn over whatever is waiting with it)."""
    assert st.batcher is not None
    try:
        fut = st.batcher.submit(item)
    except QueueFull:
        raise HttpError(503, "server busy: request queue is full", {"Retry-After": "1"}) from None
    try:
        return await asyncio.wait_for(asyncio.wrap_future(fut), st.request_timeout)
    except TimeoutError:
        raise HttpError(503, "prediction timed out", {"Retry-After": "1"}) from None
    except Exception as e:  # noqa: BLE001
        raise client_or_internal(e, "predict") from None


async def complete(st: State, data, accept: str):
    """The engine path without streaming: every prompt to completion, then output_fn."""
    assert st.engine is not None
    try:
        done = await st.engine.complete(_engine_requests(data), st.request_timeout)
    except QueueFull as e:
        raise HttpError(503, f"server busy: {e}", {"Retry-After": "1"}) from None
    except TimeoutError:
        raise HttpError(503, f"generation not done within {st.request_timeout} s", {"Retry-After": "1"}) from None
    except Exception as e:  # noqa: BLE001
        raise client_or_internal(e, "predict") from None
    prediction = {**data, "completions": [d.completion for d in done]}
    payload, out_type = _body_and_type(await call(st, st.handler.output_fn, prediction, accept, stage="output"), accept)
    extra = {
        "X-Jaxsm-Batch": str(max(d.peak_batch for d in done)),
        "X-Jaxsm-Ttft-Ms": f"{max(d.ttft_s for d in done) * 1000:.1f}",
    }
    return 200, payload, out_type, extra


def stream(st: State, data, accept: str) -> StreamReply:
    """The engine path with a streaming Accept: one chunk per batch of token events."""
    assert st.engine is not None
    output_stream_fn = st.handler.output_stream_fn
    assert output_stream_fn is not None
    requests = _engine_requests(data)
    if len(requests) != 1 or data.get("is_list"):
        raise HttpError(400, f'a streamed answer ({accept}) is for one prompt: send "inputs" as a string')
    try:
        _, events = st.engine.stream(requests[0], st.request_timeout)
    except QueueFull as e:
        raise HttpError(503, f"server busy: {e}", {"Retry-After": "1"}) from None

    async def chunks() -> AsyncIterator[bytes]:
        try:
            async for batch in events:
                yield b"".join(output_stream_fn(ev, accept) for ev in batch)
                if isinstance(batch[-1], ErrorEvent):
                    log.error("generation failed mid-stream", exc_info=batch[-1].error)
                    raise StreamFailed("generation failed mid-stream")
                if isinstance(batch[-1], DoneEvent):
                    return
        finally:
            await events.aclose()  # type: ignore[attr-defined]  # cancels the generation if still running

    return StreamReply(accept, chunks(), {"Cache-Control": "no-cache"})


def _media(accept: str) -> list[str]:
    return [part.split(";")[0].strip().lower() or "*/*" for part in (accept or "*/*").split(",")]


def _engine_requests(data) -> list:
    """The prompts an engine handler's input_fn parsed (the built-in handler's contract)."""
    requests = data.get("requests") if isinstance(data, dict) else None
    if not isinstance(requests, list) or not requests:
        raise HttpError(500, "input_fn must return {'requests': [jaxsm.generate.Request, ...]} when engine_fn is used")
    return requests


def client_or_internal(exc: BaseException, stage: str) -> HttpError:
    status = status_for(exc, stage)
    if status is None:
        log.error("%s failed", stage, exc_info=exc)
        return HttpError(500, f"internal error in {stage}; see the endpoint's logs")
    return HttpError(status, str(exc))
