"""The event loop's side of the engine: submit requests, await their completions or stream
their tokens, cancel what nobody waits for any more.

Engine threads call a request's sink once per token; posting each call to the loop separately
would wake the loop thousands of times a second at high occupancy. `Relay` batches them: the
first event of a burst schedules one drain on the loop, later ones join it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from ..generate import Request
from .engine import DoneEvent, EnginePool, ErrorEvent, Event, Ticket, TokenEvent


class Relay:
    def __init__(self, loop: asyncio.AbstractEventLoop):
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[tuple[Callable[[Any], None], Any]] = []
        self._scheduled = False

    def post(self, fn: Callable[[Any], None], arg: Any) -> None:
        """Run fn(arg) on the loop soon (any thread)."""
        with self._lock:
            self._pending.append((fn, arg))
            if self._scheduled:
                return
            self._scheduled = True
        self._loop.call_soon_threadsafe(self._drain)

    def _drain(self) -> None:
        with self._lock:
            items, self._pending, self._scheduled = self._pending, [], False
        for fn, arg in items:
            fn(arg)


class StreamClosed(Exception):
    """The generation ended with an error event (already yielded to the stream)."""


class EngineClient:
    def __init__(self, pool: EnginePool, loop: asyncio.AbstractEventLoop):
        self.pool = pool
        self.relay = Relay(loop)

    async def complete(self, requests: Sequence[Request], timeout: float) -> list[DoneEvent]:
        """Every request's DoneEvent, in order. Raises QueueFull (nothing queued), TimeoutError or
        the engine's error; whatever is still running is cancelled then."""
        loop = asyncio.get_running_loop()
        futures = [loop.create_future() for _ in requests]

        def settle(pair: tuple[asyncio.Future, Event]) -> None:
            fut, ev = pair
            if fut.done():
                return
            if isinstance(ev, DoneEvent):
                fut.set_result(ev)
            elif isinstance(ev, ErrorEvent):
                fut.set_exception(ev.error)

        def sink_for(fut: asyncio.Future) -> Callable[[Event], None]:
            def sink(ev: Event) -> None:
                if not isinstance(ev, TokenEvent):  # only the outcome matters here
                    self.relay.post(settle, (fut, ev))

            return sink

        tickets = self.pool.submit(requests, [sink_for(f) for f in futures])
        try:
            return list(await asyncio.wait_for(asyncio.gather(*futures), timeout))
        finally:
            for t in tickets:
                t.cancel()  # a no-op for finished ones

    def stream(self, request: Request, timeout: float) -> tuple[Ticket, AsyncIterator[list[Event]]]:
        """Submit one request (QueueFull raises here, before anything is sent) and return its
        ticket and an iterator over batches of its events; the last batch ends with a DoneEvent
        or an ErrorEvent. TimeoutError when no event arrives for `timeout` seconds."""
        queue: asyncio.Queue[Event] = asyncio.Queue()
        [ticket] = self.pool.submit([request], [lambda ev: self.relay.post(queue.put_nowait, ev)])

        async def events() -> AsyncIterator[list[Event]]:
            try:
                while True:
                    batch = [await asyncio.wait_for(queue.get(), timeout)]
                    while not queue.empty():
                        batch.append(queue.get_nowait())
                    yield batch
                    if isinstance(batch[-1], (DoneEvent, ErrorEvent)):
                        return
            finally:
                ticket.cancel()

        return ticket, events()
