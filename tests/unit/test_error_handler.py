"""Decisions of the error handlers, on records built in memory (pure logic)."""

from __future__ import annotations

from aiokafka.structs import ConsumerRecord

from kafka_kit.errors import BatchListenerFailedError, DeserializationError
from kafka_kit.recovery.back_off import ExponentialBackOff, FixedBackOff
from kafka_kit.recovery.error_handler import (
    RECOVERED,
    DefaultErrorHandler,
    ErrorOutcome,
    is_retryable,
)
from kafka_kit.recovery.retry_topics import RetryTopics, not_before
from kafka_kit.status import ContainerMetrics


class Container:
    """A listener context: what error handlers and recoverers are given."""

    listener_id = "test"
    client_id = "test-0"
    group_id = "g"

    def __init__(self) -> None:
        self.metrics = ContainerMetrics()

    def count(self, outcome: str, records: int = 1) -> None:
        self.metrics.count(outcome, records)


def record(offset: int = 0, headers: tuple = ()) -> ConsumerRecord:
    return ConsumerRecord("t", 0, offset, 0, 0, b"k", b"v", None, 1, 1, headers)


class Recoverer:
    def __init__(self, fail: bool = False) -> None:
        self.recovered: list[int] = []
        self.fail = fail

    async def recover(self, rec: ConsumerRecord, exc: Exception, container: Container) -> None:
        if self.fail:
            raise ConnectionError("dead-letter topic unreachable")
        self.recovered.append(rec.offset)


class Hooks:
    def __init__(self) -> None:
        self.calls: list[tuple] = []

    def failed_delivery(self, rec: ConsumerRecord, exc: Exception, attempt: int) -> None:
        self.calls.append(("failed", rec.offset, attempt))

    def recovered(self, rec: ConsumerRecord, exc: Exception) -> None:
        self.calls.append(("recovered", rec.offset))

    def recovery_failed(self, rec: ConsumerRecord, exc: Exception, failure: Exception) -> None:
        self.calls.append(("recovery_failed", rec.offset))


async def test_retries_with_back_off_then_recovers() -> None:
    recoverer, hooks = Recoverer(), Hooks()
    handler = DefaultErrorHandler(
        recoverer, ExponentialBackOff(0.5, 2, 10, max_retries=2), retry_listeners=[hooks]
    )
    outcomes = [
        await handler.handle(RuntimeError("x"), [record()], n, Container()) for n in (1, 2, 3)
    ]
    assert outcomes == [ErrorOutcome.retry(0.5), ErrorOutcome.retry(1.0), RECOVERED]
    assert recoverer.recovered == [0]
    assert hooks.calls == [("failed", 0, 1), ("failed", 0, 2), ("failed", 0, 3), ("recovered", 0)]


async def test_not_retryable_goes_to_the_recoverer_at_once() -> None:
    recoverer = Recoverer()
    handler = DefaultErrorHandler(recoverer, FixedBackOff(1, 9), not_retryable=[KeyError])
    assert await handler.handle(KeyError("k"), [record()], 1, Container()) == RECOVERED
    poison = DeserializationError("not JSON", b"{")
    assert await handler.handle(poison, [record(1)], 1, Container()) == RECOVERED
    wrapped = BatchListenerFailedError(0, poison)
    assert not handler.is_retryable(wrapped)
    assert is_retryable(RuntimeError()) and not is_retryable(poison)
    assert recoverer.recovered == [0, 1]


async def test_failed_recovery_is_retried_not_committed() -> None:
    hooks = Hooks()
    handler = DefaultErrorHandler(
        Recoverer(fail=True), FixedBackOff(0, 0), retry_listeners=[hooks], recovery_retry_s=0.25
    )
    assert await handler.handle(RuntimeError(), [record(4)], 1, Container()) == ErrorOutcome.retry(
        0.25
    )
    assert hooks.calls == [("failed", 4, 1), ("recovery_failed", 4)]


async def test_without_a_recoverer_nothing_is_ever_dropped() -> None:
    handler = DefaultErrorHandler()
    for attempt in (1, 50, 5000):
        outcome = await handler.handle(RuntimeError(), [record()], attempt, Container())
        assert not outcome.recovered and outcome.retry_after_s > 0
    poison = DeserializationError("bad", b"")
    assert not (await handler.handle(poison, [record()], 1, Container())).recovered


async def test_a_raising_retry_listener_does_not_break_handling() -> None:
    class Broken:
        def failed_delivery(self, *args: object) -> None:
            raise RuntimeError("listener bug")

    handler = DefaultErrorHandler(Recoverer(), FixedBackOff(0.1, 4), retry_listeners=[Broken()])
    assert await handler.handle(RuntimeError(), [record()], 1, Container()) == ErrorOutcome.retry(
        0.1
    )


def test_retry_topics_are_named_by_delay() -> None:
    exponential = RetryTopics(4, ExponentialBackOff(1, 2, 3))
    assert exponential.delays_s() == [1, 2, 3]
    assert exponential.retry_topics("orders") == [
        "orders-retry-1000",
        "orders-retry-2000",
        "orders-retry-3000",
    ]
    fixed = RetryTopics(4, FixedBackOff(0.5, None))
    assert fixed.retry_topics("orders") == ["orders-retry-500"]  # one topic for every retry
    assert fixed.dead_letter_topic("orders") == "orders-dlt"
    assert RetryTopics(1).retry_topics("orders") == []


def test_not_before_reads_the_header() -> None:
    assert not_before(record(headers=(("kafka_retry-not-before", b"1500"),))) == 1.5  # pre-0.6
    spring = (("retry_topic-backoff-timestamp", (1_764_000_000_123).to_bytes(6, "big")),)
    assert not_before(record(headers=spring)) == 1_764_000_000.123
    assert not_before(record()) is None
