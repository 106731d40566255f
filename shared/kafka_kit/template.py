"""``KafkaTemplate``: send values to topics and learn where Kafka put them.

The template composes the parts in :mod:`kafka_kit.sending` (its producer slot, partition
choice, transactions, metrics, listener). What stays here is the send path itself — one record
(``send_record``) and many (``send_records``) — which share one hand-over (``_ready_producer``,
``_placed``, ``_hand_over``) and one finish (``_finish``). It is over 400 lines because those two
paths and their recovery read best side by side; split apart they would pass the template's
state back and forth.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition
from prometheus_client import CollectorRegistry

from kafka_kit._internal.cancellation import within
from kafka_kit._internal.deadlines import DeadlineGuard
from kafka_kit._internal.reachability import ClusterReachability
from kafka_kit.errors import (
    ClusterUnreachableError,
    DeliveryUnknownError,
    KafkaSendError,
    TransactionStateError,
)
from kafka_kit.middleware import Middleware, around
from kafka_kit.observation import Observation
from kafka_kit.partitioners import DefaultPartitioner, Partitioner, load_partitioner
from kafka_kit.records import Headers, ProducerRecord, SendResult, normalize_headers
from kafka_kit.sending.failures import (
    LOOKS_UNREACHABLE,
    NOT_WRITTEN_BY_THE_OLD,
    breaks_the_producer,
)
from kafka_kit.sending.listener import LoggingProducerListener, Notifier, ProducerListener
from kafka_kit.sending.metrics import SendMetrics
from kafka_kit.sending.partitions import PartitionChooser
from kafka_kit.sending.producers import ProducerSlot
from kafka_kit.sending.transactions import Transactions
from kafka_kit.serialization import serialize_key, serialize_value
from kafka_kit.settings import KafkaSettings
from kafka_kit.type_mapping import TypeMapping

__all__ = [
    "Headers",
    "KafkaTemplate",
    "LoggingProducerListener",
    "ProducerListener",
    "ProducerRecord",
    "SendResult",
]


log = logging.getLogger(__name__)


class KafkaTemplate:
    """Spring's ``KafkaTemplate`` for asyncio: ``await template.send(topic, value)``.

    Args:
        settings: How to reach the cluster and produce (acks, batching, timeouts); ``KAFKA_*``
            from the environment when omitted.
        partitioner: Chooses each record's partition; overrides ``KAFKA_PRODUCER_PARTITIONER``.
        producer_listener: Hears every send's outcome (Spring's ``ProducerListener``); the
            default logs failures.
        transactional_id: Makes every send part of a transaction (``async with
            template.transaction():``); overrides ``KAFKA_PRODUCER_TRANSACTIONAL_ID``.
        metrics_registry: Where the send metrics go (prometheus-client's global registry when
            omitted).
        key_serializer: Turns a key into bytes (default: ``str`` and ``bytes`` keys). Raises
            ``TypeError`` or ``ValueError`` for what it cannot serialize.
        value_serializer: Turns a value into bytes (default: JSON for models and JSON-able
            values, ``bytes``/``str`` as they are) — Avro, Protobuf, … plug in here.
        type_mapping: ``{"event": EventDto}`` adds Spring's ``__TypeId__`` header with the
            token of a mapped value's type, for Spring consumers and for listeners with several
            types per topic.
        middlewares: Around every send (:class:`~kafka_kit.middleware.Middleware` ``on_send``).
        tracing: A span per send and the trace context in its headers
            (:class:`~kafka_kit.tracing.KafkaTracing`); inside the middlewares, so it sees the
            record they pass on. Off when omitted, at no cost.
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        partitioner: Partitioner | None = None,
        producer_listener: ProducerListener | None = None,
        transactional_id: str | None = None,
        metrics_registry: CollectorRegistry | None = None,
        key_serializer: Callable[[Any], bytes | None] = serialize_key,
        value_serializer: Callable[[Any], bytes | None] = serialize_value,
        type_mapping: TypeMapping | Mapping[str, type[Any]] | None = None,
        middlewares: Sequence[Middleware] = (),
        tracing: Observation | None = None,
    ) -> None:
        self.settings = settings or KafkaSettings()
        self.tracing = tracing
        """Spans around sends, or ``None``."""
        self.middlewares = (
            tuple(middlewares) if tracing is None else (*middlewares, tracing.send_middleware())
        )
        """Around every send (:class:`~kafka_kit.middleware.Middleware` ``on_send``); the
        tracing's last."""
        self.type_mapping = TypeMapping.of(type_mapping)
        producer = self.settings.producer
        spec = producer.partitioner
        self._placing = PartitionChooser(
            partitioner or (load_partitioner(spec) if spec else None),
            DefaultPartitioner(producer.max_batch_size),
            acks_zero=producer.acks == "0",
        )
        self._notify = Notifier(producer_listener or LoggingProducerListener())
        self.key_serializer = key_serializer
        self.value_serializer = value_serializer
        self.transactional_id = transactional_id or producer.transactional_id
        self._reachability = ClusterReachability(self._probe)
        self._guard = DeadlineGuard(producer.delivery_timeout_ms / 1000)
        self._slot = ProducerSlot(
            self.settings, self.transactional_id, self._watch, self._delivery_timeout_s
        )
        self._metrics = SendMetrics(metrics_registry)
        self._transactions = Transactions(
            self.transactional_id,
            self._slot.require,
            self._slot.try_replace,
            self._delivery_timeout_s,
        )

    @property
    def partitioner(self) -> Partitioner | None:
        """The custom partitioner (``partitioner=`` or ``KAFKA_PRODUCER_PARTITIONER``), if any."""
        return self._placing.partitioner

    @property
    def default_partitioner(self) -> DefaultPartitioner:
        """Where records go without a custom partitioner (or when it returns ``None``)."""
        return self._placing.default

    @property
    def producer_listener(self) -> ProducerListener:
        """Sees every send's outcome (Spring's ``ProducerListener``)."""
        return self._notify.listener

    @property
    def producer_replacements(self) -> int:
        """How often a send broke the producer and it was replaced (``breaks_the_producer``)."""
        return self._slot.replacements

    @property
    def _producer(self) -> AIOKafkaProducer | None:
        return self._slot.current

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect the producer (bounded by the request timeout)."""
        await self._slot.start()

    def _watch(self, producer: AIOKafkaProducer) -> None:
        # A new producer, or new metadata: the partitions known per topic may have changed.
        self._placing.forget()
        producer.client.cluster.add_listener(self._placing.forget)

    async def _probe(self) -> None:
        await self._slot.require().client.fetch_all_metadata()

    def _after_failure(self, error: KafkaSendError) -> None:
        """A failure that looks like the cluster is away: have it probed (fail fast meanwhile)."""
        if isinstance(error.cause, LOOKS_UNREACHABLE) and self._producer is not None:
            self._reachability.suspect()

    async def stop(self) -> None:
        """Flush what is buffered and close the producer; bounded, so it never hangs."""
        away = self._reachability.unreachable is not None
        await self._reachability.close()
        # Stopping flushes what is buffered: as long as a delivery may take, not longer — and
        # with the cluster away, a moment (what is buffered was answered as unknown).
        await self._slot.stop(
            min(self._delivery_timeout_s, 2.0) if away else self._delivery_timeout_s
        )
        self._metrics.flush()

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

    async def partitions_for(self, topic: str) -> list[int]:
        """The topic's partitions (fetching metadata if needed; bounded by the request timeout).

        Args:
            topic: The topic's name.
        """
        producer = self._slot.require()
        return sorted(
            await within(producer.partitions_for(topic), self.settings.request_timeout_ms / 1000)
        )

    async def check_connection(self, timeout_s: float = 2.0) -> None:
        """Ask a broker for cluster metadata; raises when none answers within ``timeout_s``.

        Args:
            timeout_s: How long a broker has to answer.
        """
        producer = self._slot.require()
        await within(producer.client.fetch_all_metadata(), timeout_s)

    # ---------------------------------------------------------------- sending
    def send(
        self,
        topic: str,
        value: Any,
        *,
        key: str | bytes | None = None,
        partition: int | None = None,
        headers: Headers | None = None,
        timestamp: int | None = None,
    ) -> Coroutine[Any, Any, SendResult]:
        """Send one record and wait (at most the delivery timeout) for its acknowledgement.

        ``await template.send(...)``. A plain function returning ``send_record``'s coroutine, not
        a coroutine of its own: one frame fewer per send. A key or value that cannot be
        serialized raises :class:`KafkaSendError` at the call.

        Args:
            topic: Where to send.
            value: Serialized by ``value_serializer``; the partitioner sees it unserialized.
            key: Serialized by ``key_serializer``: the same key, the same partition (murmur2,
                as the Java client).
            partition: This partition, whatever the key; the partitioner chooses when omitted.
            headers: ``(name, value)`` pairs or a mapping; values ``str`` or ``bytes``.
            timestamp: Epoch milliseconds; the producer's clock when omitted.
        """
        record = self.build_record(
            topic, value, key=key, partition=partition, headers=headers, timestamp=timestamp
        )
        return self.send_record(record, value)

    def build_record(
        self,
        topic: str,
        value: Any,
        *,
        key: Any = None,
        partition: int | None = None,
        headers: Headers | None = None,
        timestamp: int | None = None,
    ) -> ProducerRecord:
        """The :class:`ProducerRecord` ``send`` would send, key and value serialized.

        Raises :class:`KafkaSendError` (the listener hears it) when they cannot be.

        Args:
            topic: Where it goes.
            value: Serialized by ``value_serializer``.
            key: Serialized by ``key_serializer``: the same key, the same partition (murmur2,
                as the Java client).
            partition: This partition, whatever the key; the partitioner chooses when omitted.
            headers: ``(name, value)`` pairs or a mapping; values ``str`` or ``bytes``.
            timestamp: Epoch milliseconds; the producer's clock when omitted.
        """
        try:
            normalized = normalize_headers(headers) if headers else ()
            if self.type_mapping is not None:
                type_id = self.type_mapping.header_for(value)
                if type_id is not None and all(k != type_id[0] for k, _ in normalized):
                    normalized = (*normalized, type_id)
            return ProducerRecord(
                topic,
                self.value_serializer(value),
                self.key_serializer(key),
                partition,
                normalized,
                timestamp,
            )
        except (TypeError, ValueError) as exc:
            unsent = ProducerRecord(topic, None, None, partition, (), timestamp)
            self._metrics.count(topic, 0, 1, 0.0)
            raise self._failed(unsent, exc) from exc

    async def send_default(
        self,
        value: Any,
        *,
        key: str | bytes | None = None,
        partition: int | None = None,
        headers: Headers | None = None,
        timestamp: int | None = None,
    ) -> SendResult:
        """Send to the configured default topic (``KAFKA_PRODUCER_DEFAULT_TOPIC``).

        Args:
            value: Serialized by ``value_serializer``.
            key: Serialized by ``key_serializer``: the same key, the same partition (murmur2,
                as the Java client).
            partition: This partition, whatever the key; the partitioner chooses when omitted.
            headers: ``(name, value)`` pairs or a mapping; values ``str`` or ``bytes``.
            timestamp: Epoch milliseconds; the producer's clock when omitted.
        """
        topic = self.settings.producer.default_topic
        if topic is None:
            raise ValueError("no default topic: set KAFKA_PRODUCER_DEFAULT_TOPIC")
        return await self.send(
            topic, value, key=key, partition=partition, headers=headers, timestamp=timestamp
        )

    async def send_record(self, record: ProducerRecord, value: Any = None) -> SendResult:
        """Send a prepared record; ``value`` is the unserialized object, for partitioners.

        A send that breaks the producer's sequence replaces the producer; a record the broker
        refused for its producer's sequence (so never wrote) is sent once more on the new one.
        The template's middlewares see the record and its result (or failure).

        Args:
            record: Made by :meth:`build_record` (or by hand: key and value as bytes).
            value: The unserialized value, for partitioners that read it.
        """
        if not self.middlewares:
            return await self._send_one(record, value)

        async def send(prepared: ProducerRecord) -> SendResult:
            return await self._send_one(prepared, value)

        result: SendResult = await around(send, self.middlewares, "on_send")(record)
        return result

    async def _send_one(self, record: ProducerRecord, value: Any) -> SendResult:
        started = time.perf_counter()
        record, outcome, handed_over, used = await self._attempt(record, value)
        await self._recovered(used, outcome, handed_over)
        if self._slot.replaced_since(used) and isinstance(outcome, NOT_WRITTEN_BY_THE_OLD):
            record, outcome, handed_over, used = await self._attempt(record, value)
            await self._recovered(used, outcome, handed_over)
        finished = self._finish(record, outcome, handed_over=handed_over)
        elapsed = time.perf_counter() - started
        if isinstance(finished, KafkaSendError):
            self._metrics.count(record.topic, 0, 1, elapsed)
            self._after_failure(finished)
            raise finished
        self._metrics.count(record.topic, 1, 0, elapsed)
        return finished

    async def _attempt(
        self, record: ProducerRecord, value: Any
    ) -> tuple[ProducerRecord, SendResult | BaseException | None, bool, AIOKafkaProducer | None]:
        """One send: the record as sent, its outcome, whether it was handed over, and by whom."""
        outcome: SendResult | BaseException | None = None
        guarded = self._guard.enter()
        handed_over = False
        producer = None
        try:
            producer = self._ready_producer()
            record = await self._placed(producer, record, value)
            delivery = await self._hand_over(producer, record)
            handed_over = True  # from here on, the producer may deliver it even if we give up
            outcome = self._result(record, await delivery)
        except asyncio.CancelledError:
            if not self._guard.leave(guarded):
                raise
            guarded = None
            outcome = None  # the delivery timeout passed: no acknowledgement in time
        except KeyboardInterrupt:
            raise
        except Exception as exc:  # noqa: BLE001 - reported as KafkaSendError
            outcome = exc
        finally:
            self._guard.leave(guarded)
        return record, outcome, handed_over, producer

    async def _recovered(
        self,
        producer: AIOKafkaProducer | None,
        outcome: SendResult | BaseException | None,
        handed_over: bool,
    ) -> bool:
        """Replace ``producer`` if ``outcome`` broke it; whether it did (and may be retried).

        Inside a transaction the producer is replaced when the transaction ends: a retry there
        would send outside it.
        """
        if producer is None or not isinstance(outcome, BaseException):
            return False
        if not breaks_the_producer(outcome, handed_over):
            return False
        if self._transactions.active:
            self._transactions.broke(producer)
            return False
        return await self._slot.try_replace(producer, outcome)

    def _ready_producer(self) -> AIOKafkaProducer:
        """The producer to hand records to now: writable here, the cluster not known to be
        unreachable (then nothing is handed over, so nothing is written)."""
        producer = self._writable_producer()
        unreachable = self._reachability.unreachable
        if unreachable is not None:
            raise ClusterUnreachableError(unreachable)
        return producer

    async def _placed(
        self, producer: AIOKafkaProducer, record: ProducerRecord, value: Any
    ) -> ProducerRecord:
        """``record`` with its partition, where the template's partitioner chooses it."""
        return await self._placing.placed(producer, record, value)

    @staticmethod
    async def _hand_over(producer: AIOKafkaProducer, record: ProducerRecord) -> asyncio.Future[Any]:
        """Give ``record`` to the producer: from here on it may be delivered, whatever we do."""
        delivery: asyncio.Future[Any] = await producer.send(
            record.topic,
            record.value,
            key=record.key,
            partition=record.partition,
            timestamp_ms=record.timestamp_ms,
            headers=list(record.headers) if record.headers else None,
        )
        return delivery

    def _writable_producer(self) -> AIOKafkaProducer:
        producer = self._slot.require()
        if self.transactional_id is not None and not self._transactions.active:
            raise TransactionStateError(
                "this template is transactional: send inside `async with template.transaction()`"
            )
        return producer

    async def send_records(
        self, items: Sequence[tuple[ProducerRecord, Any]]
    ) -> list[SendResult | KafkaSendError]:
        """Send many records, handed to the producer in order; one outcome per record.

        All are appended to the producer's batches first and then awaited together, so they
        travel in as few requests as the batch size allows and, per partition, in this order.
        The whole call is bounded by the delivery timeout. A failure that breaks the producer
        replaces it, and the records the broker refused for its sequence (so never wrote) are
        sent once more on the new one. With middlewares, each record goes through them and
        is awaited before the next (so they keep their order).

        Args:
            items: ``(record, unserialized value)`` pairs, in the order to send them.
        """
        if self.middlewares:
            outcomes: list[SendResult | KafkaSendError] = []
            for record, value in items:
                try:
                    outcomes.append(await self.send_record(record, value))
                except KafkaSendError as exc:
                    outcomes.append(exc)
            return outcomes
        return await self._send_records(items, retry=True)

    async def _send_records(
        self, items: Sequence[tuple[ProducerRecord, Any]], *, retry: bool
    ) -> list[SendResult | KafkaSendError]:
        started = time.perf_counter()
        outcomes: list[SendResult | BaseException | None] = [None] * len(items)
        prepared = [record for record, _ in items]
        deadline = started + self._delivery_timeout_s
        used = self._producer
        # Which records were handed over, and their futures (two lists: no tuple per record).
        indexes: list[int] = []
        deliveries: list[asyncio.Future[Any]] = []
        try:
            async with asyncio.timeout(self._delivery_timeout_s):
                await self._enqueue(items, prepared, outcomes, indexes, deliveries)
        except TimeoutError:
            pass  # records not handed over in time get no outcome: they timed out
        if deliveries:
            await self._await_all(deliveries, deadline - time.perf_counter())
        for index, delivery in zip(indexes, deliveries, strict=True):
            if not delivery.done():
                continue
            failure = delivery.exception()
            outcomes[index] = failure or self._result(prepared[index], delivery.result())
        again = await self._resend_after_recovery(
            used, items, prepared, outcomes, indexes, retry=retry
        )
        elapsed = time.perf_counter() - started
        finished: list[SendResult | KafkaSendError] = []
        by_topic: dict[str, list[int]] = {}
        handed = set(indexes)
        for index, (record, outcome) in enumerate(zip(prepared, outcomes, strict=True)):
            if index in again:
                finished.append(again[index])  # finished, counted and heard in the retry
                continue
            result = self._finish(record, outcome, handed_over=index in handed)
            finished.append(result)
            if isinstance(result, KafkaSendError):
                self._after_failure(result)
            counts = by_topic.get(record.topic) or by_topic.setdefault(record.topic, [0, 0])
            counts[isinstance(result, KafkaSendError)] += 1
        for topic, (sent, failed) in by_topic.items():
            self._metrics.count(topic, sent, failed, elapsed)
        return finished

    async def _resend_after_recovery(
        self,
        used: AIOKafkaProducer | None,
        items: Sequence[tuple[ProducerRecord, Any]],
        prepared: list[ProducerRecord],
        outcomes: list[SendResult | BaseException | None],
        handed: list[int],
        *,
        retry: bool,
    ) -> dict[int, SendResult | KafkaSendError]:
        """Replace ``used`` if a handed-over record broke it; the retried records' results."""
        failures = [o for i in handed if isinstance(o := outcomes[i], BaseException)]
        breaking = next((f for f in failures if breaks_the_producer(f, handed_over=True)), None)
        if breaking is not None:
            await self._recovered(used, breaking, handed_over=True)
        lost = [
            i for i, outcome in enumerate(outcomes) if isinstance(outcome, NOT_WRITTEN_BY_THE_OLD)
        ]
        if not retry or not lost or not self._slot.replaced_since(used):
            return {}
        results = await self._send_records([(prepared[i], items[i][1]) for i in lost], retry=False)
        return dict(zip(lost, results, strict=True))

    @staticmethod
    async def _await_all(deliveries: list[asyncio.Future[Any]], timeout_s: float) -> None:
        """Wait until every future is done or the time is up; never cancels them.

        One future after another, not ``asyncio.wait(all)``: a batch's futures complete together
        and in order, so this sleeps about once per batch, where ``wait`` pays a callback per
        record. ``wait`` (not ``await``) for each: a timeout must not cancel the producer's futures.
        """
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(max(0.0, timeout_s)):
                for delivery in deliveries:
                    if not delivery.done():
                        await asyncio.wait((delivery,))

    async def _enqueue(
        self,
        items: Sequence[tuple[ProducerRecord, Any]],
        prepared: list[ProducerRecord],
        outcomes: list[SendResult | BaseException | None],
        indexes: list[int],
        deliveries: list[asyncio.Future[Any]],
    ) -> None:
        try:
            producer = self._ready_producer()
        except Exception as exc:  # noqa: BLE001 - every record fails the same way
            outcomes[:] = [exc] * len(items)
            return
        for index, (given, value) in enumerate(items):
            try:
                record = prepared[index] = await self._placed(producer, given, value)
                delivery = await self._hand_over(producer, record)
            except (asyncio.CancelledError, KeyboardInterrupt):
                raise
            except Exception as exc:  # noqa: BLE001 - reported per record
                outcomes[index] = exc
                continue
            indexes.append(index)
            deliveries.append(delivery)

    @staticmethod
    def _result(record: ProducerRecord, metadata: Any) -> SendResult:
        if metadata is None:  # acks=0: the partition is ours, the offset is never known
            assert record.partition is not None
            return SendResult(record, record.topic, record.partition, -1, -1)
        return SendResult(
            record, metadata.topic, metadata.partition, metadata.offset, metadata.timestamp
        )

    def _finish(
        self,
        record: ProducerRecord,
        outcome: SendResult | BaseException | None,
        *,
        handed_over: bool = False,
    ) -> SendResult | KafkaSendError:
        """Notify the listener; turn failures into :class:`KafkaSendError` (no metrics here).

        ``outcome`` ``None`` is a timeout: handed to the producer, the record may still be
        written (its outcome is unknown); never handed over, it certainly was not.
        """
        if isinstance(outcome, SendResult):
            self._notify.success(outcome.record, outcome)
            return outcome
        if outcome is None:
            timeout = self._delivery_timeout_s
            outcome = (
                DeliveryUnknownError(
                    f"no acknowledgement within the delivery timeout ({timeout} s); the "
                    "producer still holds the record and may write it"
                )
                if handed_over
                else TimeoutError(f"not handed to Kafka within the delivery timeout ({timeout} s)")
            )
        return self._failed(record, outcome)

    def _failed(self, record: ProducerRecord, cause: BaseException) -> KafkaSendError:
        """Notify the listener; the error to raise or report for ``record``."""
        self._notify.error(record, cause)
        error = KafkaSendError(record, cause)
        error.__cause__ = cause
        return error

    async def flush(self) -> None:
        """Wait until every buffered record was sent (bounded by the delivery timeout)."""
        if self._producer is not None:
            await within(self._producer.flush(), self._delivery_timeout_s)

    # ---------------------------------------------------------------- transactions
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[KafkaTemplate]:
        """Sends inside are committed together on normal exit and aborted on an exception."""
        async with self._transactions.open():
            yield self

    async def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_id: str
    ) -> None:
        """Commit a consumer group's offsets as part of the open transaction (exactly-once).

        Args:
            offsets: The next offset to read, per partition (the last handled one plus one).
            group_id: The consumer group whose offsets these are.
        """
        await self._transactions.send_offsets(offsets, group_id)

    # ---------------------------------------------------------------- internals
    @property
    def _delivery_timeout_s(self) -> float:
        return self.settings.producer.delivery_timeout_ms / 1000
