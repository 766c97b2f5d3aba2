"""A bounded request queue drained by the one thread that owns the device.

HTTP threads parse requests (input_fn) and enqueue them; the device thread takes everything
that is waiting (up to max_batch items), runs one batched prediction, and resolves each
request's future. Under load requests pile up while the device is busy, so batches fill
without any artificial delay; when idle a single request runs at once.
"""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from typing import Any

log = logging.getLogger(__name__)


class QueueFull(Exception):
    """The bounded queue is full: the server answers 503 with Retry-After."""


class Batcher:
    def __init__(self, predict_batch: Callable[[Sequence[Any]], Sequence[Any]], max_batch: int, max_queue: int):
        self._predict_batch = predict_batch
        self.max_batch = max_batch
        self._queue: queue.Queue[tuple[Any, Future] | None] = queue.Queue(maxsize=max_queue)
        self._thread = threading.Thread(target=self._loop, name="device", daemon=True)
        self.batches = 0
        self.items = 0

    def start(self) -> None:
        self._thread.start()

    def submit(self, item: Any) -> Future:
        fut: Future = Future()
        try:
            self._queue.put_nowait((item, fut))
        except queue.Full:
            raise QueueFull() from None
        return fut

    def alive(self) -> bool:
        """False once the device thread has ended (stopped, or died): /ping then reports unhealthy."""
        return self._thread.is_alive()

    def pending(self) -> int:
        return self._queue.qsize()

    def stop(self, timeout: float | None = None) -> None:
        """Finish everything already queued, then stop the device thread."""
        self._queue.put(None)
        self._thread.join(timeout)

    def _loop(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stop_after = False
            while len(batch) < self.max_batch:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop_after = True
                    break
                batch.append(nxt)
            self._run(batch)
            if stop_after:
                return

    def _run(self, batch: list[tuple[Any, Future]]) -> None:
        # A request whose client went away (its asyncio wrapper was cancelled, which cancels this
        # future) is dropped here; the rest are marked running, so a later cancel cannot race the
        # result. Setting a result on a cancelled future raises, which once killed this thread and
        # left every later request waiting forever.
        batch = [(item, fut) for item, fut in batch if fut.set_running_or_notify_cancel()]
        if not batch:
            return
        items = [item for item, _ in batch]
        try:
            results = self._predict_batch(items)
            if len(results) != len(items):
                raise RuntimeError(f"batched prediction returned {len(results)} results for {len(items)} inputs")
        except BaseException as e:  # noqa: BLE001 - every waiting request must be answered
            log.exception("prediction failed for a batch of %d", len(items))
            for _, fut in batch:
                fut.set_exception(e)
            return
        self.batches += 1
        self.items += len(items)
        for (_, fut), res in zip(batch, results, strict=True):
            # Reported as X-Jaxsm-Batch (observability, tests).
            fut.batch_size = len(items)  # type: ignore[attr-defined]
            # A per-item failure (unbatched handlers) fails only that request.
            if isinstance(res, BaseException):
                fut.set_exception(res)
            else:
                fut.set_result(res)
