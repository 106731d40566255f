"""Watch clusters' consumer groups like Burrow: read every commit, sample log-end offsets.

Commits are read from ``__consumer_offsets`` itself, so each sample carries the real commit time
(what the STOP and STALL rules need), for every group — including groups of other applications.
Every ``offset_refresh_s`` the monitor samples the log-end offset of every partition of every
topic, and the members of every group (who owns which partition).

A cluster that cannot be reached never stops the others: its monitor reports ``unreachable``
with the error and tries again with back-off, in the background, until it is stopped.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Mapping
from typing import Literal, TypeVar

from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit._internal.cancellation import cancel_and_wait, within
from kafka_kit._internal.clients import batches_until_end, start_bounded, stop_bounded
from kafka_kit.cluster_view import GroupInfo, describe_groups
from kafka_kit.lag.evaluator import GroupStatus
from kafka_kit.lag.history import LagHistory
from kafka_kit.lag.offsets_topic import OFFSETS_TOPIC, GroupDeleted, parse_offsets_record
from kafka_kit.lag.store import GroupLag, LagStore
from kafka_kit.settings import KafkaSettings, LagSettings

__all__ = ["ClusterLagMonitor", "LagMonitors", "MonitorState"]


log = logging.getLogger(__name__)

_Client = TypeVar("_Client", AIOKafkaConsumer, AIOKafkaAdminClient)

MonitorState = Literal["connecting", "running", "unreachable", "stopped"]

_RETRY_FIRST_S = 1.0
_RETRY_MAX_S = 30.0


def _now_ms() -> int:
    return int(time.time() * 1000)


class ClusterLagMonitor:
    """One cluster: a reader of its commits, a sampler of its log-end offsets, a store.

    Args:
        name: The cluster's name (a key of ``LAG_CLUSTERS``).
        settings: How to reach it.
        lag: How often offsets are sampled, window sizes, Burrow's rules.
    """

    def __init__(self, name: str, settings: KafkaSettings, lag: LagSettings) -> None:
        self.name = name
        self.settings = settings
        self.lag = lag
        self.store = LagStore(
            lag.window, int(lag.min_distance_s * 1000), int(lag.expire_group_s * 1000)
        )
        self.history = LagHistory(lag.history_points)
        self.described: dict[str, GroupInfo] = {}
        """Every group's state, members and assignment at the last refresh."""
        self.state: MonitorState = "stopped"
        self.last_error: str | None = None
        self.ready = asyncio.Event()
        """Set once the commits recorded before the start have been read."""
        self._admin: AIOKafkaAdminClient | None = None
        self._sampler: AIOKafkaConsumer | None = None
        self._clients: list[AIOKafkaConsumer | AIOKafkaAdminClient] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def _timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000

    async def start(self) -> None:
        """Start watching in the background; never raises for an unreachable cluster."""
        if self._task is None:
            self.state = "connecting"
            self._task = asyncio.create_task(self._run(), name=f"lag-{self.name}")

    async def stop(self) -> None:
        """Stop reading and sampling; close every client (each close bounded)."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
        self.state = "stopped"

    async def _run(self) -> None:
        delay = _RETRY_FIRST_S
        while True:
            try:
                await self._watch()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: report it, retry later
                if self.state == "running":
                    delay = _RETRY_FIRST_S  # it was fine until now: retry soon
                self._unreachable(exc)
            finally:
                await self._close()
            await asyncio.sleep(delay)
            delay = min(_RETRY_MAX_S, delay * 2)

    async def _watch(self) -> None:
        """Connect, read the commits recorded so far, then follow new ones and sample."""
        settings = self.settings
        client_id = f"{settings.client_id}-lag-{self.name}"
        admin = await self._started(AIOKafkaAdminClient(**settings.admin_config(client_id)))
        reader = await self._started(
            AIOKafkaConsumer(
                **settings.consumer_config(
                    client_id, group_id=None, isolation_level="read_committed"
                )
            )
        )
        # A second consumer, assigned (and paused) on every partition: it only asks for log-end
        # offsets, and assignment keeps their metadata at hand (no lookup per sample).
        sampler = await self._started(
            AIOKafkaConsumer(**settings.consumer_config(f"{client_id}-offsets", group_id=None))
        )
        self._admin, self._sampler = admin, sampler
        await self.refresh()  # log-end offsets first: a commit is kept only once they are known
        await self._catch_up(reader)
        self._running()
        self.ready.set()
        await asyncio.gather(self._read_commits(reader), self._refresh_loop())

    async def _started(self, client: _Client) -> _Client:
        """Start ``client`` (bounded; closed again if that fails) and keep it for closing."""
        await start_bounded(client, self.settings, f"lag monitor {self.name}")
        self._clients.append(client)
        return client

    async def _close(self) -> None:
        clients, self._clients = self._clients, []
        self._admin = self._sampler = None
        for client in clients:
            await stop_bounded(client, self._timeout_s)

    def _running(self) -> None:
        if self.state != "running":
            log.info("lag monitor %s: watching %s", self.name, self.settings.bootstrap_servers)
        self.state, self.last_error = "running", None

    def _unreachable(self, exc: BaseException) -> None:
        reason = str(exc) or type(exc).__name__
        if self.state != "unreachable" or self.last_error != reason:
            # Once per change, not once per retry: a cluster down for hours logs one line.
            log.warning("lag monitor %s: cluster unreachable (%s); retrying", self.name, reason)
        self.state, self.last_error = "unreachable", reason

    # ---------------------------------------------------------------- commits
    async def _catch_up(self, reader: AIOKafkaConsumer) -> None:
        count = len(self.store.log_ends.get(OFFSETS_TOPIC, ()))
        if not count:
            raise RuntimeError(f"cluster {self.name} has no {OFFSETS_TOPIC} topic yet")
        tps = [TopicPartition(OFFSETS_TOPIC, p) for p in range(count)]
        reader.assign(tps)
        await reader.seek_to_beginning(*tps)
        async for batch in batches_until_end(reader, tps, self._timeout_s):
            self._apply_records(batch)

    async def _read_commits(self, reader: AIOKafkaConsumer) -> None:
        while True:
            try:
                self._apply(await reader.getmany(timeout_ms=1000))
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
            parsed = parse_offsets_record(record.key, record.value, record.offset)
            if isinstance(parsed, GroupDeleted):
                self.store.delete_group(parsed.group)
            elif parsed is not None:
                self.store.add_commit(
                    parsed.group,
                    parsed.topic,
                    parsed.partition,
                    offset=parsed.offset,
                    timestamp=parsed.timestamp,
                    order=parsed.order,
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
            except Exception as exc:  # noqa: BLE001 - reported as the state; next sample retries
                # The clients reconnect by themselves; until a refresh succeeds, say why not.
                self._unreachable(exc)
            else:
                self._running()

    async def refresh(self) -> None:
        """Sample every partition's log-end offset and every group's members."""
        admin = self._admin
        if admin is None:
            return
        described = await within(admin.describe_topics(), self._timeout_s)
        counts = {t["topic"]: len(t["partitions"]) for t in described if t["partitions"]}
        for gone in set(self.store.log_ends) - set(counts):
            self.store.delete_topic(gone)
        tps = [TopicPartition(t, p) for t, count in sorted(counts.items()) for p in range(count)]
        for tp, end in (await self._end_offsets(tps)).items():
            self.store.set_log_end(tp.topic, tp.partition, end, counts[tp.topic])
        listed = await within(admin.list_consumer_groups(), self._timeout_s)
        names = sorted({entry[0] for entry in listed})
        described = await describe_groups(admin, names) if names else []
        self.described = {group.group_id: group for group in described}
        consumers = [group for group in described if group.protocol_type == "consumer"]
        for group in consumers:
            self.store.set_owners(
                group.group_id,
                {
                    tp: (member.client_host, member.client_id)
                    for member in group.members
                    for tp in member.assignment
                },
                members=len(group.members),
            )
        for gone in set(self.store.groups) - {group.group_id for group in consumers}:
            self.store.set_owners(gone, {}, members=0)  # no members any more, nor owners
        now = _now_ms()
        self.store.expire(now)
        known = (g for g in sorted(self.store.groups) if not self.store.expired(g, now))
        self.history.record(now, [self.store.group_lag(g) for g in known])

    async def _end_offsets(self, tps: list[TopicPartition]) -> dict[TopicPartition, int]:
        sampler = self._sampler
        if sampler is None or not tps:
            return {}
        if set(tps) != sampler.assignment():
            sampler.assign(tps)
            sampler.pause(*tps)
        return dict(await within(sampler.end_offsets(tps), self._timeout_s))

    # ---------------------------------------------------------------- queries
    def topics(self) -> list[str]:
        """Every topic of the cluster, internal ones included (as Burrow lists them)."""
        return self.store.topics()

    def topic_offsets(self, topic: str) -> list[int] | None:
        """The latest log-end sample of each partition, or ``None`` for an unknown topic.

        Args:
            topic: The topic.
        """
        return self.store.latest_log_ends(topic)

    def groups(self) -> list[str]:
        """Groups with commits or members."""
        return sorted(self.store.groups)

    def consumers_of(self, topic: str) -> list[str]:
        """Groups that committed to (or consume) ``topic``.

        Args:
            topic: The topic.
        """
        return self.store.consumers_of(topic)

    def status(self, group: str) -> GroupStatus:
        """The group's Burrow evaluation now (status NOTFOUND for an unknown group).

        Args:
            group: The consumer group.
        """
        lag = self.lag
        return self.store.evaluate(
            self.name, group, _now_ms(), lag.allowed_lag, lag.minimum_complete
        )

    def group_lag(self, group: str) -> GroupLag | None:
        """Log-end, committed and lag per partition, or ``None`` for an unknown group.

        Args:
            group: The consumer group.
        """
        if self.store.expired(group, _now_ms()):
            return None
        return self.store.group_lag(group)

    def known(self, group: str) -> bool:
        """Burrow has a window for the group (it committed within ``expire_group_s``).

        Args:
            group: The consumer group.
        """
        return not self.store.expired(group, _now_ms())


class LagMonitors:
    """Every watched cluster by name (one process, many clusters, as Burrow does).

    Args:
        settings: The local cluster (``local``), when ``LAG_CLUSTERS`` names none.
        lag: Which clusters to watch and how (``LAG_*``).
    """

    def __init__(self, settings: KafkaSettings, lag: LagSettings) -> None:
        clusters = lag.clusters or {"local": settings.bootstrap_servers}
        self.monitors = {
            name: ClusterLagMonitor(
                name, settings.model_copy(update={"bootstrap_servers": servers}), lag
            )
            for name, servers in clusters.items()
        }

    async def start(self) -> None:
        """Start watching every cluster in the background (an unreachable one is retried)."""
        for monitor in self.monitors.values():
            await monitor.start()

    async def stop(self) -> None:
        """Stop every monitor."""
        await asyncio.gather(*(m.stop() for m in self.monitors.values()))

    def states(self) -> dict[str, str]:
        """Per cluster: ``running``, ``connecting``, ``stopped`` or ``unreachable: <why>``."""
        return {
            name: f"{m.state}: {m.last_error}" if m.state == "unreachable" else m.state
            for name, m in self.monitors.items()
        }

    def get(self, cluster: str) -> ClusterLagMonitor | None:
        """The monitor of ``cluster``, or ``None``.

        Args:
            cluster: A watched cluster's name.
        """
        return self.monitors.get(cluster)
