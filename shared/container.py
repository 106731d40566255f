"""The listener container: a poll loop over ``ConsumerRecord``s committing handled records."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from enum import StrEnum
from typing import Any

from aiokafka import AIOKafkaConsumer, ConsumerRebalanceListener
from aiokafka.structs import ConsumerRecord, OffsetAndMetadata, TopicPartition

from shared.listener import ListenerEndpoint
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


class ContainerState(StrEnum):
    """Where a container is in its life."""

    STOPPED = "stopped"
    STARTING = "starting"
    RUNNING = "running"
    STOPPING = "stopping"
    FAILED = "failed"


class _CommitOnRevoke(ConsumerRebalanceListener):  # type: ignore[misc]
    """Commit what was handled before partitions move to another consumer of the group."""

    def __init__(self, container: ListenerContainer) -> None:
        self.container = container

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        await self.container._commit_pending()

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        log.info("listener %s assigned %s", self.container.client_id, sorted(assigned))


class ListenerContainer:
    """One consumer and its poll loop, driving one endpoint's handler (auto-commit is off)."""

    def __init__(
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        *,
        topics: tuple[str, ...],
        group_id: str | None,
        client_id: str,
    ) -> None:
        self.endpoint = endpoint
        self.settings = settings
        self.topics = topics
        self.group_id = group_id
        self.client_id = client_id
        self.state = ContainerState.STOPPED
        self.error: BaseException | None = None
        self._consumer: AIOKafkaConsumer | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = asyncio.Event()
        self._pending: dict[TopicPartition, int] = {}
        self.retry_backoff_s = 1.0

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect the consumer, subscribe, and start the poll loop."""
        if self._task is not None:
            return
        self.state = ContainerState.STARTING
        self.error = None
        self._stopping.clear()
        consumer = AIOKafkaConsumer(**self._consumer_config())
        consumer.subscribe(list(self.topics), listener=_CommitOnRevoke(self))
        try:
            await asyncio.wait_for(consumer.start(), self.settings.request_timeout_ms / 1000)
        except BaseException as exc:
            self.state, self.error = ContainerState.FAILED, exc
            with contextlib.suppress(Exception):
                await consumer.stop()
            raise
        self._consumer = consumer
        self._task = asyncio.create_task(self._run(), name=f"listener-{self.client_id}")
        self.state = ContainerState.RUNNING

    async def stop(self, timeout_s: float | None = None) -> None:
        """Finish the current batch (cancel it after ``timeout_s``), commit it, close."""
        task = self._task
        if task is None:
            return
        self.state = ContainerState.STOPPING
        self._stopping.set()
        timeout = self.settings.consumer.shutdown_timeout_s if timeout_s is None else timeout_s
        done, _ = await asyncio.wait({task}, timeout=timeout)
        if not done:
            log.warning(
                "listener %s did not finish within %.1f s: cancelled", self.client_id, timeout
            )
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._task = None

    @property
    def assignment(self) -> set[TopicPartition]:
        """The partitions this container's consumer currently owns."""
        return set(self._consumer.assignment()) if self._consumer is not None else set()

    # ---------------------------------------------------------------- the poll loop
    async def _run(self) -> None:
        consumer = self._consumer
        assert consumer is not None
        try:
            while not self._stopping.is_set():
                batch = await consumer.getmany(
                    timeout_ms=self.settings.consumer.poll_timeout_ms,
                    max_records=self._max_poll_records,
                )
                failed = False
                for tp, records in batch.items():
                    failed |= not await self._handle_partition(consumer, tp, records)
                await self._commit_pending()
                if failed:
                    # The failed record will be polled again; wait so that is not a hot loop.
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopping.wait(), self.retry_backoff_s)
            self.state = ContainerState.STOPPED
        except asyncio.CancelledError:
            self.state = ContainerState.STOPPED
            raise
        except Exception as exc:
            log.exception("listener %s: the poll loop died", self.client_id)
            self.state, self.error = ContainerState.FAILED, exc
        finally:
            self._consumer = None
            try:
                await self._commit_pending(consumer)
            finally:
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(consumer.stop(), self.settings.request_timeout_ms / 1000)

    async def _handle_partition(
        self,
        consumer: AIOKafkaConsumer,
        tp: TopicPartition,
        records: list[ConsumerRecord[bytes, bytes]],
    ) -> bool:
        """Handle a partition's records in order; on failure, rewind to the failed one."""
        for record in records:
            try:
                await self.endpoint.invoker.invoke(record)
            except Exception:
                log.exception(
                    "listener %s failed on %s-%d@%d; it will be redelivered",
                    self.client_id,
                    record.topic,
                    record.partition,
                    record.offset,
                )
                consumer.seek(tp, record.offset)
                return False
            self._pending[tp] = record.offset + 1
        return True

    async def _commit_pending(self, consumer: AIOKafkaConsumer | None = None) -> None:
        consumer = consumer or self._consumer
        if consumer is None or not self._pending or self.group_id is None:
            return
        offsets = {tp: OffsetAndMetadata(offset, "") for tp, offset in self._pending.items()}
        self._pending = {}
        await consumer.commit(offsets)

    # ---------------------------------------------------------------- config
    @property
    def _max_poll_records(self) -> int:
        return int(
            self.endpoint.properties.get(
                "max_poll_records", self.settings.consumer.max_poll_records
            )
        )

    def _consumer_config(self) -> dict[str, Any]:
        consumer = self.settings.consumer
        config: dict[str, Any] = {
            "bootstrap_servers": self.settings.bootstrap_servers,
            "client_id": self.client_id,
            "group_id": self.group_id,
            "enable_auto_commit": False,
            "auto_offset_reset": consumer.auto_offset_reset,
            "max_poll_records": consumer.max_poll_records,
            "session_timeout_ms": consumer.session_timeout_ms,
            "heartbeat_interval_ms": consumer.heartbeat_interval_ms,
            "max_poll_interval_ms": consumer.max_poll_interval_ms,
            "isolation_level": consumer.isolation_level,
            "request_timeout_ms": self.settings.request_timeout_ms,
        }
        config.update(self.endpoint.properties)
        # The container commits; a client that auto-commits could skip unhandled records.
        config["enable_auto_commit"] = False
        return config
