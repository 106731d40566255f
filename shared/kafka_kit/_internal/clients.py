"""aiokafka clients with every wait bounded: start, stop, and reading partitions to their end.

aiokafka's ``start()`` retries a cluster that does not answer for as long as its request timeouts
allow, and its ``stop()`` can wait for a broker that is gone. Everything in the kit starts and
stops clients through these helpers, so no start-up or shutdown hangs on an unreachable cluster.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Sequence
from typing import Any, Protocol

from aiokafka import AIOKafkaConsumer
from aiokafka.client import AIOKafkaClient
from aiokafka.conn import create_conn
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit._internal.cancellation import within
from kafka_kit.errors import ClusterUnreachableError, KafkaAuthorizationError
from kafka_kit.settings import KafkaSettings

__all__ = [
    "NOT_ALLOWED",
    "batches_until_end",
    "bootstrapped",
    "reading",
    "start_bounded",
    "stop_bounded",
]

log = logging.getLogger(__name__)


class _Client(Protocol):
    def start(self) -> Awaitable[Any]: ...


async def _stop_call(client: Any) -> None:
    # Consumers and producers stop(); the admin client close()s.
    stop = getattr(client, "stop", None) or client.close
    await stop()


NOT_ALLOWED = (
    ClusterAuthorizationFailedError,
    GroupAuthorizationFailedError,
    TopicAuthorizationFailedError,
    TransactionalIdAuthorizationFailed,
)
"""aiokafka's answers when an ACL forbids what the client asked."""


async def start_bounded(client: _Client, settings: KafkaSettings, what: str) -> None:
    """Start ``client`` within the request timeout; else close it and raise
    :class:`ClusterUnreachableError` naming the brokers and ``what`` the client was for."""
    timeout_s = settings.request_timeout_ms / 1000
    try:
        await within(client.start(), timeout_s)
    except (asyncio.CancelledError, KeyboardInterrupt):
        await stop_bounded(client, timeout_s)
        raise
    except Exception as exc:
        await stop_bounded(client, timeout_s)
        # aiokafka reports a refused TLS handshake or SASL login as "Unable to bootstrap":
        # one direct connection names the real cause (wrong CA, wrong password…).
        cause = None
        if isinstance(exc, NOT_ALLOWED):
            raise refused(exc, settings, client, what) from exc
        if settings.security_protocol != "PLAINTEXT":
            cause = await _connection_failure(settings)
        if cause is not None:
            raise ClusterUnreachableError(
                f"could not connect to Kafka at {settings.bootstrap_servers} ({what}, "
                f"{settings.security_protocol}): {cause}"
            ) from exc
        raise ClusterUnreachableError(
            f"no Kafka broker at {settings.bootstrap_servers} answered within {timeout_s:.0f} s "
            f"({what}): {type(exc).__name__}: {exc}"
        ) from exc


class _Bootstrapping:
    """An ``AIOKafkaClient`` seen as a client that starts (``bootstrap``) and closes."""

    def __init__(self, client: AIOKafkaClient) -> None:
        self.client = client

    def start(self) -> Awaitable[Any]:
        return self.client.bootstrap()

    def close(self) -> Awaitable[Any]:
        return self.client.close()


async def bootstrapped(settings: KafkaSettings, client_id: str, what: str) -> AIOKafkaClient:
    """A bare ``AIOKafkaClient`` (for requests aiokafka has no client for), bootstrapped like
    every other client: bounded, closed and explained (:func:`start_bounded`) when it fails."""
    client = AIOKafkaClient(**settings.client_config(client_id))
    await start_bounded(_Bootstrapping(client), settings, what)
    return client


def refused(
    exc: BaseException, settings: KafkaSettings, client: Any, what: str
) -> KafkaAuthorizationError:
    """What the ACLs refused ``client`` (for ``what``), as the grant that would allow it."""
    principal = settings.principal
    if isinstance(exc, GroupAuthorizationFailedError):
        group = getattr(client, "_group_id", None) or "<its group>"
        return KafkaAuthorizationError(principal, "Read", "Group", group, what)
    if isinstance(exc, TransactionalIdAuthorizationFailed):
        manager = getattr(getattr(client, "_sender", None), "_txn_manager", None)
        tid = getattr(manager, "transactional_id", None) or "<its transactional id>"
        return KafkaAuthorizationError(principal, "Write", "TransactionalId", tid, what)
    if isinstance(exc, ClusterAuthorizationFailedError):
        return KafkaAuthorizationError(
            principal, "IdempotentWrite", "Cluster", "kafka-cluster", what
        )
    return KafkaAuthorizationError(principal, "Describe", "Topic", str(exc) or "<the topic>", what)


async def _connection_failure(settings: KafkaSettings) -> str | None:
    """Why one connection to the first bootstrap server fails, or ``None`` when it works."""
    host, _, port = settings.bootstrap_servers.split(",")[0].strip().rpartition(":")
    config = settings.security_config()
    try:
        async with asyncio.timeout(settings.request_timeout_ms / 1000):
            connection = await create_conn(
                host, int(port), request_timeout_ms=settings.request_timeout_ms, **config
            )
        connection.close()
    except ssl.SSLError as exc:
        return f"TLS handshake failed: {exc.reason or exc} (check KAFKA_SSL_CAFILE and the host)"
    except Exception as exc:  # noqa: BLE001 - the failure is the answer
        return f"{type(exc).__name__}: {exc}"
    return None


async def stop_bounded(client: Any, timeout_s: float) -> None:
    """Stop (or close) ``client``; after ``timeout_s`` it is abandoned with a warning."""
    try:
        await within(_stop_call(client), timeout_s)
    except TimeoutError:
        log.warning("%s did not stop within %.0f s; abandoned", type(client).__name__, timeout_s)
    except Exception as exc:  # noqa: BLE001 - stopping is best effort: it must not hide a cause
        log.debug("stopping %s failed: %r", type(client).__name__, exc)


async def batches_until_end(
    consumer: AIOKafkaConsumer, partitions: Sequence[TopicPartition], timeout_s: float
) -> AsyncIterator[list[ConsumerRecord[bytes, bytes]]]:
    """The records of ``partitions`` from their current positions up to their ends as of now,
    batch by batch (no group, nothing committed); :class:`TimeoutError` after ``timeout_s``."""
    async with asyncio.timeout(timeout_s):
        ends = await consumer.end_offsets(list(partitions))
        while [tp for tp in partitions if await consumer.position(tp) < ends[tp]]:
            batch = await consumer.getmany(*partitions, timeout_ms=500)
            records = [
                record for tp, part in batch.items() for record in part if record.offset < ends[tp]
            ]
            if records:
                yield records


@contextlib.asynccontextmanager
async def reading(
    settings: KafkaSettings, client_id: str, what: str
) -> AsyncIterator[AIOKafkaConsumer]:
    """A started consumer without a group, stopped afterwards; both bounded."""
    consumer = AIOKafkaConsumer(**settings.consumer_config(client_id, group_id=None))
    await start_bounded(consumer, settings, what)
    try:
        yield consumer
    finally:
        await stop_bounded(consumer, settings.request_timeout_ms / 1000)
