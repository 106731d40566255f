"""Quix Streams' ``Application`` as the kit runs it: in a thread, and never stopped by data.

One engine is one run: when it fails, the supervisor (:class:`StreamsApplication`) makes a new
one from the topology function and its committed state. What outlives an engine is
:class:`Supervision`: the counts, and the records that failed it.

Every record failure goes through a policy (:mod:`kafka_kit.streams.failures`):

- *deserialization* — the consumer's ``on_error`` hook, with the raw record;
- *processing* — ``on_processing_error``: what the topology raised for a record;
- *production* — an output the broker would refuse, caught before it is produced (timestamps
  out of the topic's range, records over its size), or one it refused (known from the delivery
  report, which names the input record that made it: that record is dead-lettered when it comes
  again after the restart).

A record that brings the engine down ``poison_after_failures`` times in a row, by whatever
exception, is taken as poison too: the next time it comes it is handled by the processing
policy instead of being processed again.

Written against the pinned Quix Streams version: it overrides the engine's producer and consumer
factories and wraps the composed topology, which are not public API. It is over 400 lines because
every override of those private hooks is here, together: an upgrade of Quix Streams is checked
against this one file. What does not touch them lives beside it (``supervision``,
``store_memory``, ``failures``, ``limits``).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import Any

from confluent_kafka import KafkaError, KafkaException

from kafka_kit.errors import KafkaKitError
from kafka_kit.recovery.dead_letter import Origin
from kafka_kit.streams._engine import (
    Application,
    BaseKafkaException,
    InternalConsumer,
    InternalProducer,
    QuixException,
    Row,
    dumps,
)
from kafka_kit.streams._engine import message_context as current_context
from kafka_kit.streams.dead_letter import dead_letter_headers
from kafka_kit.streams.failures import (
    FailureKind,
    FailurePolicy,
    RecordRefused,
    StreamsPolicyFailure,
    TimestampPolicy,
)
from kafka_kit.streams.limits import TopicLimits
from kafka_kit.streams.store_memory import CappedStoreOptions
from kafka_kit.streams.supervision import Coordinates, Supervision

__all__ = ["CappedStoreOptions", "Coordinates", "Engine", "Supervision"]

log = logging.getLogger("kafka_kit.streams.application")

_RECORD_ERRORS = frozenset(
    {
        KafkaError.INVALID_TIMESTAMP,
        KafkaError.MSG_SIZE_TOO_LARGE,
        KafkaError.INVALID_RECORD,
        KafkaError.INVALID_MSG,  # the broker's CORRUPT_MESSAGE
        KafkaError.RECORD_LIST_TOO_LARGE,
        KafkaError.POLICY_VIOLATION,
    }
)
"""Delivery errors about the record itself: it would be refused again, however often sent."""


class _GuardedProducer(InternalProducer):
    """Checks each output against its topic's limits; notes which input a refused one came from."""

    guard: Engine | None = None

    def produce(  # type: ignore[override]  # noqa: PLR0917 - the engine's own signature
        self,
        topic: str,
        value: Any = None,
        key: Any = None,
        headers: Any = None,
        partition: int | None = None,
        timestamp: int | None = None,
        **kwargs: Any,
    ) -> Any:
        """Produce, unless the topic's broker would refuse it (then :class:`RecordRefused`).

        Checked are the topology's outputs (made while processing an input record), not the
        changelog writes of a checkpoint: their size and time are the store's.
        """
        guard = self.guard
        origin = None if guard is None else guard.current_origin()
        if guard is not None and origin is not None:
            timestamp = guard.checked_timestamp(topic, timestamp)
            guard.check_size(topic, key, value, headers)
            kwargs["on_delivery"] = guard.delivery_watch(origin, kwargs.get("on_delivery"))
        try:
            return super().produce(topic, value, key, headers, partition, timestamp, **kwargs)
        except KafkaException as exc:
            if origin is not None and exc.args and exc.args[0].code() in _RECORD_ERRORS:
                raise RecordRefused(topic, exc.args[0].str()) from exc
            raise

    def commit_transaction(
        self, positions: Any, group_metadata: Any, timeout: float | None = None
    ) -> None:
        """Commit — bounded: off the rebalance path the engine would wait for ever (librdkafka's
        offsets call with -1 waited on a dead coordinator for minutes); past the bound the
        engine fails and is replaced."""
        if timeout is None and self.guard is not None:
            timeout = self.guard.supervision.settings.stuck_after_s
        super().commit_transaction(positions, group_metadata, timeout=timeout)

    def produce_unchecked(self, topic: str, **kwargs: Any) -> Any:
        """Produce as the engine would (dead letters: their input already failed)."""
        return super().produce(topic, **kwargs)


