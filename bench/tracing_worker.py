"""One measurement of the tracing scenario, in a process of its own.

    python -m bench.tracing_worker send|listen BOOTSTRAP TOPIC COUNT [OTLP_ENDPOINT]

It imports only what kafka-kit had before tracing existed, so the same file measures the release
before it (``PYTHONPATH`` pointing at that release's ``shared/``) and this one; with an OTLP
endpoint, tracing is on and spans are exported there. Prints one JSON line: the rate, and which
``kafka_kit`` was measured.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
import uuid
from typing import Any

import kafka_kit
from kafka_kit import KafkaSettings, KafkaTemplate, ListenerRegistry, kafka_listener
from kafka_kit.settings import ConsumerSettings, ProducerSettings

WINDOW = 1000
"""Sends in flight at once."""
MAX_POLL = 500
VALUE = b'{"payload": "' + b"x" * 1000 + b'"}'


def settings(bootstrap: str) -> KafkaSettings:
    """acks=all, idempotent, the producer scenario's batching; polls of up to MAX_POLL."""
    return KafkaSettings(
        bootstrap_servers=bootstrap,
        producer=ProducerSettings(
            acks="all", enable_idempotence=True, linger_ms=5, max_batch_size=65536
        ),
        consumer=ConsumerSettings(max_poll_records=MAX_POLL),
    )


def tracing(otlp: str | None) -> dict[str, Any]:
    """``{"tracing": KafkaTracing}`` exporting to ``otlp`` in batches; nothing without one."""
    if otlp is None:
        return {}
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import (
        OTLPSpanExporter,
    )
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor

    from kafka_kit.tracing import KafkaTracing

    provider = TracerProvider(resource=Resource.create({"service.name": "bench"}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(f"{otlp}/v1/traces")))
    return {"tracing": KafkaTracing(provider)}


async def send(bootstrap: str, topic: str, count: int, otlp: str | None) -> float:
    """``await template.send(topic, value, key=…)``, WINDOW at once; events per second."""
    async with KafkaTemplate(settings(bootstrap), **tracing(otlp)) as template:
        await template.send(topic, VALUE, key="k-0")  # metadata and connections
        started = time.perf_counter()
        for start in range(0, count, WINDOW):
            await asyncio.gather(
                *(
                    template.send(topic, VALUE, key=f"k-{n % 100}")
                    for n in range(start, min(start + WINDOW, count))
                )
            )
        return count / (time.perf_counter() - started)


async def listen(bootstrap: str, topic: str, count: int, otlp: str | None) -> float:
    """A record listener that does nothing, reading ``count`` records; records per second."""
    registry = ListenerRegistry()
    seen = 0
    first = last = 0.0
    done = asyncio.Event()

    @kafka_listener(
        topic,
        group_id=f"bench-{uuid.uuid4().hex[:8]}",
        max_poll_records=MAX_POLL,
        registry=registry,
    )
    async def noop(value: bytes) -> None:
        nonlocal seen, first, last
        seen += 1
        last = time.perf_counter()
        if seen == 1:
            first = last
        if seen >= count:
            done.set()

    await registry.start(settings(bootstrap), **tracing(otlp))
    try:
        async with asyncio.timeout(600):
            await done.wait()
    finally:
        await registry.stop()
    return (count - 1) / (last - first)


def main(argv: list[str]) -> int:
    """Run one measurement; print its JSON line."""
    kind, bootstrap, topic, count = argv[0], argv[1], argv[2], int(argv[3])
    otlp = argv[4] if len(argv) > 4 else None
    measure = send if kind == "send" else listen
    rate = asyncio.run(measure(bootstrap, topic, count, otlp))
    print(json.dumps({"rate": rate, "kafka_kit": kafka_kit.__file__}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
