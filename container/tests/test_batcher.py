"""The device thread's queue (jaxsm.serving.batcher): a request whose client gave up must not stop
the thread that answers everyone else."""

from __future__ import annotations

import asyncio
import threading

import pytest

from jaxsm.serving.batcher import Batcher


def doubling_batcher(gate: threading.Event, seen: list[list[int]], started: threading.Event | None = None) -> Batcher:
    def predict(items):
        if started is not None:
            started.set()
        gate.wait(10)
        seen.append(list(items))
        return [2 * i for i in items]

    batcher = Batcher(predict, max_batch=8, max_queue=16)
    batcher.start()
    return batcher


def test_a_request_cancelled_while_queued_is_skipped_and_later_requests_are_answered():
    started, gate = threading.Event(), threading.Event()
    seen: list[list[int]] = []
    batcher = doubling_batcher(gate, seen, started)
    first = batcher.submit(1)
    assert started.wait(10)  # the device thread holds the first batch
    abandoned = batcher.submit(2)
    assert abandoned.cancel()  # what asyncio.wait_for does to a wrapped future when its client times out
    gate.set()
    assert first.result(10) == 2
    assert batcher.submit(3).result(10) == 6
    assert all(2 not in batch for batch in seen)  # the abandoned request never reached the device
    batcher.stop(10)


def test_a_body_abandoned_by_its_client_leaves_the_server_answering():
    """The server's path: records wrapped with asyncio.wrap_future, one record's failure cancels its
    neighbours (app.records); the next request must still get an answer."""
    started, gate = threading.Event(), threading.Event()
    seen: list[list[int]] = []
    batcher = doubling_batcher(gate, seen, started)

    async def scenario():
        blocked = asyncio.wrap_future(batcher.submit(10))
        await asyncio.get_running_loop().run_in_executor(None, started.wait, 10)
        neighbours = [asyncio.ensure_future(asyncio.wrap_future(batcher.submit(i))) for i in (11, 12)]
        await asyncio.sleep(0)  # the wrappers are scheduled
        for task in neighbours:
            task.cancel()
        await asyncio.gather(*neighbours, return_exceptions=True)
        gate.set()
        assert await blocked == 20
        return await asyncio.wait_for(asyncio.wrap_future(batcher.submit(5)), 10)

    assert asyncio.run(scenario()) == 10
    batcher.stop(10)


def test_a_cancel_after_the_batch_started_does_not_lose_the_result_or_the_thread():
    started, gate = threading.Event(), threading.Event()
    seen: list[list[int]] = []
    batcher = doubling_batcher(gate, seen, started)
    running = batcher.submit(4)
    assert started.wait(10)
    assert not running.cancel()  # marked running: a late cancel is refused, the result still lands
    gate.set()
    assert running.result(10) == 8
    assert batcher.submit(7).result(10) == 14
    batcher.stop(10)


def test_a_failed_batch_fails_its_requests_and_the_thread_goes_on():
    def predict(items):
        if 0 in items:
            raise ValueError("bad batch")
        return [i + 1 for i in items]

    batcher = Batcher(predict, max_batch=1, max_queue=4)
    batcher.start()
    with pytest.raises(ValueError, match="bad batch"):
        batcher.submit(0).result(10)
    assert batcher.submit(1).result(10) == 2
    batcher.stop(10)


def test_the_thread_reports_itself_ended_once_stopped():
    batcher = Batcher(lambda items: list(items), max_batch=1, max_queue=1)
    batcher.start()
    assert batcher.alive()
    batcher.stop(10)
    assert not batcher.alive()
