"""The producer service with Kafka taken out: same routes and validation, no send.

``uvicorn bench.no_send_app:app`` — the ceiling the HTTP scenario compares the real service with.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kafka_kit import KafkaTemplate, ProducerRecord, SendResult
from producer_service.app import create_app


class NoSendTemplate(KafkaTemplate):
    """Answers every send at once with made-up coordinates (bench only, never in tests)."""

    async def start(self) -> None:
        """Nothing to connect."""

    async def stop(self) -> None:
        """Nothing to close."""

    async def check_connection(self, timeout_s: float = 2.0) -> None:
        """Always fine."""

    async def send_record(self, record: ProducerRecord, value: Any = None) -> SendResult:
        """Pretend Kafka acknowledged it."""
        return SendResult(record, record.topic, 0, 0, 0)

    async def send_records(
        self, items: Sequence[tuple[ProducerRecord, Any]]
    ) -> list[SendResult | Any]:
        """Pretend Kafka acknowledged them all."""
        return [SendResult(r, r.topic, 0, 0, 0) for r, _ in items]


app = create_app(template=NoSendTemplate())
