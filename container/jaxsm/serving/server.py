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

Transport: uvicorn (HTTP/1.1 parsed by httptools/llhttp, uvloop event loop) serving the ASGI
application in jaxsm.serving.app; http_protocol.py adds the head deadline and size limit uvicorn
lacks. The device work runs on engine (or batcher) threads, so the event loop only parses, routes
and serialises.

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
import contextlib
import logging
import os
import signal
import time
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import uvicorn

from ..paths import SageMakerPaths
from .app import MAX_BODY, App
from .batcher import Batcher
from .engine_client import EngineClient
from .handler_loader import Handler, load_handler
from .http_protocol import GuardedHttpToolsProtocol
from .user_code import install_requirements

log = logging.getLogger("jaxsm.serve")

BUILTIN_MODULE = "jaxsm.serving.builtin_handler"


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


class DrainingServer(uvicorn.Server):
    """uvicorn's server with SageMaker's SIGTERM: /ping turns 503, no new connections, in-flight
    requests finish (uvicorn waits for them), then the engines stop and the process exits 0.
    uvicorn's own signal capture re-raises the signal after shutting down, which would end the
    process by SIGTERM instead of exit 0; the loop's handlers are used instead."""

    def __init__(self, config: uvicorn.Config, state: State):
        super().__init__(config)
        self.state = state

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, self.handle_exit, sig, None)
        try:
            yield
        finally:
            for sig in (signal.SIGTERM, signal.SIGINT):
                loop.remove_signal_handler(sig)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        if not self.state.draining:
            log.info("SIGTERM: draining")
        self.state.draining = True
        super().handle_exit(sig, frame)
        self._captured_signals.clear()


async def serve_async(state: State, host: str, port: int) -> None:
    loop = asyncio.get_running_loop()
    state.loop = loop
    GuardedHttpToolsProtocol.read_timeout = state.read_timeout
    drain_timeout = float(os.environ.get("JAXSM_DRAIN_TIMEOUT_S", "60"))
    config = uvicorn.Config(
        App(state),
        host=host,
        port=port,
        loop="none",  # this loop (uvloop when installed)
        http=GuardedHttpToolsProtocol,
        ws="none",
        lifespan="off",
        log_config=None,  # keep jaxsm's logging set-up
        access_log=False,
        server_header=False,
        backlog=1024,
        timeout_keep_alive=state.read_timeout,
        timeout_graceful_shutdown=int(drain_timeout),
    )
    server = DrainingServer(config, state)
    log.info("listening on %s:%d (model dir %s)", host, port, state.model_dir)
    # Load (model_fn + warm-up) off the loop so /ping answers 503 meanwhile.
    loader = loop.run_in_executor(None, state.load)
    await server.serve()  # returns once SIGTERM's drain of the connections is over
    deadline = loop.time() + drain_timeout
    while loop.time() < deadline:
        engine_idle = state.engine is None or state.engine.pool.pending() == 0
        if engine_idle and (state.batcher is None or state.batcher.pending() == 0):
            break
        await asyncio.sleep(0.02)
    if state.batcher is not None:
        await loop.run_in_executor(None, state.batcher.stop, max(0.0, deadline - loop.time()))
    if state.engine is not None:
        await loop.run_in_executor(None, state.engine.pool.stop, max(0.0, deadline - loop.time()))
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
