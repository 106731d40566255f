"""Watch clusters' consumer groups like Burrow: read every commit, sample log-end offsets.

Commits are read from ``__consumer_offsets`` itself, so each sample carries the real commit time
(what the STOP and STALL rules need), for every group — including groups of other applications.
Log-end offsets and partition owners are sampled every ``offset_refresh_s``.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Mapping

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.clients import batches_until_end, start_bounded, stop_bounded
from kafka_kit.cluster_view import describe_groups
from kafka_kit.lag.evaluator import GroupStatus
from kafka_kit.lag.offsets_topic import OFFSETS_TOPIC, parse_offset_commit
from kafka_kit.lag.store import GroupLag, LagStore
from kafka_kit.settings import KafkaSettings, LagSettings

__all__ = ["ClusterLagMonitor", "LagMonitors"]


log = logging.getLogger(__name__)


def _now_ms() -> int:
    return int(time.time() * 1000)


class ClusterLagMonitor:
    """One cluster: a reader of its commits, a sampler of its log-end offsets, a store."""

    def __init__(self, name: str, settings: KafkaSettings, lag: LagSettings) -> None:
        self.name = name
        self.settings = settings
        self.lag = lag
        self.store = LagStore(lag.window, int(lag.min_distance_s * 1000))
        self.partition_counts: dict[str, int] = {}
        self._consumer: AIOKafkaConsumer | None = None
        self._sampler: AIOKafkaConsumer | None = None
        self._admin: AIOKafkaAdminClient | None = None
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def _timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000

    async def start(self) -> None:
        """Connect, read the commits recorded so far, then follow new ones."""
        settings = self.settings
        client_id = f"{settings.client_id}-lag-{self.name}"
        admin = AIOKafkaAdminClient(**settings.admin_config(client_id))
        consumer = AIOKafkaConsumer(
            **settings.consumer_config(client_id, group_id=None, isolation_level="read_committed")
        )
        # A second consumer, assigned (and paused) on the partitions groups use: it only asks for
        # log-end offsets, and assignment keeps their metadata at hand (no lookup per sample).
        sampler = AIOKafkaConsumer(
            **settings.consumer_config(f"{client_id}-offsets", group_id=None)
        )
        try:
            what = f"lag monitor {self.name}"
            await start_bounded(admin, settings, what)
            self._admin = admin
            await start_bounded(consumer, settings, what)
            self._consumer = consumer
            await start_bounded(sampler, settings, what)
            self._sampler = sampler
            await self.refresh()
            await self._follow_offsets_topic(consumer)
            await self.refresh()  # log-end offsets of the topics the commits named
        except BaseException:
            await self.stop()
            raise
        self._tasks = [
            asyncio.create_task(self._read_commits(consumer), name=f"lag-{self.name}-commits"),
            asyncio.create_task(self._refresh_loop(), name=f"lag-{self.name}-refresh"),
        ]

    async def stop(self) -> None:
        """Stop reading and sampling."""
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        clients = [c for c in (self._consumer, self._sampler, self._admin) if c is not None]
        self._consumer = self._sampler = self._admin = None
        for client in clients:
            await stop_bounded(client, self._timeout_s)

    # ---------------------------------------------------------------- commits
    async def _follow_offsets_topic(self, consumer: AIOKafkaConsumer) -> None:
        count = self.partition_counts.get(OFFSETS_TOPIC)
        if not count:
            raise RuntimeError(f"cluster {self.name} has no {OFFSETS_TOPIC} topic yet")
        tps = [TopicPartition(OFFSETS_TOPIC, p) for p in range(count)]
        consumer.assign(tps)
        await consumer.seek_to_beginning(*tps)
        # Catch up with what was committed before we started (bounded), then follow.
        async for batch in batches_until_end(consumer, tps, self._timeout_s):
            self._apply_records(batch)

    async def _read_commits(self, consumer: AIOKafkaConsumer) -> None:
        while True:
            try:
                self._apply(await consumer.getmany(timeout_ms=1000))
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("lag monitor %s: reading commits failed; retrying", self.name)
                await asyncio.sleep(1)

    def _apply(self, batch: Mapping[TopicPartition, list[ConsumerRecord[bytes, bytes]]]) -> None:
        for records in batch.values():
            self._apply_records(records)

    def _apply_records(self, records: list[ConsumerRecord[bytes, bytes]]) -> None:
        observed = _now_ms()
        for record in records:
            commit = parse_offset_commit(record.key, record.value)
            if commit is None:
                continue
            if commit.offset is None:
                self.store.delete_commit(commit.group, commit.topic, commit.partition)
            else:
                self.store.add_commit(
                    commit.group,
                    commit.topic,
                    commit.partition,
                    offset=commit.offset,
                    timestamp=commit.timestamp,
                    observed_at=observed,
                )

    # ---------------------------------------------------------------- sampling
    async def _refresh_loop(self) -> None:
        while True:
            await asyncio.sleep(self.lag.offset_refresh_s)
            try:
                await self.refresh()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("lag monitor %s: refresh failed: %r", self.name, exc, exc_info=True)

    async def refresh(self) -> None:
        """Sample topics, log-end offsets of partitions groups use, and partition owners."""
        admin = self._admin
        if admin is None:
            return
        described = await asyncio.wait_for(admin.describe_topics(), self._timeout_s)
        self.partition_counts = {t["topic"]: len(t["partitions"]) for t in described}
        tps = [
            TopicPartition(topic, p)
            for topic in sorted(self.store.topics_in_use())
            for p in range(self.partition_counts.get(topic, 0))
        ]
        for tp, end in (await self._end_offsets(tps)).items():
            self.store.set_log_end(tp.topic, tp.partition, end)
        groups = sorted(self.store.groups)
        for group in await describe_groups(admin, groups) if groups else []:
            self.store.set_owners(
                group.group_id,
                {
                    tp: (member.client_host.lstrip("/"), member.client_id)
                    for member in group.members
                    for tp in member.assignment
                },
            )
        self.store.expire(_now_ms() - int(self.lag.expire_group_s * 1000))

    async def _end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        sampler = self._sampler
        if sampler is None or not tps:
            return {}
        # Keep earlier partitions (other queries use them) unless their topic is gone.
        kept = {
            tp
            for tp in sampler.assignment()
            if tp.partition < self.partition_counts.get(tp.topic, 0)
        }
        wanted = set(tps) | kept
        if wanted != sampler.assignment():
            sampler.assign(sorted(wanted))
            sampler.pause(*wanted)
        return dict(await asyncio.wait_for(sampler.end_offsets(tps), self._timeout_s))

    # ---------------------------------------------------------------- queries
    def topics(self) -> list[str]:
        """The cluster's topics (internal ones excluded)."""
        return sorted(t for t in self.partition_counts if not t.startswith("__"))

    async def topic_offsets(self, topic: str) -> list[int] | None:
        """Log-end offset of each partition, or ``None`` for an unknown topic."""
        count = self.partition_counts.get(topic)
        if count is None:
            return None
        tps = [TopicPartition(topic, p) for p in range(count)]
        ends = await self._end_offsets(tps)
        return [ends[tp] for tp in tps] if ends else None

    def groups(self) -> list[str]:
        """Groups with committed offsets."""
        return sorted(self.store.groups)

    def status(self, group: str) -> GroupStatus | None:
        """The group's Burrow evaluation now, or ``None`` for an unknown group."""
        if group not in self.store.groups:
            return None
        return self.store.evaluate(self.name, group, _now_ms(), self.lag.allowed_lag)

    def group_lag(self, group: str) -> GroupLag | None:
        """Log-end, committed and lag per partition, or ``None`` for an unknown group."""
        if group not in self.store.groups:
            return None
        return self.store.group_lag(group)


class LagMonitors:
    """Every watched cluster by name (one process, many clusters, as Burrow does)."""

    def __init__(self, settings: KafkaSettings, lag: LagSettings) -> None:
        clusters = lag.clusters or {"local": settings.bootstrap_servers}
        self.monitors = {
            name: ClusterLagMonitor(
                name, settings.model_copy(update={"bootstrap_servers": servers}), lag
            )
            for name, servers in clusters.items()
        }

    async def start(self) -> None:
        """Start watching every cluster; if one cannot be reached, stop all and raise."""
        try:
            await asyncio.gather(*(m.start() for m in self.monitors.values()))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every monitor."""
        await asyncio.gather(*(m.stop() for m in self.monitors.values()))

    def get(self, cluster: str) -> ClusterLagMonitor | None:
        """The monitor of ``cluster``, or ``None``."""
        return self.monitors.get(cluster)
