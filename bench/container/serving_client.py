"""The serving benches' HTTP client: one POST /invocations per connection, timed to the first token and the last.

Shared by serving_bench.py (the rate sweep against MMS) and serving_goodput.py (the SLO bisection). Streamed answers
(Accept: application/jsonlines, chunked) count their token lines, and their first chunk is the first token; an
answer that is not streamed (MMS cannot stream) arrives whole, so its first token is its last.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


@dataclass
class Outcome:
    """One request: HTTP status (0 when none came), monotonic times, tokens received, and what went wrong."""

    status: int
    start: float
    first: float = 0.0  # first token (streamed) or the whole answer (not streamed)
    end: float = 0.0
    tokens: int = 0
    error: str = ""

    @property
    def ttft(self) -> float:
        return self.first - self.start

    @property
    def tpot(self) -> float | None:
        """Time per output token after the first; None when it is not defined (under 2 tokens, or not streamed)."""
        if self.tokens < 2 or self.first >= self.end:
            return None
        return (self.end - self.first) / (self.tokens - 1)


async def invoke(port: int, body: bytes, tokens: int, stream: bool, timeout: float) -> Outcome:
    """POST `body` to 127.0.0.1:`port`/invocations. `tokens` is what a whole (not streamed) 200 answer holds: the
    benches ask for min_new_tokens = max_new_tokens, so every answer has exactly that many."""
    accept = "application/jsonlines" if stream else "application/json"
    r = Outcome(status=0, start=time.monotonic())
    try:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            head = (
                f"POST /invocations HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                f"Accept: {accept}\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + body)
            r.status = int((await reader.readline()).split()[1])
            headers = {}
            while (line := await reader.readline()) not in (b"\r\n", b""):
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if headers.get("transfer-encoding") == "chunked":
                text = b""
                while True:
                    size = int((await reader.readline()).strip(), 16)
                    data = await reader.readexactly(size + 2)
                    if size == 0:
                        break
                    if not r.first:
                        r.first = time.monotonic()
                    text += data[:-2]
                # JSON Lines records end with '\n' only (the server's framing).
                r.tokens = sum(1 for line in text.decode().split("\n") if line.startswith('{"token"'))
            else:
                data = await reader.readexactly(int(headers.get("content-length", "0")))
                r.first = time.monotonic()
                if r.status == 200:
                    r.tokens = tokens
                else:
                    r.error = data[:200].decode(errors="replace")
            r.end = time.monotonic()
            writer.close()
    except (TimeoutError, OSError, ValueError, asyncio.IncompleteReadError) as e:
        r.error = f"{type(e).__name__}: {e}"
        r.end = time.monotonic()
    return r


def pct(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank, from below) of `values`; NaN for none."""
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))]
