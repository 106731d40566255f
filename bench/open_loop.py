"""An open-loop HTTP load generator (``wrk2``'s model), run as its own process.

``python -m bench.open_loop URL --rate R --seconds S --source TAG`` POSTs ``R`` events a second
on a fixed schedule: request *i* is due at ``start + i / R`` whatever happened to the ones before
it. Its latency is counted from that due time, not from when it was actually sent, so a server
that stalls is charged for every request that waited behind the stall (coordinated omission
corrected). Each event carries its due time as ``occurred_at`` and ``TAG`` as its ``source``: a
consumer's store can then give the end-to-end latency of each one from its own ``stored_at``.

Requests go over up to ``--connections`` keep-alive HTTP/1.1 connections (one request at a time
each, as browsers and most clients do), opened as the load needs them. Prints one JSON object:
the schedule kept, answers by status, and the HTTP latencies' percentiles.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

import uvloop

PERCENTILES = (50.0, 99.0, 99.9)


def percentile(values: list[float], q: float) -> float:
    """The ``q``-th percentile (nearest rank) of ``values``; NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[rank]


class Connection:
    """One keep-alive HTTP/1.1 connection, one request at a time."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def post(self, request: bytes) -> int:
        """Send ``request``; the answer's status (its body is read and dropped)."""
        self.writer.write(request)
        status_line = await self.reader.readline()
        length = 0
        while True:
            line = await self.reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        if length:
            await self.reader.readexactly(length)
        return int(status_line.split()[1])


async def run(
    url: str, rate: float, seconds: float, connections: int, source: str
) -> dict[str, object]:
    """Offer the load; the figures."""
    parts = urlsplit(url)
    host, port, path = parts.hostname or "127.0.0.1", parts.port or 80, parts.path or "/"
    idle: asyncio.Queue[Connection] = asyncio.Queue()
    opened = 0
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    lag: list[float] = []

    async def connection() -> Connection:
        nonlocal opened
        if idle.empty() and opened < connections:
            opened += 1
            return Connection(*await asyncio.open_connection(host, port))
        return await idle.get()

    total = int(rate * seconds)
    wall_start = datetime.now(UTC) + timedelta(seconds=0.2)
    start = time.perf_counter() + 0.2

    async def one(n: int, due: float) -> None:
        due_wall = wall_start + timedelta(seconds=due - start)
        body = (
            f'{{"id":"{uuid.uuid4()}","type":"bench.e2e","source":"{source}",'
            f'"key":"customer-{n % 100}","occurred_at":"{due_wall.isoformat()}",'
            f'"payload":{{"n":{n},"note":"{"x" * 800}"}}}}'
        ).encode()
        request = (
            f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode() + body
        conn = await connection()
        lag.append(time.perf_counter() - due)
        try:
            status = await conn.post(request)
        except (OSError, asyncio.IncompleteReadError, ValueError, IndexError):
            statuses["error"] = statuses.get("error", 0) + 1
            return
        latencies.append((time.perf_counter() - due) * 1000)
        statuses[str(status)] = statuses.get(str(status), 0) + 1
        idle.put_nowait(conn)

    tasks = []
    for n in range(total):
        due = start + n / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(n, due)))
    await asyncio.gather(*tasks)
    return {
        "rate": rate,
        "seconds": seconds,
        "sent": total,
        "statuses": statuses,
        "connections": opened,
        "http_ms": {str(q): percentile(latencies, q) for q in PERCENTILES},
        "send_lag_ms_p99": percentile(lag, 99) * 1000,
    }


def main(argv: list[str] | None = None) -> int:
    """Parse the options, offer the load, print the figures as JSON."""
    parser = argparse.ArgumentParser(prog="python -m bench.open_loop", description=__doc__)
    parser.add_argument("url")
    parser.add_argument("--rate", type=float, required=True, help="requests per second")
    parser.add_argument("--seconds", type=float, default=10)
    parser.add_argument("--connections", type=int, default=256)
    parser.add_argument("--source", default="open-loop")
    args = parser.parse_args(argv)
    figures = uvloop.run(run(args.url, args.rate, args.seconds, args.connections, args.source))
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main())
