"""uvicorn's httptools (llhttp) protocol with the limits SageMaker's clients rely on.

uvicorn parses HTTP/1.1; what it does not bound is added here, per connection:
- a silent connection is closed after JAXSM_READ_TIMEOUT_S (uvicorn only times out idle
  keep-alive connections after a first response);
- request headers not complete within JAXSM_READ_TIMEOUT_S of their first byte get a 408
  (a slowloris client would otherwise hold the connection, and a file descriptor, forever);
- request headers over 64 KiB get a 431 (llhttp itself sets no limit, so the head would be buffered);
- a request the parser rejects gets a JSON 400 naming what was wrong, like every other error.
The request body's own deadline and size limit are the application's (jaxsm.serving.app).
"""

from __future__ import annotations

import asyncio
import json
import sys
from http import HTTPStatus

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD = 64 * 1024


def json_error(status: int, message: str) -> bytes:
    """The body of every error this server sends: {"error": reason phrase, "message": why}."""
    return json.dumps({"error": HTTPStatus(status).phrase, "message": message}).encode()


def raw_response(status: int, message: str) -> bytes:
    """A whole JSON error response that closes the connection, for errors before any request exists."""
    body = json_error(status, message)
    head = (
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode("latin-1") + body


class HeadTooLarge(Exception):
    """Raised from a parser callback: httptools stops parsing and uvicorn calls send_400_response."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """HttpToolsProtocol plus a deadline and a size limit on each request's head."""

    read_timeout: float = 60.0  # set by server.serve_async from JAXSM_READ_TIMEOUT_S

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._head_bytes = 0  # bytes received while a head is incomplete (a head split over reads)
        self._head_size = 0  # the parsed head: target and headers (a head arriving in one read)
        self._head_pending = True  # no request head parsed yet on this connection
        self._head_started = False
        self._head_timer: asyncio.TimerHandle | None = self.loop.call_later(self.read_timeout, self._head_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self._cancel_head_timer()
        super().connection_lost(exc)

    def _cancel_head_timer(self) -> None:
        if self._head_timer is not None:
            self._head_timer.cancel()
            self._head_timer = None

    def _head_timeout(self) -> None:
        self._head_timer = None
        if self.transport.is_closing():
            return
        if self._head_started and (self.cycle is None or self.cycle.response_complete):
            self.transport.write(raw_response(408, f"request headers not received within {self.read_timeout:g} s"))
        self.transport.close()

    def data_received(self, data: bytes) -> None:
        if self._head_pending:
            self._head_bytes += len(data)
        super().data_received(data)
        if self._head_pending and self._head_bytes > MAX_HEAD and not self.transport.is_closing():
            self._cancel_head_timer()
            self.transport.write(raw_response(431, "request headers too large"))
            self.transport.close()

    def on_message_begin(self) -> None:
        super().on_message_begin()
        # The first byte of a request: its head must be complete within read_timeout from now.
        # (Between requests, uvicorn's own keep-alive timeout closes an idle connection.)
        self._cancel_head_timer()
        self._head_pending, self._head_started, self._head_size = True, True, 0
        self._head_timer = self.loop.call_later(self.read_timeout, self._head_timeout)

    def on_url(self, url: bytes) -> None:
        self._count_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _count_head(self, n: int) -> None:
        self._head_size += n
        if self._head_size > MAX_HEAD:
            raise HeadTooLarge()

    def on_headers_complete(self) -> None:
        self._cancel_head_timer()
        self._head_pending, self._head_bytes = False, 0
        super().on_headers_complete()

    def send_400_response(self, msg: str) -> None:
        # Called by uvicorn inside its `except HttpParserError`: the parser's own reason is the
        # exception being handled. It goes into the message so the client learns what to fix.
        self._cancel_head_timer()
        exc = sys.exc_info()[1]
        if any(
            isinstance(e, HeadTooLarge)
            for e in (exc, getattr(exc, "__cause__", None), getattr(exc, "__context__", None))
        ):
            self.transport.write(raw_response(431, "request headers too large"))
            self.transport.close()
            return
        reason = str(exc) if exc is not None else msg
        if "content-length" in reason.lower():
            message = f"invalid Content-Length ({reason})"
        else:
            message = f"malformed request: {reason}"
        self.transport.write(raw_response(400, message))
        self.transport.close()