class _RememberingConsumer(InternalConsumer):
    """Keeps the raw record being processed: a dead letter carries its bytes as they came."""

    current: Any = None

    def _poll_unbuffered(self, timeout: float | None = None) -> Any:
        self.current = super()._poll_unbuffered(timeout)
        return self.current

    def _poll_buffered(self, timeout: float | None = None) -> Any:
        self.current = super()._poll_buffered(timeout)
        return self.current


class Engine(Application):
    """Quix's Application in a thread of the service, every record failure by policy.

    Signals belong to the server; assignments and processed records are reported to the
    supervisor through ``on_assignment`` and ``on_message_processed``.

    Args:
        supervision: What outlives this engine (counts, poison records).
        on_assignment: Hears the input partitions this instance owns after each rebalance.
    """

    def __init__(
        self,
        *args: Any,
        supervision: Supervision,
        on_assignment: Callable[[set[tuple[str, int]]], None],
        **kwargs: Any,
    ) -> None:
        self.supervision = supervision
        super().__init__(
            *args,
            on_consumer_error=self._deserialization_failed,
            on_processing_error=self._processing_failed,
            on_producer_error=self._production_failed,
            **kwargs,
        )
        self._report_assignment = on_assignment
        self._owned: set[tuple[str, int]] = set()
        self._limits: dict[str, TopicLimits] = {}
        self._clamp_logged = 0.0
        self.processing: Coordinates | None = None
        """The input record the topology is processing now (the one to blame for a crash)."""
        self.suspects: set[Coordinates] = set()
        """Input records whose output the broker refused (it may refuse a whole batch, so each
        is only suspected: the next engine checks the topic's limits again)."""
        assert isinstance(self._producer, _GuardedProducer)
        self._producer.guard = self
        self.heartbeat = time.monotonic()
        """When the processing loop last went round (the supervisor's watchdog reads it)."""
        self._wrap_topology()
        self._wrap_recovery()

    # ------------------------------------------------------------------ the engine's factories
    def _get_internal_producer(
        self, on_error: Any = None, transactional: bool | None = None
    ) -> InternalProducer:
        if transactional is None:
            transactional = self._config.exactly_once
        extra = dict(self._config.producer_extra_config)
        if not transactional:
            extra.pop("transactional.id", None)
        return _GuardedProducer(
            broker_address=self._config.broker_address,
            extra_config=extra,
            flush_timeout=self._config.flush_timeout,
            on_error=on_error,
            transactional=transactional,
        )

    def _get_internal_consumer(
        self, on_error: Any = None, extra_config_overrides: dict[str, Any] | None = None
    ) -> InternalConsumer:
        return _RememberingConsumer(
            broker_address=self._config.broker_address,
            consumer_group=self._config.consumer_group,
            auto_offset_reset=self._config.auto_offset_reset,
            auto_commit_enable=False,
            max_partition_buffer_size=self._config.max_partition_buffer_size,
            extra_config={**self._config.consumer_extra_config, **(extra_config_overrides or {})},
            on_error=on_error,
        )

    def _wrap_topology(self) -> None:
        # Each input topic's composed topology, behind the poison check.
        registry = self._dataframe_registry
        compose = registry.compose_all

        def compose_all(*args: Any, **kwargs: Any) -> dict[str, Callable[..., Any]]:
            return {topic: self._guarded(run) for topic, run in compose(*args, **kwargs).items()}

        registry.compose_all = compose_all  # type: ignore[method-assign]

    def _wrap_recovery(self) -> None:
        # Restoring state is the loop's work too: each round is a sign of life.
        manager = self._state_manager
        recover = manager.do_recovery

        def do_recovery(*args: Any, **kwargs: Any) -> Any:
            self.heartbeat = time.monotonic()
            return recover(*args, **kwargs)

        manager.do_recovery = do_recovery  # type: ignore[method-assign]

    def _process_message(self, dataframe_composed: Any) -> None:
        self.heartbeat = time.monotonic()
        super()._process_message(dataframe_composed)  # type: ignore[no-untyped-call]

    def _guarded(self, run: Callable[..., Any]) -> Callable[..., Any]:
        poisoned = self.supervision.poisoned
        strikes = self.supervision.strikes

        def guarded(value: Any, key: Any, timestamp: int, headers: Any) -> Any:
            context = current_context()
            at = (context.topic, context.partition, context.offset)
            known = poisoned.get(at)
            if known is not None:
                kind, reason = known
                raise (
                    RecordRefused(at[0], reason)
                    if kind is FailureKind.PRODUCTION
                    else (_KnownPoison(reason))
                )
            self.processing = at
            result = run(value, key, timestamp, headers)
            self.processing = None
            if strikes and at in strikes:
                del strikes[at]  # processed after all: it was not the record to blame
            return result

        return guarded

    # ------------------------------------------------------------------ signals and assignment
    def _setup_signal_handlers(self) -> None:
        # Quix installs SIGINT/SIGTERM handlers, which only the main thread may; uvicorn owns
        # them there and the lifespan stops this application.
        pass

    def _on_assign(self, consumer: Any, topic_partitions: list[Any]) -> None:
        super()._on_assign(consumer, topic_partitions)
        self._owned |= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))

    def _on_revoke(self, consumer: Any, topic_partitions: list[Any]) -> None:
        self._owned -= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))
        super()._on_revoke(consumer, topic_partitions)

    def _on_lost(self, consumer: Any, topic_partitions: list[Any]) -> None:
        self._owned -= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))
        super()._on_lost(consumer, topic_partitions)

    # ------------------------------------------------------------------ the failure hooks
    def _deserialization_failed(self, exc: Exception, message: Any, logger: Any) -> bool:
        if message is None or isinstance(exc, (KafkaException, BaseKafkaException)):
            return False  # the consumer, not a record: the engine fails and is restarted
        policy = self.supervision.settings.on_deserialization_error
        at = (message.topic(), message.partition(), message.offset())
        self.processing = at  # to blame, should handling it fail
        self._apply(FailureKind.DESERIALIZATION, policy, exc, at, _raw_message(message))
        # Its offset commits with the checkpoint, as a processed record's does.
        self._processing_context.store_offset(*at)
        self.processing = None
        return True

    def _processing_failed(self, exc: Exception, row: Row | None, logger: Any) -> bool:
        if row is None or isinstance(exc, StreamsPolicyFailure) or _is_infrastructure(exc):
            return False  # the engine fails: restarted (or, for a "fail" policy, stopped)
        settings = self.supervision.settings
        if isinstance(exc, RecordRefused):
            kind, policy = FailureKind.PRODUCTION, settings.on_production_error
        else:
            kind, policy = FailureKind.PROCESSING, settings.on_processing_error
        at = (row.topic, row.partition, row.offset)
        self._apply(kind, policy, exc, at, self._raw_of(at, row))
        self.processing = None
        return True

    def _production_failed(self, exc: Exception, row: Row | None, logger: Any) -> bool:
        # Reported again as the processing failure of the record that produced it.
        return False

    def _apply(
        self,
        kind: FailureKind,
        policy: FailurePolicy,
        exc: BaseException,
        at: Coordinates,
        raw: Any,
    ) -> None:
        where = f"{at[0]}[{at[1]}]@{at[2]}"
        if policy is FailurePolicy.FAIL:
            raise StreamsPolicyFailure(
                f"{kind.value} failure at {where}, and the policy is to fail: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        supervision = self.supervision
        if policy is FailurePolicy.DEAD_LETTER:
            self._dead_letter(exc, at, raw)
        supervision.counts.count(kind, policy)
        supervision.strikes.pop(at, None)
        done = (
            f"dead-lettered to {supervision.dead_letter_topic}"
            if policy is (FailurePolicy.DEAD_LETTER)
            else "skipped"
        )
        log.warning(
            "stream application %s: %s failure at %s, %s: %s: %s",
            self._config.consumer_group,
            kind.value,
            where,
            done,
            type(exc).__name__,
            exc,
        )

    def _dead_letter(self, exc: BaseException, at: Coordinates, raw: Any) -> None:
        supervision = self.supervision
        key, value, headers, timestamp = raw
        origin = Origin(at[0], at[1], at[2], timestamp)
        partition = at[1] if at[1] < supervision.dead_letter_partitions else None
        producer = self._producer
        assert isinstance(producer, _GuardedProducer)
        producer.produce_unchecked(
            supervision.dead_letter_topic,
            key=key,
            value=value,
            headers=dead_letter_headers(
                origin, exc, self._config.consumer_group, [(k, bytes(v)) for k, v in headers]
            ),
            partition=partition,
        )

    def _raw_of(self, at: Coordinates, row: Row) -> tuple[Any, Any, list[Any], int]:
        """The record as it came when the consumer still holds it; else as the topology had it."""
        consumer = self._consumer
        message = consumer.current if isinstance(consumer, _RememberingConsumer) else None
        if (
            message is not None
            and (
                message.topic(),
                message.partition(),
                message.offset(),
            )
            == at
        ):
            return _raw_message(message)
        value = row.value if isinstance(row.value, bytes | None) else dumps(row.value)
        key = row.key if isinstance(row.key, bytes | None) else str(row.key).encode()
        return key, value, list(row.headers or []), row.timestamp

    # ------------------------------------------------------------------ output checks
    def checked_timestamp(self, topic: str, timestamp: int | None) -> int | None:
        """``timestamp``, or now if the policy clamps one the topic's broker would refuse.

        Args:
            topic: The output topic.
            timestamp: The record's timestamp (``None``: now).
        """
        if timestamp is None:
            return None
        now_ms = int(time.time() * 1000)
        problem = self.limits_of(topic).timestamp_problem(timestamp, now_ms)
        if problem is None:
            return timestamp
        policy = self.supervision.settings.on_invalid_timestamp
        if policy is TimestampPolicy.CLAMP:
            self.supervision.counts.timestamps_clamped += 1
            if time.monotonic() - self._clamp_logged > 10:  # a line per 10 s, not per record
                self._clamp_logged = time.monotonic()
                log.warning(
                    "stream application %s: output to %s written with the current time (%s); "
                    "%d clamped so far",
                    self._config.consumer_group,
                    topic,
                    problem,
                    self.supervision.counts.timestamps_clamped,
                )
            return now_ms
        if policy is TimestampPolicy.FAIL:
            raise StreamsPolicyFailure(f"an output to {topic} has a bad timestamp: {problem}")
        raise RecordRefused(topic, problem)

    def check_size(self, topic: str, key: Any, value: Any, headers: Any) -> None:
        """:class:`RecordRefused` if the record is larger than the topic takes.

        Args:
            topic: The output topic.
            key: The record's key.
            value: Its value.
            headers: Its headers.
        """
        size = len(key or b"") + len(value or b"")
        size += sum(len(k) + len(v or b"") for k, v in (headers or []))
        problem = self.limits_of(topic).size_problem(size)
        if problem is not None:
            raise RecordRefused(topic, problem)

    def limits_of(self, topic: str) -> TopicLimits:
        """The topic's limits, asked of the broker once (Kafka's defaults if it cannot say).

        Args:
            topic: An output topic.
        """
        limits = self._limits.get(topic)
        if limits is None:
            try:
                described = self._topic_manager._admin.inspect_topics([topic], timeout=10)
                config = described.get(topic)
                limits = TopicLimits.of(config.extra_config if config is not None else {})
            except Exception as exc:  # noqa: BLE001 - Kafka's defaults then; asked again later
                log.debug("limits of %s unknown (%r): Kafka's defaults", topic, exc)
                return TopicLimits()
            self._limits[topic] = limits
        return limits

    def current_origin(self) -> Coordinates | None:
        """The input record being processed, if this produce is part of processing one."""
        try:
            context = current_context()
        except QuixException:
            return None  # a changelog write at a checkpoint
        return (context.topic, context.partition, context.offset)

    def delivery_watch(
        self, origin: Coordinates, then: Callable[[Any, Any], None] | None
    ) -> Callable[[Any, Any], None]:
        """A delivery callback that suspects ``origin`` if the broker refused its output.

        Args:
            origin: The input record the output was made from.
            then: The engine's own delivery callback, called after.
        """
        suspects = self.suspects

        def delivered(err: Any, msg: Any) -> None:
            if err is not None and err.code() in _RECORD_ERRORS:
                suspects.add(origin)
            if then is not None:
                then(err, msg)

        return delivered


class _KnownPoison(KafkaKitError, RuntimeError):
    """A record that failed the application before: handled by the processing policy now."""


def _is_infrastructure(exc: BaseException) -> bool:
    """Whether ``exc`` is the client's or the engine's (restart), not the record's (policy)."""
    return isinstance(exc, (KafkaException, BaseKafkaException, QuixException))


def _raw_message(message: Any) -> tuple[Any, Any, list[Any], int]:
    _, timestamp = message.timestamp()
    return message.key(), message.value(), list(message.headers() or []), timestamp
