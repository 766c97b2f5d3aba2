"""`serve`: the SageMaker inference contract in one process that owns the device.

  GET  /ping                  200 once the model is loaded and every bucket is compiled,
                              503 before (and while draining); served by its own thread so it
                              answers at once even when inference is saturated
  POST /invocations           handler pipeline: input_fn (HTTP thread) -> bounded queue ->
                              batched predict on the device thread -> output_fn (HTTP thread)
  GET  /execution-parameters  batch transform defaults

Status codes: 400 malformed input (message in the body), 404 unknown path, 405 wrong method,
406 unsupported Accept, 413 body over 6 MiB, 415 unsupported Content-Type, 503 not ready / queue
full (with Retry-After) / draining, 500 handler failure (traceback in the log, never the body).
SIGTERM: stop accepting, finish queued and in-flight requests, exit 0.

Why not the toolkit's Multi Model Server: MMS forks one Python worker per CPU/GPU and each JAX
worker would claim the accelerator; one process with a batching queue uses it fully.

Environment: SAGEMAKER_BIND_TO_PORT (8080), JAXSM_BIND_HOST (0.0.0.0), SAGEMAKER_PROGRAM
(handler module, default inference.py), JAXSM_MAX_BATCH (32), JAXSM_MAX_QUEUE (256),
JAXSM_REQUEST_TIMEOUT_S (120), JAXSM_DRAIN_TIMEOUT_S (60),
SAGEMAKER_MAX_CONCURRENT_TRANSFORMS / SAGEMAKER_BATCH_STRATEGY / SAGEMAKER_MAX_PAYLOAD_IN_MB.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from ..paths import SageMakerPaths
from .batcher import Batcher, QueueFull
from .errors import status_for
from .handlers import Handler, load_handler

log = logging.getLogger("jaxsm.serve")

MAX_BODY = 6 * 1024 * 1024
DISCARD_LIMIT = 64 * 1024 * 1024


def _env_int(name: str, default: int) -> int:
    try:
        return int(os.environ.get(name, default))
    except ValueError:
        return default


class State:
    """Everything the request threads share."""

    def __init__(self, handler: Handler, model_dir: Path):
        self.handler = handler
        self.model_dir = model_dir
        self.model: Any = None
        self.ready = False
        self.draining = False
        self.load_error: str | None = None
        self.batcher: Batcher | None = None
        self.inflight = 0
        self.lock = threading.Lock()
        self.request_timeout = _env_int("JAXSM_REQUEST_TIMEOUT_S", 120)

    def load(self) -> None:
        """Load the model (model_fn warms the jitted functions) and start the device thread."""
        t0 = time.perf_counter()
        try:
            self.model = self.handler.model_fn(str(self.model_dir))
        except Exception as e:  # noqa: BLE001 - stay up and report unhealthy, with the reason logged
            log.exception("model_fn failed")
            self.load_error = f"{type(e).__name__}: {e}"
            return
        h = self.handler
        if h.transform_fn is not None:
            def predict_batch(items):
                return [self._guard(lambda it=it: h.transform_fn(self.model, *it)) for it in items]
        elif h.predict_batch_fn is not None:
            def predict_batch(items):
                return h.predict_batch_fn(items, self.model)
        else:
            def predict_batch(items):
                return [self._guard(lambda it=it: h.predict_fn(it, self.model)) for it in items]
        self.batcher = Batcher(predict_batch, _env_int("JAXSM_MAX_BATCH", 32), _env_int("JAXSM_MAX_QUEUE", 256))
        self.batcher.start()
        self.ready = True
        log.info("ready in %.1fs (handler: %s)", time.perf_counter() - t0, h.source)

    @staticmethod
    def _guard(fn):
        try:
            return fn()
        except Exception as e:  # noqa: BLE001 - delivered to that request only
            return e


class RequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: clients reuse connections
    server_version = "jaxsm"
    sys_version = ""
    state: State  # set on the subclass built in make_server

    def log_message(self, fmt, *args):  # access log at DEBUG; errors are logged explicitly
        log.debug("%s " + fmt, self.address_string(), *args)

    # -- helpers -----------------------------------------------------------------------------
    def _send(self, status: int, body: bytes | str, content_type: str = "application/json",
              headers: dict[str, str] | None = None) -> None:
        if isinstance(body, str):
            body = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _error(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        self._send(status, json.dumps({"error": HTTPStatus(status).phrase, "message": message}), headers=headers)

    # -- routes ------------------------------------------------------------------------------
    def do_GET(self):
        path = self.path.split("?")[0]
        st = self.state
        if path == "/ping":
            if st.ready and not st.draining:
                self._send(200, b"{}")
            else:
                reason = st.load_error or ("draining" if st.draining else "loading")
                self._error(503, reason)
        elif path == "/execution-parameters":
            self._send(200, json.dumps({
                "MaxConcurrentTransforms": _env_int("SAGEMAKER_MAX_CONCURRENT_TRANSFORMS", 4),
                "BatchStrategy": os.environ.get("SAGEMAKER_BATCH_STRATEGY", "MULTI_RECORD"),
                "MaxPayloadInMB": _env_int("SAGEMAKER_MAX_PAYLOAD_IN_MB", 6),
            }))
        elif path == "/invocations":
            self._error(405, "use POST /invocations", {"Allow": "POST"})
        else:
            self._error(404, f"no route {path}")

    def do_POST(self):
        path = self.path.split("?")[0]
        if path != "/invocations":
            self._discard_body()
            self._error(404 if path != "/ping" else 405, f"no POST route {path}")
            return
        st = self.state
        with st.lock:
            st.inflight += 1
        try:
            self._invocations()
        finally:
            with st.lock:
                st.inflight -= 1

    def _discard_body(self) -> None:
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = 0
        if 0 < n <= MAX_BODY:
            self.rfile.read(n)
        elif n:
            self.close_connection = True

    def _invocations(self) -> None:
        st = self.state
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self.close_connection = True
            self._error(411 if "Content-Length" not in self.headers else 400, "a valid Content-Length is required")
            return
        if length > MAX_BODY:
            # Drain (without keeping) a moderately oversized body so the client gets to read
            # the 413 instead of a broken pipe; beyond DISCARD_LIMIT just close the connection.
            if length <= DISCARD_LIMIT:
                remaining = length
                while remaining > 0:
                    chunk = self.rfile.read(min(remaining, 1 << 20))
                    if not chunk:
                        break
                    remaining -= len(chunk)
            self.close_connection = True
            self._error(413, f"body of {length} bytes exceeds the {MAX_BODY} byte (6 MiB) limit")
            return
        body = self.rfile.read(length)
        if not st.ready or st.draining:
            self._error(503, "draining" if st.draining else "model is not loaded yet", {"Retry-After": "5"})
            return
        h = st.handler
        content_type = self.headers.get("Content-Type") or "application/json"
        accept = self.headers.get("Accept") or "application/json"
        if accept.strip() in ("*/*", ""):
            accept = "application/json"
        if h.supported_accepts is not None:
            from .handler import accepts_json
            if not accepts_json(accept):
                self._error(406, f"cannot produce Accept {accept!r}; supported: {', '.join(h.supported_accepts)}")
                return
        try:
            if h.transform_fn is not None:
                item = (body, content_type, accept)
            else:
                item = h.input_fn(body, content_type)
        except Exception as e:  # noqa: BLE001
            status = status_for(e, "input")
            if status is None:
                return self._internal("input_fn", e)
            self._error(status, str(e))
            return
        try:
            fut = st.batcher.submit(item)
        except QueueFull:
            self._error(503, "server busy: request queue is full", {"Retry-After": "1"})
            return
        try:
            prediction = fut.result(timeout=st.request_timeout)
        except Exception as e:  # noqa: BLE001
            status = status_for(e, "predict")
            if status is None:
                return self._internal("predict", e)
            self._error(status, str(e))
            return
        if h.transform_fn is not None:
            result = prediction
        else:
            try:
                result = h.output_fn(prediction, accept)
            except Exception as e:  # noqa: BLE001
                status = status_for(e, "output")
                if status is None:
                    return self._internal("output_fn", e)
                self._error(status, str(e))
                return
        # The toolkit's convention: output_fn returns the body, or (body, content_type).
        if isinstance(result, tuple):
            payload, out_type = result[0], result[1]
        else:
            payload, out_type = result, accept
        if not isinstance(payload, (bytes, str)):
            payload = json.dumps(payload)
        self._send(200, payload, out_type, {"X-Jaxsm-Batch": str(getattr(fut, "batch_size", 1))})

    def _internal(self, stage: str, exc: BaseException) -> None:
        log.error("%s failed", stage, exc_info=exc)
        self._error(500, f"internal error in {stage}; see the endpoint's logs")


class Server(ThreadingHTTPServer):
    daemon_threads = True  # idle keep-alive connections must not block exit
    allow_reuse_address = True
    request_queue_size = 1024

    def server_bind(self):
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()


def make_server(state: State, host: str, port: int) -> Server:
    handler_cls = type("BoundRequestHandler", (RequestHandler,), {"state": state})
    return Server((host, port), handler_cls)


def drain(state: State, server: Server, timeout: float) -> None:
    """Stop accepting, wait for in-flight requests, then stop the device thread."""
    state.draining = True
    server.shutdown()  # stops serve_forever; handler threads keep running
    server.server_close()  # close the listening socket: no new connections
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with state.lock:
            busy = state.inflight
        if busy == 0 and (state.batcher is None or state.batcher.pending() == 0):
            break
        time.sleep(0.02)
    if state.batcher is not None:
        state.batcher.stop(timeout=max(0.0, deadline - time.monotonic()))
    log.info("drained; exiting")


def main(argv: list[str] | None = None) -> None:
    logging.basicConfig(level=os.environ.get("JAXSM_LOG_LEVEL", "INFO"),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    paths = SageMakerPaths.from_env()
    host = os.environ.get("JAXSM_BIND_HOST", "0.0.0.0")
    port = _env_int("SAGEMAKER_BIND_TO_PORT", 8080)
    handler = load_handler(paths.model)
    state = State(handler, paths.model)
    server = make_server(state, host, port)
    log.info("listening on %s:%d (model dir %s)", host, port, paths.model)

    stop = threading.Event()

    def on_sigterm(signum, frame):
        if not stop.is_set():
            log.info("SIGTERM: draining")
            stop.set()

    signal.signal(signal.SIGTERM, on_sigterm)
    signal.signal(signal.SIGINT, on_sigterm)
    serving = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="http", daemon=True)
    serving.start()
    state.load()  # on the main thread; /ping says 503 until it is done
    while not stop.wait(0.5):
        pass
    drain(state, server, float(os.environ.get("JAXSM_DRAIN_TIMEOUT_S", "60")))
    sys.exit(0)


if __name__ == "__main__":
    main()
