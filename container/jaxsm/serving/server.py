"""`serve`: the SageMaker inference contract in one process that owns the device.

  GET  /ping                  200 once the model is loaded and every shape is compiled, 503
                              before (and while draining); answered by the event loop, which
                              never waits for the device, so it stays fast when saturated
  POST /invocations           handler pipeline. With the built-in prediction (engine_fn):
                              input_fn -> continuous-batching engine (one scheduler thread per
                              device, jaxsm.serving.engine) -> output_fn, or, for a streaming
                              Accept (application/jsonlines, text/event-stream), each token as
                              a chunk of a `Transfer-Encoding: chunked` response as it is
                              produced. Other handlers: input_fn -> bounded queue -> predict_fn
                              (or predict_batch_fn / transform_fn) on the device thread ->
                              output_fn.
                              A Content-Type application/jsonlines body is N records (Batch
                              Transform's MultiRecord + SplitType Line): each line is served as
                              one application/json request would be, and the answer is N lines
                              in the same order (application/jsonlines); a failing record fails
                              the body with its status and "record <i> (line <n>): ...".
  GET  /execution-parameters  what Batch Transform may send: MULTI_RECORD, MaxPayloadInMB 6 (the
                              body limit), MaxConcurrentTransforms from the engine's capacity

Status codes: 400 malformed input (message in the body), 404 unknown path, 405 wrong method,
406 unsupported Accept, 408 request not fully received within JAXSM_READ_TIMEOUT_S of its first
byte (a slow client), 411 chunked body, 413 body over 6 MiB, 415 unsupported Content-Type,
431 headers over 64 KiB, 503 not ready / queue full (with Retry-After, at once: never a hang) /
draining, 500 handler failure (traceback in the log, never the body). A stream that fails after
its 200 header ends with an {"error": ...} line and the connection closes without the final
chunk, so a proxy sees it as broken rather than complete. An idle keep-alive connection is closed after
JAXSM_READ_TIMEOUT_S, so slow or silent clients cannot hold connections (file descriptors) forever.
SIGTERM: stop accepting, finish queued and in-flight requests, exit 0.

Transport: asyncio (uvloop when available) with keep-alive HTTP/1.1; the device work runs on
engine (or batcher) threads, so the event loop only parses, routes and serialises.

Why not the toolkit's Multi Model Server: MMS forks one Python worker per CPU/GPU and each JAX
worker would claim the accelerator; one process with a batching queue uses it fully.

Environment: SAGEMAKER_BIND_TO_PORT (8080), JAXSM_BIND_HOST (0.0.0.0), SAGEMAKER_PROGRAM
(handler module, default inference.py), JAXSM_SLOTS (engine KV-cache slots per device: 16 on CPU,
sized to memory on accelerators), JAXSM_DTYPE (auto: bfloat16 on accelerators, float32 on CPU),
JAXSM_PREFILL_TOKENS_PER_STEP (512), JAXSM_CPU_ENGINES (1; on a CPU-only host, that many single-threaded
engines, see engine.configure_cpu_engines), JAXSM_MAX_BATCH (32, handlers without the engine), JAXSM_MAX_QUEUE (256),
JAXSM_REQUEST_TIMEOUT_S (120), JAXSM_READ_TIMEOUT_S (60), JAXSM_DRAIN_TIMEOUT_S (60),
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS / SAGEMAKER_BATCH_STRATEGY / SAGEMAKER_MAX_PAYLOAD_IN_MB.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import Any

from ..paths import SageMakerPaths
from .batcher import Batcher, QueueFull
from .engine import DoneEvent, ErrorEvent
from .engine_client import EngineClient
from .errors import status_for
from .handlers import Handler, load_handler
from .user_code import install_requirements

log = logging.getLogger("jaxsm.serve")

MAX_BODY = 6 * 1024 * 1024
BUILTIN_MODULE = "jaxsm.serving.handler"
DISCARD_LIMIT = 64 * 1024 * 1024
JSONLINES = "application/jsonlines"


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class State:
    """Server state shared by the event loop, the loader thread and the device thread."""

    def __init__(self, handler: Handler, model_dir: Path):
        self.handler = handler
        self.model_dir = model_dir
        self.model: Any = None
        self.ready = False
        self.draining = False
        self.load_error: str | None = None
        self.batcher: Batcher | None = None
        self.engine: EngineClient | None = None
        self.loop: asyncio.AbstractEventLoop | None = None
        self.inflight = 0  # only touched on the event loop
        self.connections: set = set()
        # Built-in handler functions are cheap JSON work: run them on the loop. A user's may be
        # slow or blocking: run those on worker threads so /ping stays responsive.
        self.inline = handler.source.startswith("built-in")
        self.inline_fns = {
            name: getattr(fn, "__module__", "") == BUILTIN_MODULE
            for name, fn in (("input", handler.input_fn), ("output", handler.output_fn))
        }
        self.request_timeout = _env_int("JAXSM_REQUEST_TIMEOUT_S", 120)
        # SageMaker gives a whole invocation 60 s; receiving the request alone must not take longer.
        self.read_timeout = max(1, _env_int("JAXSM_READ_TIMEOUT_S", 60))

    def load(self) -> None:
        """Load the model (model_fn), then start the engine (engine_fn compiles it) or the device thread."""
        t0 = time.perf_counter()
        try:
            self.model = self.handler.model_fn(str(self.model_dir))
        except Exception as e:  # noqa: BLE001 - stay up and report unhealthy, with the reason logged
            log.exception("model_fn failed")
            self.load_error = f"{type(e).__name__}: {e}"
            return
        h = self.handler
        transform_fn, predict_batch_fn = h.transform_fn, h.predict_batch_fn
        if transform_fn is None and h.engine_fn is not None:
            try:
                pool = h.engine_fn(self.model)
            except Exception as e:  # noqa: BLE001 - as for model_fn
                log.exception("engine_fn failed")
                self.load_error = f"{type(e).__name__}: {e}"
                return
            assert self.loop is not None
            self.engine = EngineClient(pool, self.loop)
            if predict_batch_fn is not None:
                # What is not a generation (score records) is batched beside the engine: the records of a
                # JSON Lines body arrive together and share one forward pass.
                def predict_side(items):
                    return predict_batch_fn(items, self.model)

                self.batcher = Batcher(predict_side, _env_int("JAXSM_MAX_BATCH", 32), _env_int("JAXSM_MAX_QUEUE", 256))
                self.batcher.start()
            self.ready = True
            log.info("ready in %.1fs (handler: %s; %s)", time.perf_counter() - t0, h.source, pool.describe())
            return
        if transform_fn is not None:

            def predict_batch(items):
                return [self._guard(lambda it=it: transform_fn(self.model, *it)) for it in items]
        elif predict_batch_fn is not None:

            def predict_batch(items):
                return predict_batch_fn(items, self.model)
        else:

            def predict_batch(items):
                return [self._guard(lambda it=it: h.predict_fn(it, self.model)) for it in items]

        self.batcher = Batcher(predict_batch, _env_int("JAXSM_MAX_BATCH", 32), _env_int("JAXSM_MAX_QUEUE", 256))
        self.batcher.start()
        self.ready = True
        log.info("ready in %.1fs (handler: %s)", time.perf_counter() - t0, h.source)

    async def call(self, fn, *args, stage: str):
        try:
            if self.inline or self.inline_fns.get(stage):
                return fn(*args)
            return await asyncio.get_running_loop().run_in_executor(None, fn, *args)
        except Exception as e:  # noqa: BLE001
            raise _client_or_internal(e, stage) from None

    async def predict_off_loop(self, item):
        """predict_fn on a worker thread (device work must not block the event loop)."""
        try:
            return await asyncio.get_running_loop().run_in_executor(None, self.handler.predict_fn, item, self.model)
        except Exception as e:  # noqa: BLE001
            raise _client_or_internal(e, "predict") from None

    async def predict_batched(self, item):
        """The item through the side batcher (predict_batch_fn over whatever is waiting with it)."""
        assert self.batcher is not None
        try:
            fut = self.batcher.submit(item)
        except QueueFull:
            raise HttpError(503, "server busy: request queue is full", {"Retry-After": "1"}) from None
        try:
            return await asyncio.wait_for(asyncio.wrap_future(fut), self.request_timeout)
        except TimeoutError:
            raise HttpError(503, "prediction timed out", {"Retry-After": "1"}) from None
        except Exception as e:  # noqa: BLE001
            raise _client_or_internal(e, "predict") from None

    def total_slots(self) -> int:
        """Requests the device side runs at once: engine slots, or the batcher's batch size."""
        if self.engine is not None:
            return max(1, sum(e.slots for e in self.engine.pool.engines))
        return max(1, _env_int("JAXSM_MAX_BATCH", 32))

    def record_concurrency(self) -> int:
        """Records of one JSON Lines body in flight at once: what the device side runs at once."""
        return self.total_slots()

    def execution_parameters(self) -> dict[str, Any]:
        """GET /execution-parameters: what this server really supports, for Batch Transform.

        MaxConcurrentTransforms: how many full multi-record bodies (each keeping every slot busy)
        fit in the waiting room at once without a 503. MaxPayloadInMB: AWS's default, 6 MB, which
        is also this server's body limit (MAX_BODY). BatchStrategy: MULTI_RECORD, since a JSON
        Lines body of N records is answered with N lines. The SAGEMAKER_* variables override.
        """
        max_queue = max(1, _env_int("JAXSM_MAX_QUEUE", 256))
        concurrent = max(1, max_queue // self.record_concurrency())
        return {
            "MaxConcurrentTransforms": _env_int("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", concurrent),
            "BatchStrategy": os.environ.get("SAGEMAKER_BATCH_STRATEGY", "MULTI_RECORD"),
            "MaxPayloadInMB": _env_int("SAGEMAKER_MAX_PAYLOAD_IN_MB", MAX_BODY // (1024 * 1024)),
        }

    @staticmethod
    def _guard(fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - delivered to that request only
            return e


class HttpError(Exception):
    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None, close: bool = False):
        super().__init__(message)
        self.status, self.message, self.headers, self.close = status, message, headers or {}, close


@dataclass
class StreamReply:
    """A 200 whose body is written chunk by chunk as `chunks` yields it (chunked encoding).
    The iterator raises StreamFailed after yielding its error line to end the stream broken."""

    content_type: str
    chunks: AsyncIterator[bytes]
    headers: dict[str, str] = field(default_factory=dict)


class StreamFailed(Exception):
    pass


_REASONS = {s.value: s.phrase for s in HTTPStatus}


class Connection:
    """One keep-alive HTTP/1.1 connection, served by a coroutine on the event loop.

    A minimal HTTP/1.1 implementation (request line, headers, Content-Length bodies): the
    stdlib's thread-per-connection server spent more CPU per request than the model did.
    """

    def __init__(self, state: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
        self.state, self.reader, self.writer = state, reader, writer
        self.deadline = 0.0  # loop time by which the current request must be fully received

    async def serve(self) -> None:
        st = self.state
        st.connections.add(self)
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    # Idle keep-alive: wait for the first byte of the next request, not forever.
                    async with asyncio.timeout(st.read_timeout):
                        first = await self.reader.read(1)
                    if not first:
                        return
                    self.deadline = loop.time() + st.read_timeout
                    async with asyncio.timeout_at(self.deadline):
                        head = first + await self.reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, ConnectionError):
                    return
                except TimeoutError:
                    if self.deadline and loop.time() >= self.deadline:
                        await self.send(
                            408,
                            _json_error(408, f"request headers not received within {st.read_timeout} s"),
                            close=True,
                        )
                    return
                except asyncio.LimitOverrunError:
                    await self.send(431, _json_error(431, "request headers too large"), close=True)
                    return
                keep_alive = await self.handle(head)
                self.deadline = 0.0
                if not keep_alive:
                    return
        finally:
            st.connections.discard(self)
            self.writer.close()

    async def send(
        self,
        status: int,
        body: bytes | str,
        content_type: str = "application/json",
        headers: dict[str, str] | None = None,
        close: bool = False,
    ) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        lines = [
            f"HTTP/1.1 {status} {_REASONS.get(status, '')}",
            f"Content-Type: {content_type}",
            f"Content-Length: {len(body)}",
            "Server: jaxsm",
        ]
        lines += [f"{k}: {v}" for k, v in (headers or {}).items()]
        if close:
            lines.append("Connection: close")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)
        try:
            await self.writer.drain()
        except ConnectionError:
            pass

    async def handle(self, head: bytes) -> bool:
        """Serve one request; returns whether the connection stays open."""
        try:
            request_line, *header_lines = head[:-4].decode("latin-1").split("\r\n")
            method, target, version = request_line.split(" ", 2)
        except ValueError:
            await self.send(400, _json_error(400, "malformed request line"), close=True)
            return False
        headers = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        close = headers.get("connection", "").lower() == "close" or version == "HTTP/1.0"
        path = target.split("?")[0]
        counted = path == "/invocations"
        if counted:
            self.state.inflight += 1  # until the last byte is written: SIGTERM's drain waits for it
        try:
            try:
                body = await self.read_body(headers)
                reply = await self.route(method, path, headers, body)
            except HttpError as e:
                await self.send(e.status, _json_error(e.status, e.message), headers=e.headers, close=e.close or close)
                return not (e.close or close)
            if isinstance(reply, StreamReply):
                return await self.send_stream(reply, close, chunked=version != "HTTP/1.0")
            status, payload, ctype, extra = reply
            await self.send(status, payload, ctype, extra, close=close)
            return not close
        finally:
            if counted:
                self.state.inflight -= 1

    async def send_stream(self, reply: StreamReply, close: bool, chunked: bool) -> bool:
        """Write a streamed 200; returns whether the connection stays open (it does not when
        the stream failed, the client left, or an HTTP/1.0 client needs the close as the end)."""
        lines = ["HTTP/1.1 200 OK", f"Content-Type: {reply.content_type}", "Server: jaxsm"]
        lines += [f"{k}: {v}" for k, v in reply.headers.items()]
        lines.append("Transfer-Encoding: chunked" if chunked else "Connection: close")
        if close and chunked:
            lines.append("Connection: close")
        self.writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
        try:
            async for data in reply.chunks:
                if data:
                    self.writer.write(b"%x\r\n%b\r\n" % (len(data), data) if chunked else data)
                    await self.writer.drain()
            if chunked:
                self.writer.write(b"0\r\n\r\n")
                await self.writer.drain()
        except (StreamFailed, TimeoutError):
            return False  # closing without the last chunk tells the client the answer is incomplete
        except ConnectionError:
            return False  # the client left; leaving the iterator cancels the generation
        finally:
            await reply.chunks.aclose()  # type: ignore[attr-defined]
        return chunked and not close

    async def read_body(self, headers: dict[str, str]) -> bytes:
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
        too_slow = HttpError(408, f"request body not received within {self.state.read_timeout} s", close=True)
        if length > MAX_BODY:
            # Drain (without keeping) a moderately oversized body so the client gets to read
            # the 413 instead of a broken pipe; beyond DISCARD_LIMIT just close the connection.
            if length <= DISCARD_LIMIT:
                remaining = length
                try:
                    async with asyncio.timeout_at(self.deadline):
                        while remaining > 0:
                            chunk = await self.reader.read(min(remaining, 1 << 20))
                            if not chunk:
                                break
                            remaining -= len(chunk)
                except TimeoutError:
                    pass  # the 413 is the answer either way
            raise HttpError(413, f"body of {length} bytes exceeds the {MAX_BODY} byte (6 MiB) limit", close=True)
        try:
            async with asyncio.timeout_at(self.deadline):
                return await self.reader.readexactly(length)
        except asyncio.IncompleteReadError:
            raise HttpError(400, "body shorter than Content-Length", close=True) from None
        except TimeoutError:
            raise too_slow from None

    async def route(self, method: str, path: str, headers: dict[str, str], body: bytes):
        st = self.state
        if path == "/ping":
            if method not in ("GET", "HEAD"):
                raise HttpError(405, "use GET /ping", {"Allow": "GET"})
            if st.ready and not st.draining:
                return 200, b"{}", "application/json", None
            raise HttpError(503, st.load_error or ("draining" if st.draining else "loading"))
        if path == "/execution-parameters":
            if method != "GET":
                raise HttpError(405, "use GET /execution-parameters", {"Allow": "GET"})
            return 200, json.dumps(st.execution_parameters()), "application/json", None
        if path == "/invocations":
            if method != "POST":
                raise HttpError(405, "use POST /invocations", {"Allow": "POST"})
            return await self.invocations(headers, body)
        raise HttpError(404, f"no route {method} {path}")

    async def invocations(self, headers: dict[str, str], body: bytes):
        st = self.state
        if not st.ready or st.draining:
            raise HttpError(503, "draining" if st.draining else "model is not loaded yet", {"Retry-After": "5"})
        content_type = headers.get("content-type") or "application/json"
        accept = headers.get("accept") or "application/json"
        if content_type.split(";")[0].strip().lower() == JSONLINES:
            return await self.records(body, accept)
        return await self.invoke(body, content_type, accept)

    async def records(self, body: bytes, accept: str):
        """A JSON Lines body (Batch Transform's MultiRecord + SplitType Line): every non-blank line
        is one application/json request, answered in order with one line each. Records run
        concurrently (the engine batches them), at most `record_concurrency` at a time so one
        body never overfills the waiting room; the first failing record fails the whole body
        with its status and its index, as one failed request would."""
        st = self.state
        if not any(m in ("*/*", "application/*", JSONLINES, "application/json") for m in _media(accept)):
            raise HttpError(406, f"a {JSONLINES} body is answered with {JSONLINES}; cannot produce Accept {accept!r}")
        try:
            # Split on "\n" only, as Batch Transform's SplitType Line does ("on a newline character boundary"):
            # str.splitlines() would also break a record at U+2028, U+2029, U+0085, \v, \f and \x1c-\x1e,
            # which JSON strings may hold raw. A "\r" before the "\n" is JSON whitespace and is dropped.
            lines = [line.removesuffix("\r") for line in body.decode("utf-8").split("\n")]
        except UnicodeDecodeError:
            raise HttpError(400, f"{JSONLINES} body is not UTF-8") from None
        records = [(n, line) for n, line in enumerate(lines, start=1) if line.strip()]
        if not records:
            raise HttpError(400, f"{JSONLINES} body has no records")
        gate = asyncio.Semaphore(st.record_concurrency())

        async def one(index: int, line_no: int, line: str) -> bytes:
            async with gate:
                try:
                    reply = await self.invoke(line.encode("utf-8"), "application/json", "application/json")
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

        tasks = [asyncio.ensure_future(one(i, n, line)) for i, (n, line) in enumerate(records)]
        try:
            answers = await asyncio.gather(*tasks)
        except BaseException:
            for t in tasks:
                t.cancel()
            raise
        return 200, b"\n".join(answers) + b"\n", JSONLINES, {"X-Jaxsm-Records": str(len(answers))}

    async def invoke(self, body: bytes, content_type: str, accept: str):
        """One request through the handler pipeline (input_fn, prediction, output_fn)."""
        st = self.state
        h = st.handler
        if accept.strip() in ("*/*", ""):
            accept = "application/json"
        if h.supported_accepts is not None:
            from .handler import negotiate

            chosen = negotiate(accept, h.supported_accepts)
            if chosen is None:
                raise HttpError(406, f"cannot produce Accept {accept!r}; supported: {', '.join(h.supported_accepts)}")
            accept = chosen
        if h.transform_fn is not None:
            item = (body, content_type, accept)
        else:
            item = await st.call(h.input_fn, body, content_type, stage="input")
        if st.engine is not None and isinstance(item, dict) and "requests" not in item:
            # Not a generation (a score record): batched with its neighbours when the handler batches,
            # else the handler's predict_fn; off the loop either way.
            prediction = await (st.predict_batched(item) if st.batcher is not None else st.predict_off_loop(item))
            result = await st.call(h.output_fn, prediction, accept, stage="output")
            payload, out_type = (result[0], result[1]) if isinstance(result, tuple) else (result, accept)
            if not isinstance(payload, (bytes, str)):
                payload = json.dumps(payload)
            return 200, payload, out_type, None
        if st.engine is not None:
            if accept in h.stream_accepts:
                return self.stream(item, accept)
            return await self.complete(item, accept)
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
            raise _client_or_internal(e, "predict") from None
        if h.transform_fn is not None:
            result = prediction
        else:
            result = await st.call(h.output_fn, prediction, accept, stage="output")
        # The toolkit's convention: output_fn returns the body, or (body, content_type).
        if isinstance(result, tuple):
            payload, out_type = result[0], result[1]
        else:
            payload, out_type = result, accept
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        return 200, payload, out_type, {"X-Jaxsm-Batch": str(getattr(fut, "batch_size", 1))}

    async def complete(self, data, accept: str):
        """The engine path without streaming: every prompt to completion, then output_fn."""
        st = self.state
        assert st.engine is not None
        try:
            done = await st.engine.complete(_engine_requests(data), st.request_timeout)
        except QueueFull as e:
            raise HttpError(503, f"server busy: {e}", {"Retry-After": "1"}) from None
        except TimeoutError:
            raise HttpError(503, f"generation not done within {st.request_timeout} s", {"Retry-After": "1"}) from None
        except Exception as e:  # noqa: BLE001
            raise _client_or_internal(e, "predict") from None
        prediction = {**data, "completions": [d.completion for d in done]}
        result = await st.call(st.handler.output_fn, prediction, accept, stage="output")
        payload, out_type = (result[0], result[1]) if isinstance(result, tuple) else (result, accept)
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        extra = {
            "X-Jaxsm-Batch": str(max(d.peak_batch for d in done)),
            "X-Jaxsm-Ttft-Ms": f"{max(d.ttft_s for d in done) * 1000:.1f}",
        }
        return 200, payload, out_type, extra

    def stream(self, data, accept: str) -> StreamReply:
        """The engine path with a streaming Accept: one chunk per batch of token events."""
        st = self.state
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
                        raise StreamFailed()
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


def _json_error(status: int, message: str) -> bytes:
    return json.dumps({"error": _REASONS.get(status, "Error"), "message": message}).encode()


def _client_or_internal(exc: BaseException, stage: str) -> HttpError:
    status = status_for(exc, stage)
    if status is None:
        log.error("%s failed", stage, exc_info=exc)
        return HttpError(500, f"internal error in {stage}; see the endpoint's logs")
    return HttpError(status, str(exc))


async def serve_async(state: State, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    state.loop = loop
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(
        lambda r, w: Connection(state, r, w).serve(),
        host,
        port,
        backlog=1024,
        limit=64 * 1024,
    )
    log.info("listening on %s:%d (model dir %s)", host, port, state.model_dir)
    # Load (model_fn + warm-up) off the loop so /ping answers 503 meanwhile.
    loader = loop.run_in_executor(None, state.load)
    await stop.wait()
    log.info("SIGTERM: draining")
    state.draining = True
    server.close()  # no new connections
    timeout = float(os.environ.get("JAXSM_DRAIN_TIMEOUT_S", "60"))
    deadline = loop.time() + timeout
    while loop.time() < deadline:
        engine_idle = state.engine is None or state.engine.pool.pending() == 0
        if state.inflight == 0 and engine_idle and (state.batcher is None or state.batcher.pending() == 0):
            break
        await asyncio.sleep(0.02)
    if state.batcher is not None:
        await loop.run_in_executor(None, state.batcher.stop, max(0.0, deadline - loop.time()))
    if state.engine is not None:
        await loop.run_in_executor(None, state.engine.pool.stop, max(0.0, deadline - loop.time()))
    for conn in list(state.connections):  # idle keep-alive connections
        conn.writer.close()
    if not loader.done():
        log.info("model was still loading; exiting without waiting for it")
    log.info("drained; exiting")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(
        level=os.environ.get("JAXSM_LOG_LEVEL", "INFO"), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    from .engine import configure_cpu_engines

    configure_cpu_engines()  # before anything initialises JAX
    paths = SageMakerPaths.from_env()
    host = os.environ.get("JAXSM_BIND_HOST", "0.0.0.0")
    port = _env_int("SAGEMAKER_BIND_TO_PORT", 8080)
    install_requirements(paths.model_code)
    state = State(load_handler(paths.model), paths.model)
    try:
        import uvloop  # a faster event loop when installed (it is, via sagemaker-training)

        uvloop.run(serve_async(state, host, port))
    except ImportError:
        asyncio.run(serve_async(state, host, port))
    # Leave without waiting for a model_fn that may still be running in its thread.
    logging.shutdown()
    os._exit(0)


if __name__ == "__main__":
    main()
