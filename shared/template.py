"""``KafkaTemplate``: send values to topics and learn where Kafka put them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer

from shared.serialization import serialize_key, serialize_value
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)

Headers = Mapping[str, bytes | str] | Iterable[tuple[str, bytes | str]]


@dataclass(frozen=True)
class ProducerRecord:
    """A record as handed to the producer: topic, optional partition, key, value, headers."""

    topic: str
    value: bytes | None
    key: bytes | None = None
    partition: int | None = None
    headers: tuple[tuple[str, bytes], ...] = ()
    timestamp_ms: int | None = None


@dataclass(frozen=True)
class SendResult:
    """The record sent and where it landed: topic, partition, offset, timestamp (ms)."""

    record: ProducerRecord
    topic: str
    partition: int
    offset: int
    """``-1`` with ``acks=0``: the producer never hears back from the broker."""
    timestamp: int


class KafkaSendError(RuntimeError):
    """A send failed or timed out; ``record`` is what was not (known to be) written."""

    def __init__(self, record: ProducerRecord, cause: BaseException) -> None:
        super().__init__(
            f"sending to {record.topic} failed: {type(cause).__name__}: {cause}".rstrip(": ")
        )
        self.record = record
        self.cause = cause


def _normalize_headers(headers: Headers | None) -> tuple[tuple[str, bytes], ...]:
    if not headers:
        return ()
    items = headers.items() if isinstance(headers, Mapping) else headers
    return tuple(
        (name, value.encode() if isinstance(value, str) else value) for name, value in items
    )


class KafkaTemplate:
    """Spring's ``KafkaTemplate`` for asyncio: ``await template.send(topic, value)``."""

    def __init__(self, settings: KafkaSettings | None = None) -> None:
        self.settings = settings or KafkaSettings()
        self._producer: AIOKafkaProducer | None = None

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect the producer (bounded by the request timeout)."""
        if self._producer is not None:
            return
        producer = AIOKafkaProducer(**self._producer_config())
        try:
            await asyncio.wait_for(producer.start(), self.settings.request_timeout_ms / 1000)
        except BaseException:
            await self._close(producer)
            raise
        self._producer = producer

    async def stop(self) -> None:
        """Flush what is buffered and close the producer; bounded, so it never hangs."""
        producer, self._producer = self._producer, None
        if producer is not None:
            await self._close(producer)

    async def _close(self, producer: AIOKafkaProducer) -> None:
        # aiokafka's stop() can wait forever for a broker that is gone (aiokafka#1101).
        try:
            await asyncio.wait_for(producer.stop(), self._delivery_timeout_s)
        except TimeoutError:
            log.warning("the producer did not stop within the delivery timeout; abandoned")

    async def __aenter__(self) -> KafkaTemplate:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    @property
    def is_running(self) -> bool:
        """Whether :meth:`start` succeeded and :meth:`stop` was not called since."""
        return self._producer is not None

    # ---------------------------------------------------------------- sending
    async def send(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        partition: int | None = None,
        headers: Headers | None = None,
        timestamp: int | None = None,
    ) -> SendResult:
        """Send one record and wait (at most the delivery timeout) for its acknowledgement."""
        record = ProducerRecord(
            topic=topic,
            value=serialize_value(value),
            key=serialize_key(key),
            partition=partition,
            headers=_normalize_headers(headers),
            timestamp_ms=timestamp,
        )
        return await self.send_record(record)

    async def send_default(
        self,
        value: Any,
        *,
        key: str | bytes | None = None,
        partition: int | None = None,
        headers: Headers | None = None,
        timestamp: int | None = None,
    ) -> SendResult:
        """Send to the configured default topic (``KAFKA_PRODUCER_DEFAULT_TOPIC``)."""
        topic = self.settings.producer.default_topic
        if topic is None:
            raise ValueError("no default topic: set KAFKA_PRODUCER_DEFAULT_TOPIC")
        return await self.send(
            topic, value, key=key, partition=partition, headers=headers, timestamp=timestamp
        )

    async def send_record(self, record: ProducerRecord) -> SendResult:
        """Send a prepared :class:`ProducerRecord`."""
        producer = self._producer
        if producer is None:
            raise KafkaSendError(record, RuntimeError("the template is not started"))
        try:
            async with asyncio.timeout(self._delivery_timeout_s):
                delivery = await producer.send(
                    record.topic,
                    record.value,
                    key=record.key,
                    partition=record.partition,
                    timestamp_ms=record.timestamp_ms,
                    headers=list(record.headers),
                )
                metadata = await delivery
        except (asyncio.CancelledError, KeyboardInterrupt):
            raise
        except BaseException as exc:
            raise KafkaSendError(record, exc) from exc
        if metadata is None:  # acks=0
            return SendResult(record, record.topic, record.partition or -1, -1, -1)
        return SendResult(
            record=record,
            topic=metadata.topic,
            partition=metadata.partition,
            offset=metadata.offset,
            timestamp=metadata.timestamp,
        )

    async def flush(self) -> None:
        """Wait until every buffered record was sent (bounded by the delivery timeout)."""
        if self._producer is not None:
            await asyncio.wait_for(self._producer.flush(), self._delivery_timeout_s)

    # ---------------------------------------------------------------- config
    @property
    def _delivery_timeout_s(self) -> float:
        return self.settings.producer.delivery_timeout_ms / 1000

    def _producer_config(self) -> dict[str, Any]:
        producer = self.settings.producer
        acks: int | str = "all" if producer.acks == "all" else int(producer.acks)
        return {
            "bootstrap_servers": self.settings.bootstrap_servers,
            "client_id": self.settings.client_id,
            "request_timeout_ms": self.settings.request_timeout_ms,
            "acks": acks,
            # Idempotence needs acks=all: Kafka dedupes retries only for fully replicated writes.
            "enable_idempotence": producer.enable_idempotence and acks == "all",
            "linger_ms": producer.linger_ms,
            "max_batch_size": producer.max_batch_size,
            "compression_type": producer.compression_type,
        }
