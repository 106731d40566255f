"""``KafkaTemplate``: send values to topics and learn where Kafka put them."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import time
from collections.abc import AsyncIterator, Callable, Coroutine, Mapping, Sequence
from types import TracebackType
from typing import Any, Protocol

from aiokafka import AIOKafkaProducer
from aiokafka.errors import (
    InvalidProducerEpoch,
    KafkaConnectionError,
    KafkaError,
    KafkaTimeoutError,
    OutOfOrderSequenceNumber,
    ProducerClosed,
    ProducerFenced,
    UnknownProducerId,
)
from aiokafka.structs import OffsetAndMetadata, TopicPartition
from prometheus_client import CollectorRegistry

from kafka_kit._internal.cancellation import within
from kafka_kit._internal.clients import start_bounded, stop_bounded
from kafka_kit._internal.deadlines import DeadlineGuard
from kafka_kit._internal.reachability import ClusterReachability
from kafka_kit.errors import (
    ClusterUnreachableError,
    DeliveryUnknownError,
    KafkaSendError,
    TemplateNotStartedError,
    TransactionStateError,
)
from kafka_kit.metrics import BatchedCounter, BatchedObserver, KafkaMetrics
from kafka_kit.middleware import Middleware, around
from kafka_kit.partitioners import DefaultPartitioner, Partitioner, load_partitioner
from kafka_kit.records import Headers, ProducerRecord, SendResult, normalize_headers
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


class ProducerListener(Protocol):
    """Hooks called after each send (Spring's ``ProducerListener``)."""

    def on_success(self, record: ProducerRecord, result: SendResult) -> None:
        """The broker acknowledged ``record``."""

    def on_error(self, record: ProducerRecord, exc: BaseException) -> None:
        """``record`` was not (known to be) written."""


class LoggingProducerListener:
    """The default listener: logs failed sends, ignores successes."""

    def on_success(self, record: ProducerRecord, result: SendResult) -> None:
        """Nothing to do."""

    def on_error(self, record: ProducerRecord, exc: BaseException) -> None:
        """Log the failed record's coordinates and the cause."""
        log.error(
            "send failed: topic=%s partition=%s key=%r: %s: %s",
            record.topic,
            record.partition,
            record.key,
            type(exc).__name__,
            exc,
        )


_LOOKS_UNREACHABLE = (DeliveryUnknownError, TimeoutError, KafkaTimeoutError, KafkaConnectionError)
"""Send failures after which the cluster is probed (writes fail fast while it does not answer)."""

_LOST_SEQUENCE = (OutOfOrderSequenceNumber, UnknownProducerId, InvalidProducerEpoch)
"""The broker refused a batch for its producer id, epoch or sequence — never wrote it. The
producer's sequence state is broken: every later batch to the partition fails the same way."""

_NOT_WRITTEN_BY_THE_OLD = (*_LOST_SEQUENCE, ProducerClosed)
"""What a record met on a producer that was being replaced: certainly not written, so sent again
on the new one (a replaced producer closes; a send that reached it then meets ProducerClosed)."""


def _breaks_the_producer(cause: BaseException | None, handed_over: bool) -> bool:
    """Whether a failed send leaves the producer unusable for its partition (or at all).

    A batch the broker refused for good (a timestamp out of range, too large, not authorized)
    still used up its sequence numbers: the next batch's sequence is one the broker does not
    expect. Kafka's Java client bumps the epoch and resets the sequences (KIP-360); aiokafka
    does not, so the template replaces the producer, as Spring's producer factory does.
    """
    if not handed_over or cause is None:
        return False
    if isinstance(cause, (*_LOST_SEQUENCE, ProducerFenced)):
        return True
    return isinstance(cause, KafkaError) and not cause.retriable


class KafkaTemplate:
    """Spring's ``KafkaTemplate`` for asyncio: ``await template.send(topic, value)``.

    ``settings`` default to the ``KAFKA_*`` environment variables. ``partitioner`` overrides
    ``KAFKA_PRODUCER_PARTITIONER``; ``producer_listener`` sees every outcome; ``transactional_id``
    makes every send part of a transaction. Its send metrics go to ``metrics_registry``
    (prometheus-client's global registry by default). ``key_serializer`` and
    ``value_serializer`` turn keys and values into bytes (defaults: ``str``/``bytes`` keys; JSON
    for models and JSON-able values, ``bytes``/``str`` as they are) — Avro, Protobuf, … plug in
    here; they raise ``TypeError`` or ``ValueError`` for what they cannot serialize.
    ``type_mapping`` (``{"event": EventDto}``) adds Spring's ``__TypeId__`` header with the token
    of a mapped value's type, for Spring consumers and for listeners with several types per topic.
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
    ) -> None:
        self.settings = settings or KafkaSettings()
        self.middlewares = tuple(middlewares)
        """Around every send (:class:`~kafka_kit.middleware.Middleware` ``on_send``)."""
        self.type_mapping = TypeMapping.of(type_mapping)
        producer = self.settings.producer
        spec = producer.partitioner
        self.partitioner: Partitioner | None = partitioner or (
            load_partitioner(spec) if spec else None
        )
        self.default_partitioner = DefaultPartitioner(producer.max_batch_size)
        self.producer_listener: ProducerListener = producer_listener or LoggingProducerListener()
        self.key_serializer = key_serializer
        self.value_serializer = value_serializer
        # The default listener ignores successes: do not call it a million times for nothing
        # (a subclass that overrides on_success is called).
        self._listens_to_successes = (
            type(self.producer_listener).on_success is not LoggingProducerListener.on_success
        )
        self.transactional_id = transactional_id or producer.transactional_id
        self._reachability = ClusterReachability(self._probe)
        self._acks_zero = producer.acks == "0"
        self._guard = DeadlineGuard(producer.delivery_timeout_ms / 1000)
        self._producer: AIOKafkaProducer | None = None
        self._replacing = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()
        # Set when a send inside a transaction broke the producer: replaced when it ends.
        self._broken_in_transaction: AIOKafkaProducer | None = None
        self.producer_replacements = 0
        """How often a send broke the producer and it was replaced (``_breaks_the_producer``)."""
        # Per topic: (all partitions, available partitions), dropped on every metadata update.
        self._partitions: dict[str, tuple[list[int], list[int]]] = {}
        self._kit_metrics = KafkaMetrics.on(metrics_registry)
        self._metrics: dict[str, tuple[BatchedCounter, BatchedCounter, BatchedObserver]] = {}
        self._transaction_lock = asyncio.Lock()
        self._in_transaction: contextvars.ContextVar[bool] = contextvars.ContextVar(
            f"kafka-template-{id(self)}-transaction", default=False
        )

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect the producer (bounded by the request timeout)."""
        if self._producer is not None:
            return
        self._producer = await self._new_producer()

    async def _new_producer(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**self.settings.producer_config(self.transactional_id))
        await start_bounded(producer, self.settings, "the template's producer")
        producer.client.cluster.add_listener(self._metadata_changed)
        return producer

    async def _replace(self, broken: AIOKafkaProducer, cause: BaseException) -> None:
        """A new producer (id, epoch, sequences) in place of ``broken``, once however many sends
        saw it break. The old one finishes what it holds in the background, then closes."""
        async with self._replacing:
            if self._producer is not broken:
                return  # replaced already, or the template stopped
            log.warning(
                "the template's producer is replaced: a send left it unusable (%s: %s)",
                type(cause).__name__,
                cause,
            )
            self._partitions.clear()
            # The new one first: a send the old one refuses as it closes finds a successor (and
            # a transactional one fences the old, whose open transaction the broker aborts).
            self._producer = await self._new_producer()
            self._retire(broken)
            self.producer_replacements += 1

    def _retire(self, producer: AIOKafkaProducer) -> None:
        task = asyncio.create_task(stop_bounded(producer, self._delivery_timeout_s))
        self._retiring.add(task)
        task.add_done_callback(self._retiring.discard)

    async def _probe(self) -> None:
        await self._require_producer().client.fetch_all_metadata()

    def _after_failure(self, error: KafkaSendError) -> None:
        """A failure that looks like the cluster is away: have it probed (fail fast meanwhile)."""
        if isinstance(error.cause, _LOOKS_UNREACHABLE) and self._producer is not None:
            self._reachability.suspect()

    def _metadata_changed(self, cluster: Any) -> None:
        self._partitions.clear()

    async def stop(self) -> None:
        """Flush what is buffered and close the producer; bounded, so it never hangs."""
        producer, self._producer = self._producer, None
        away = self._reachability.unreachable is not None
        await self._reachability.close()
        if producer is not None:
            # Stopping flushes what is buffered: as long as a delivery may take, not longer —
            # and with the cluster away, a moment (what is buffered was answered as unknown).
            timeout = min(self._delivery_timeout_s, 2.0) if away else self._delivery_timeout_s
            await stop_bounded(producer, timeout)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
        for batched in self._metrics.values():
            for metric in batched:
                metric.flush()  # a template that goes away leaves its counts behind

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
        """The topic's partitions (fetching metadata if needed; bounded by the request timeout)."""
        producer = self._require_producer()
        return sorted(
            await within(producer.partitions_for(topic), self.settings.request_timeout_ms / 1000)
        )

    async def check_connection(self, timeout_s: float = 2.0) -> None:
        """Ask a broker for cluster metadata; raises when none answers within ``timeout_s``."""
        producer = self._require_producer()
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
            self._count(topic, 0, 1, 0.0)
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
        """Send to the configured default topic (``KAFKA_PRODUCER_DEFAULT_TOPIC``)."""
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
        if self._replaced_since(used) and isinstance(outcome, _NOT_WRITTEN_BY_THE_OLD):
            record, outcome, handed_over, used = await self._attempt(record, value)
            await self._recovered(used, outcome, handed_over)
        finished = self._finish(record, outcome, handed_over=handed_over)
        elapsed = time.perf_counter() - started
        if isinstance(finished, KafkaSendError):
            self._count(record.topic, 0, 1, elapsed)
            self._after_failure(finished)
            raise finished
        self._count(record.topic, 1, 0, elapsed)
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

    def _replaced_since(self, used: AIOKafkaProducer | None) -> bool:
        """Whether the template has another producer than ``used`` now (and may retry there)."""
        return used is not None and self._producer is not None and self._producer is not used

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
        if not _breaks_the_producer(outcome, handed_over):
            return False
        if self._in_transaction.get():
            self._broken_in_transaction = producer
            return False
        return await self._try_replace(producer, outcome)

    async def _try_replace(self, producer: AIOKafkaProducer, cause: BaseException) -> bool:
        """:meth:`_replace`, or a warning if no new producer could start (the next try is at the
        next failure); whether it was replaced."""
        try:
            await self._replace(producer, cause)
        except Exception as exc:  # noqa: BLE001 - the next failure tries again
            log.warning("the template's producer could not be replaced yet: %r", exc)
            return False
        return True

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
        if record.partition is None and self._assigns(record):
            return await self._assign_partition(producer, record, value)
        return record

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
        producer = self._require_producer()
        if self.transactional_id is not None and not self._in_transaction.get():
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
            self._count(topic, sent, failed, elapsed)
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
        breaking = next((f for f in failures if _breaks_the_producer(f, handed_over=True)), None)
        if breaking is not None:
            await self._recovered(used, breaking, handed_over=True)
        lost = [
            i for i, outcome in enumerate(outcomes) if isinstance(outcome, _NOT_WRITTEN_BY_THE_OLD)
        ]
        if not retry or not lost or not self._replaced_since(used):
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

    def _topic_metrics(self, topic: str) -> tuple[BatchedCounter, BatchedCounter, BatchedObserver]:
        # Looking up labelled children costs more than updating them: once per topic. Updates
        # are batched (added at each scrape): a lock per update was a real share of a send.
        found = self._metrics.get(topic)
        if found is None:
            kit = self._kit_metrics
            found = self._metrics[topic] = (
                kit.batched_counter(kit.template_sends.labels(topic, "ok")),
                kit.batched_counter(kit.template_sends.labels(topic, "error")),
                kit.batched_observer(kit.template_send_seconds.labels(topic)),
            )
        return found

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
            if self._listens_to_successes:
                self._notify_success(outcome.record, outcome)
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
        self._notify_error(record, cause)
        error = KafkaSendError(record, cause)
        error.__cause__ = cause
        return error

    def _count(self, topic: str, sent: int, failed: int, elapsed: float) -> None:
        ok_counter, failed_counter, latency = self._topic_metrics(topic)
        if sent:
            ok_counter.add(sent)
            # Once per record sent, as the counter counts: each waited this long for its answer.
            latency.add_times(elapsed, sent)
        if failed:
            failed_counter.add(failed)

    def _assigns(self, record: ProducerRecord) -> bool:
        """Whether the template picks the partition, or leaves it to the producer.

        A key without a custom partitioner maps as the producer would map it (murmur2 over all
        partitions): aiokafka does that itself, and the result reports the partition. Keyless
        records (sticky), custom partitioners and acks=0 (no result to report it) need ours.
        """
        return record.key is None or self.partitioner is not None or self._acks_zero

    async def _assign_partition(
        self, producer: AIOKafkaProducer, record: ProducerRecord, value: Any
    ) -> ProducerRecord:
        known = self._partitions.get(record.topic)
        if known is None:
            partitions = sorted(await producer.partitions_for(record.topic))
            available = sorted(producer.client.cluster.available_partitions_for_topic(record.topic))
            known = self._partitions[record.topic] = (partitions, available)
        partitions, available = known
        chosen = None
        if self.partitioner is not None:
            chosen = self.partitioner(record, value, partitions, available)
            if chosen is not None and chosen not in partitions:
                raise ValueError(
                    f"the partitioner chose partition {chosen}, but {record.topic} has {partitions}"
                )
        if chosen is None:
            chosen = self.default_partitioner(record, value, partitions, available)
        return record._replace(partition=chosen)

    async def flush(self) -> None:
        """Wait until every buffered record was sent (bounded by the delivery timeout)."""
        if self._producer is not None:
            await within(self._producer.flush(), self._delivery_timeout_s)

    # ---------------------------------------------------------------- transactions
    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[KafkaTemplate]:
        """Sends inside are committed together on normal exit and aborted on an exception."""
        producer = self._require_producer()
        if self.transactional_id is None:
            raise TransactionStateError(
                "no transactional id: set KAFKA_PRODUCER_TRANSACTIONAL_ID or transactional_id="
            )
        if self._in_transaction.get():
            raise TransactionStateError("a transaction is already open in this task")
        # One producer, one open transaction: other tasks queue for theirs.
        async with self._transaction_lock:
            producer = self._require_producer()  # a replacement may have happened meanwhile
            await within(producer.begin_transaction(), self._delivery_timeout_s)
            token = self._in_transaction.set(True)
            try:
                yield self
            except BaseException as failure:
                await self._abort_or_replace(producer, failure)
                raise
            else:
                try:
                    await within(producer.commit_transaction(), self._delivery_timeout_s)
                except Exception as failure:
                    if _breaks_the_producer(failure, handed_over=True):
                        await self._try_replace(producer, failure)
                    raise
            finally:
                self._in_transaction.reset(token)
                self._broken_in_transaction = None

    async def _abort_or_replace(self, producer: AIOKafkaProducer, failure: BaseException) -> None:
        """End a failed transaction: abort it — or, if a send inside broke the producer, replace
        the producer (its transaction is aborted by the broker when the new one fences it)."""
        if self._broken_in_transaction is producer:
            await self._try_replace(producer, failure.__cause__ or failure)
            return
        try:
            await within(producer.abort_transaction(), self._delivery_timeout_s)
        except Exception as abort_failed:
            if not _breaks_the_producer(abort_failed, handed_over=True):
                raise
            await self._try_replace(producer, abort_failed)

    async def send_offsets_to_transaction(
        self, offsets: Mapping[TopicPartition, int], group_id: str
    ) -> None:
        """Commit a consumer group's offsets as part of the open transaction (exactly-once)."""
        producer = self._require_producer()
        if not self._in_transaction.get():
            raise TransactionStateError("send_offsets_to_transaction needs an open transaction")
        committed = {tp: OffsetAndMetadata(offset, "") for tp, offset in offsets.items()}
        await within(
            producer.send_offsets_to_transaction(committed, group_id), self._delivery_timeout_s
        )

    # ---------------------------------------------------------------- internals
    def _require_producer(self) -> AIOKafkaProducer:
        if self._producer is None:
            raise TemplateNotStartedError("the template is not started")
        return self._producer

    def _notify_success(self, record: ProducerRecord, result: SendResult) -> None:
        try:
            self.producer_listener.on_success(record, result)
        except Exception:
            log.exception("ProducerListener.on_success raised")

    def _notify_error(self, record: ProducerRecord, exc: BaseException) -> None:
        try:
            self.producer_listener.on_error(record, exc)
        except Exception:
            log.exception("ProducerListener.on_error raised")

    @property
    def _delivery_timeout_s(self) -> float:
        return self.settings.producer.delivery_timeout_ms / 1000
