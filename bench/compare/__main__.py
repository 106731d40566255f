"""``./dev compare`` (``python -m bench.compare``): the same workload on Kafka, RabbitMQ and Redis.

Five questions, each asked of all three systems the same way (see ``systems.py``), each system
started privately (Kafka by the launcher or ``KAFKA_BOOTSTRAP_SERVERS``, RabbitMQ and Redis from
Debian's packages):

1. replay: after a group read and acknowledged everything, can a new group read it again?
2. per-key order with several consumers in one group, each taking a moment per message;
3. fan-out: two groups each get every message?
4. a consumer that dies holding an unacknowledged batch: what happens to it?
5. throughput and p99 latency, one producer and one consumer, 1 KB messages, on this machine.

It prints a table and writes ``bench/results/compare-<time>.json`` and ``.md``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench.compare.servers import missing, rabbitmq_server, redis_server
from bench.compare.systems import Item, Kafka, RabbitMQ, Reader, Redis, System, items
from bench.harness import broker
from kafka_kit._internal.cancellation import within

RESULTS = Path(__file__).resolve().parents[1] / "results"


async def read_all(reader: Reader, count: int, timeout_s: float) -> list[Item]:
    """Read and acknowledge until ``count`` arrived or ``timeout_s`` passed without any."""
    got: list[Item] = []
    while len(got) < count:
        batch = await reader.read(100, timeout_s)
        if not batch:
            break
        got += batch
        await reader.ack()
    return got


async def replay(system: System, n: int) -> dict[str, Any]:
    """A group reads everything; then a group made afterwards reads what it can."""
    stream = f"replay-{uuid.uuid4().hex[:6]}"
    await system.stream(stream)
    first = await system.reader(stream, "first", "c1")
    await system.publish(stream, items(n))
    read = await read_all(first, n, 5)
    await first.close()
    later = await system.reader(stream, "later", "c2")
    again = await read_all(later, n, 2)
    await later.close()
    return {"read": len(read), "read_again": len(again), "ok": len(again) == n}


async def order(system: System, keys: int, per_key: int, consumers: int) -> dict[str, Any]:
    """Keyed messages to ``consumers`` members of one group, each pausing up to 1 ms per message."""
    stream = f"order-{uuid.uuid4().hex[:6]}"
    await system.stream(stream, partitions=consumers)
    readers = [await system.reader(stream, "workers", f"c{i}") for i in range(consumers)]
    if isinstance(system, Kafka):  # a consumer group first agrees who reads what
        deadline = time.monotonic() + 60
        while not system.assigned(readers, stream, consumers):
            assert time.monotonic() < deadline, "the group never settled"
            await asyncio.gather(*(r.read(1, 0.1) for r in readers))
    handled: list[tuple[str, int]] = []
    total = keys * per_key

    async def work(reader: Reader) -> None:
        while len(handled) < total:
            batch = await reader.read(10, 1)
            for item in batch:
                await asyncio.sleep(random.random() / 1000)
                handled.append((item["key"], item["seq"]))
            await reader.ack()

    await system.publish(stream, items(total, keys=keys))
    await within(asyncio.gather(*(work(r) for r in readers)), 120)
    for reader in readers:
        await reader.close()
    out_of_order = 0
    for key in {k for k, _ in handled}:
        seqs = [s for k, s in handled if k == key]
        out_of_order += seqs != sorted(seqs)
    return {"keys": keys, "keys_out_of_order": out_of_order, "ok": out_of_order == 0}


async def fan_out(system: System, n: int) -> dict[str, Any]:
    """Two groups on one stream: each should get every message."""
    stream = f"fanout-{uuid.uuid4().hex[:6]}"
    await system.stream(stream)
    a, b = await system.reader(stream, "a", "ca"), await system.reader(stream, "b", "cb")
    await system.publish(stream, items(n))
    got = await asyncio.gather(read_all(a, n, 5), read_all(b, n, 5))
    for reader in (a, b):
        await reader.close()
    counts = [len(g) for g in got]
    return {"group_a": counts[0], "group_b": counts[1], "ok": counts == [n, n]}


async def death(system: System, n: int, batch: int = 10) -> dict[str, Any]:
    """One consumer takes a batch and dies without acknowledging; the next reads the rest."""
    stream = f"death-{uuid.uuid4().hex[:6]}"
    await system.stream(stream)
    dying = await system.reader(stream, "g", "dying")
    await system.publish(stream, items(n))
    held: list[Item] = []
    while len(held) < batch:
        held += await dying.read(batch - len(held), 5)
    await dying.close(abandon=True)
    survivor = await system.reader(stream, "g", "survivor")
    got = {i["seq"] for i in await read_all(survivor, n, 8)}
    await survivor.close()
    result: dict[str, Any] = {"held": len(held), "survivor_got": len(got), "ok": len(got) == n}
    if isinstance(system, Redis):
        result["pending"] = await system.pending(stream, "g")
    return result


async def speed(system: System, n: int, size: int = 1024) -> dict[str, Any]:
    """One producer, one consumer: messages per second and end-to-end latency."""
    stream = f"speed-{uuid.uuid4().hex[:6]}"
    await system.stream(stream)
    reader = await system.reader(stream, "g", "c")
    latencies: list[float] = []
    started = time.time()

    async def consume() -> None:
        while len(latencies) < n:
            for item in await reader.read(500, 10):
                latencies.append(time.time() - item["sent_at"])
            await reader.ack()

    async def produce() -> None:
        for start in range(0, n, 1000):
            chunk = items(min(1000, n - start), keys=100, pad=size)  # stamped as sent now
            await system.publish(stream, chunk)

    await within(asyncio.gather(consume(), produce()), 300)
    elapsed = time.time() - started
    await reader.close()
    p99 = statistics.quantiles(latencies, n=100)[98] * 1000
    return {"messages_per_s": round(n / elapsed), "p99_ms": round(p99, 1), "ok": True}


async def run_system(system: System, events: int) -> dict[str, Any]:
    """Every question, asked of one system."""
    try:
        return {
            "replay": await replay(system, 100),
            "order": await order(system, keys=8, per_key=50, consumers=4),
            "fan_out": await fan_out(system, 100),
            "death": await death(system, 100),
            "speed": await speed(system, events),
        }
    finally:
        await system.close()


def table(results: dict[str, dict[str, Any]]) -> str:
    """The Markdown table: one row per question, one column per system."""

    def cell(name: str, question: str) -> str:
        r = results[name][question]
        if question == "replay":
            return (
                f"yes: {r['read_again']} of {r['read']}"
                if r["ok"]
                else f"no: {r['read_again']} of {r['read']}"
            )
        if question == "order":
            return (
                "kept for every key"
                if r["ok"]
                else f"broken for {r['keys_out_of_order']} of {r['keys']} keys"
            )
        if question == "fan_out":
            return f"{r['group_a']} and {r['group_b']}"
        if question == "death":
            if "pending" in r and not r["ok"]:
                return (
                    f"{r['survivor_got']} of 100 delivered; {r['pending']} stay pending with "
                    "the dead consumer until claimed (XAUTOCLAIM)"
                )
            return f"{r['survivor_got']} of 100 delivered; the {r['held']} held were redelivered"
        return f"{r['messages_per_s']:,} msg/s, p99 {r['p99_ms']} ms"

    rows = {
        "replay": "a group made after everything was read and acknowledged reads",
        "order": "per-key order, 4 consumers in one group (8 keys, 50 each)",
        "fan_out": "two groups, 100 messages: each got",
        "death": "a consumer dies holding 10 unacknowledged",
        "speed": "1 producer, 1 consumer, 1 KB",
    }
    names = list(results)
    lines = ["| | " + " | ".join(names) + " |", "|---|" + "---|" * len(names)]
    for question, label in rows.items():
        lines.append(f"| {label} | " + " | ".join(cell(n, question) for n in names) + " |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Start the three systems, ask every question, print and write the table."""
    parser = argparse.ArgumentParser(prog="./dev compare", description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=20_000, help="messages for the speed row")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where the results go")
    args = parser.parse_args(argv)
    lacking = missing()
    if lacking:
        print(
            f"install Debian's {' and '.join(lacking)} first (apt-get install {' '.join(lacking)})",
            file=sys.stderr,
        )
        return 2
    print("starting Kafka, RabbitMQ and Redis (each its own, on free ports) …", file=sys.stderr)
    with broker() as bootstrap, rabbitmq_server() as amqp, redis_server() as redis_url:
        results: dict[str, dict[str, Any]] = {}
        for system in (Kafka(bootstrap), RabbitMQ(amqp), Redis(redis_url)):
            print(f"{system.name} …", file=sys.stderr)
            results[system.name] = asyncio.run(run_system(system, args.events))
    text = table(results)
    print(text)
    args.out.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    (args.out / f"compare-{stamp}.json").write_text(json.dumps(results, indent=2) + "\n")
    (args.out / f"compare-{stamp}.md").write_text(
        f"# Kafka vs RabbitMQ vs Redis Streams ({time.strftime('%Y-%m-%d')})\n\n"
        f"`./dev compare --events {args.events}`; the three systems, the producer and the\n"
        "consumers all on this machine's 2 cores.\n\n" + text
    )
    print(f"written: {args.out}/compare-{stamp}.json and .md", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
