"""A share-group member on aiokafka's connection layer: membership, share sessions, fetching
with acquisition, acknowledgements (KIP-932).

Membership: a heartbeat to the group coordinator every interval the coordinator asks for; the
answer carries the partitions assigned (by topic id). Many members may be assigned the same
partition — the broker hands each record to one member at a time and locks it
(``share.record.lock.duration.ms``) until that member accepts, releases or rejects it.

Fetching: one share session per partition leader. Its first ShareFetch (epoch 0) names every
partition the member reads there; later ones (epoch 1, 2, …) name only partitions added and
those with acknowledgements, and forget partitions gone. Acknowledgements ride on the next
fetch; :meth:`ShareConsumer.commit` sends them at once, and closing sends the last ones with the
session's end (epoch -1). A session the broker lost (it restarted, the member was away) is
opened anew; acknowledgements of its records are then lost, and those records come back after
their lock ran out — delivery is at least once.

It is over 400 lines because membership, sessions and acknowledgements share one state — the
member id and epoch, the topic ids and leaders, each session's epoch — that every request reads.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from aiokafka.client import AIOKafkaClient, ConnectionGroup, CoordinationType
from aiokafka.errors import KafkaError, for_code
from aiokafka.structs import TopicPartition

from kafka_kit._internal.cancellation import cancel_and_wait, within
from kafka_kit._internal.clients import bootstrapped
from kafka_kit.errors import ShareGroupError
from kafka_kit.settings import KafkaSettings
from kafka_kit.share._protocol import (
    Metadata,
    ShareAcknowledge,
    ShareFetch,
    ShareGroupHeartbeat,
    TopicAcks,
)
from kafka_kit.share.acquired import ack_batches, acquired_records
from kafka_kit.share.records import AcknowledgeType, ShareRecord
from kafka_kit.status import ShareMemberStatus

__all__ = ["ShareConsumer"]

log = logging.getLogger(__name__)

# Error codes the share protocol answers with (Kafka's Errors): which mean "ask again".
_COORDINATOR_MOVED = {14, 15, 16}  # load in progress, not available, not coordinator
_REJOIN = {25, 110}  # unknown member id, fenced member epoch
_SESSION_LOST = {122, 123}  # share session not found, invalid share session epoch
_LEADER_MOVED = {3, 6, 100}  # unknown topic or partition, not leader, unknown topic id
_FATAL = {29, 30, 42}  # topic / group authorization failed, invalid request


@dataclass
class _Session:
    """A share session with one leader: its epoch and the partitions it holds."""

    epoch: int = 0
    partitions: set[tuple[uuid.UUID, int]] = field(default_factory=set)


class ShareConsumer:
    """One member of a share group: ``poll()`` acquires records, ``acknowledge()`` settles them.

    Args:
        settings: How to reach the cluster (security included).
        group_id: The share group.
        topics: The topics it subscribes to.
        client_id: Names the member in the broker's logs and in group descriptions.
        max_records: At most this many records acquired per fetch (RabbitMQ's prefetch).
        max_wait_ms: How long a fetch waits for records.
        record_limit: Acquire exactly ``max_records`` at most (else the broker may round up to
            whole producer batches, which is cheaper).
    """

    def __init__(
        self,
        settings: KafkaSettings,
        group_id: str,
        topics: Sequence[str],
        *,
        client_id: str,
        max_records: int = 500,
        max_wait_ms: int = 500,
        record_limit: bool = False,
    ) -> None:
        self.settings = settings
        self.group_id = group_id
        self.topics = list(topics)
        self.client_id = client_id
        self.max_records = max_records
        self.max_wait_ms = max_wait_ms
        self.record_limit = record_limit
        self.member_id = str(uuid.uuid4())
        self.member_epoch = 0
        self.acquired = 0
        """Records acquired and not yet acknowledged."""
        self.lock_timeout_ms: int | None = None
        """How long an acquired record stays this member's (the broker says, per fetch)."""
        self.ack_errors = 0
        """Acknowledgements the broker refused (their records' locks had run out)."""
        self.heartbeats = 0
        """Heartbeat answers received (each one renews the membership)."""
        self._client: AIOKafkaClient | None = None
        self._coordinator: int | None = None
        self._heartbeat: asyncio.Task[None] | None = None
        self._assigned = asyncio.Event()
        self._wake_heartbeat = asyncio.Event()
        self._names: dict[uuid.UUID, str] = {}
        self._ids: dict[str, uuid.UUID] = {}
        self._leaders: dict[tuple[uuid.UUID, int], int] = {}
        self._sessions: dict[int, _Session] = {}
        self._pending: dict[tuple[uuid.UUID, int], dict[int, AcknowledgeType]] = defaultdict(dict)
        self._assigned_keys: set[tuple[uuid.UUID, int]] = set()
        self._failure: BaseException | None = None
        self._interval_s = 1.0

    # ---------------------------------------------------------------- lifecycle
    async def start(self) -> None:
        """Connect, join the group (the first heartbeat); raises when no broker answers."""
        self._client = await bootstrapped(
            self.settings, self.client_id, f"share group {self.group_id}"
        )
        try:
            await self._beat()
        except BaseException:
            client, self._client = self._client, None
            await client.close()
            raise
        self._heartbeat = asyncio.create_task(
            self._heartbeat_loop(), name=f"share-heartbeat-{self.client_id}"
        )

    async def close(self) -> None:
        """Send the last acknowledgements, end the sessions, leave the group, disconnect."""
        client, self._client = self._client, None
        if client is None:
            return
        with contextlib.suppress(Exception):  # it stops for good on a refusal: nothing to add
            await cancel_and_wait(self._heartbeat)
        timeout_s = self.settings.request_timeout_ms / 1000
        try:
            await within(self._end_sessions(client), timeout_s)
            if self._coordinator is not None:
                await within(
                    client.send(
                        self._coordinator,
                        ShareGroupHeartbeat(self.group_id, self.member_id, -1, None),
                        group=ConnectionGroup.COORDINATION,
                    ),
                    timeout_s,
                )
        except Exception as exc:  # noqa: BLE001 - leaving is best effort; the session expires
            log.warning("share member %s: leaving the group failed: %r", self.client_id, exc)
        finally:
            await client.close()

    async def _end_sessions(self, client: AIOKafkaClient) -> None:
        for node, session in list(self._sessions.items()):
            if session.epoch > 0:
                await self._acknowledge(client, node, -1, self._take_acks(node))
        self._sessions.clear()

    async def _acknowledge(
        self, client: AIOKafkaClient, node: int, epoch: int, topics: TopicAcks
    ) -> int:
        """Send ``topics``' acknowledgements to ``node`` in a ShareAcknowledge of ``epoch`` (-1
        also ends the session); the answer's error code."""
        response = await client.send(
            node, ShareAcknowledge(self.group_id, self.member_id, epoch, topics)
        )
        for _, partitions, _ in response.responses:
            for _, error_code, message, *_ in partitions:
                if error_code:
                    self.ack_errors += 1
                    log.warning(
                        "share member %s: acknowledgement refused: %s", self.client_id, message
                    )
        return int(response.error_code)

    # ---------------------------------------------------------------- membership
    def _client_or_fail(self) -> AIOKafkaClient:
        if self._failure is not None:
            raise self._failure
        if self._client is None:
            raise ShareGroupError(f"share member {self.client_id} is not started")
        return self._client

    async def _heartbeat_loop(self) -> None:
        delay = 0.1
        while True:
            with contextlib.suppress(TimeoutError):
                await within(self._wake_heartbeat.wait(), self._interval_s)
            self._wake_heartbeat.clear()
            try:
                await self._beat()
                delay = 0.1
            except ShareGroupError as exc:
                self._failure = exc
                self._assigned.set()  # wake a poll waiting for an assignment: it raises
                return
            except (KafkaError, OSError, TimeoutError) as exc:
                log.info("share member %s: heartbeat failed (%r); again", self.client_id, exc)
                self._coordinator = None
                await asyncio.sleep(delay)
                delay = min(delay * 2, 2.0)

    async def _beat(self) -> None:
        client = self._client_or_fail()
        if self._coordinator is None:
            self._coordinator = await client.coordinator_lookup(
                CoordinationType.GROUP, self.group_id
            )
        response = await client.send(
            self._coordinator,
            ShareGroupHeartbeat(self.group_id, self.member_id, self.member_epoch, self.topics),
            group=ConnectionGroup.COORDINATION,
        )
        self.heartbeats += 1
        code = response.error_code
        if code in _COORDINATOR_MOVED:
            self._coordinator = None
            self._wake_heartbeat.set()
            return
        if code in _REJOIN:
            self.member_epoch = 0
            self._wake_heartbeat.set()
            return
        if code:
            error = for_code(code)
            message = f"share group {self.group_id}: {error.__name__}: {response.error_message}"
            if code in _FATAL:
                raise ShareGroupError(message)
            raise error(message)
        self.member_epoch = response.member_epoch
        self._interval_s = max(response.heartbeat_interval_ms, 100) / 1000
        if response.assignment is not None:
            await self._assign(response.assignment[0])

    async def _assign(self, topic_partitions: list[Any]) -> None:
        assigned = {
            (topic_id, p) for topic_id, partitions, _ in topic_partitions for p in partitions
        }
        if any(key not in self._leaders for key in assigned):  # a new topic or partition
            await self._refresh_metadata(ids={t for t, _ in assigned})
        known = {(t, p) for t, p in assigned if t in self._names}
        # The broker repeats the assignment in heartbeat answers: say only what changed.
        changed = known != self._assigned_keys
        self._assigned_keys = known
        if changed:
            log.info("share member %s assigned %s", self.client_id, sorted(self.assignment))
        self._assigned.set()

    async def _refresh_metadata(self, ids: set[uuid.UUID] | None = None) -> None:
        client = self._client_or_fail()
        node = client.get_random_node()
        wanted = ids if ids is not None else {t for t, _ in self._leaders}
        response = await client.send(node, Metadata(ids=sorted(wanted, key=str)))
        for error_code, name, topic_id, _, partitions, _, _ in response.topics:
            if error_code or name is None:
                continue
            self._names[topic_id], self._ids[name] = name, topic_id
            for _, index, leader, *_ in partitions:
                self._leaders[(topic_id, index)] = leader
        # The brokers named here are the ones the client connects to.
        await client.force_metadata_update()

    # ---------------------------------------------------------------- fetching
    async def poll(self, timeout_s: float) -> list[ShareRecord]:
        """Acquire records (at most ``max_records`` per leader); send pending acknowledgements.

        Args:
            timeout_s: How long to wait for records (or for an assignment).
        """
        self._client_or_fail()
        if not self._assigned_keys:
            self._assigned.clear()
            with contextlib.suppress(TimeoutError):
                await within(self._assigned.wait(), timeout_s)
            self._client_or_fail()
            if not self._assigned_keys:
                await self.commit()
                return []
        by_leader: dict[int, set[tuple[uuid.UUID, int]]] = defaultdict(set)
        for key in self._assigned_keys:
            leader = self._leaders.get(key, -1)
            if leader >= 0:
                by_leader[leader].add(key)
        # Sessions with leaders that lead nothing assigned any more: acknowledge and end them.
        for node in [n for n in self._sessions if n not in by_leader]:
            by_leader[node] = set()
        wait_ms = max(0, min(self.max_wait_ms, int(timeout_s * 1000)))
        fetched = await asyncio.gather(
            *(self._fetch(node, keys, wait_ms) for node, keys in by_leader.items())
        )
        return [record for records in fetched for record in records]

    async def _fetch(
        self, node: int, keys: set[tuple[uuid.UUID, int]], wait_ms: int
    ) -> list[ShareRecord]:
        client = self._client_or_fail()
        session = self._sessions.setdefault(node, _Session())
        if session.epoch == 0:
            # A new session: every partition, no acknowledgements (they belong to an old one).
            self._drop_acks(node)
            topics: TopicAcks = defaultdict(dict)
            for topic_id, partition in keys:
                topics[topic_id][partition] = []
            forgotten: dict[uuid.UUID, list[int]] = {}
        else:
            topics = self._take_acks(node)
            for topic_id, partition in keys - session.partitions:
                topics.setdefault(topic_id, {}).setdefault(partition, [])
            forgotten = defaultdict(list)
            for topic_id, partition in session.partitions - keys:
                forgotten[topic_id].append(partition)
        request = ShareFetch(
            self.group_id,
            self.member_id,
            session.epoch,
            max_wait_ms=wait_ms if keys else 0,
            max_records=self.max_records,
            record_limit=self.record_limit,
            topics=dict(topics),
            forgotten=dict(forgotten),
        )
        try:
            response = await client.send(node, request)
        except (KafkaError, OSError) as exc:
            log.info("share member %s: fetch from %d failed (%r)", self.client_id, node, exc)
            self._sessions.pop(node, None)
            await asyncio.sleep(0.2)
            return []
        if response.error_code in _SESSION_LOST:
            log.info("share member %s: session with %d lost; opening anew", self.client_id, node)
            self._sessions.pop(node, None)
            return []
        if response.error_code:
            error = for_code(response.error_code)
            if response.error_code in _FATAL:
                raise ShareGroupError(f"share fetch refused: {error.__name__}")
            log.warning("share member %s: fetch: %s", self.client_id, error.__name__)
            self._sessions.pop(node, None)
            await asyncio.sleep(0.2)
            return []
        session.epoch += 1
        session.partitions = set(keys)
        if not keys:
            self._sessions.pop(node, None)  # nothing to read there: the session may lapse
        self.lock_timeout_ms = response.acquisition_lock_timeout_ms
        return await self._read(response.responses)

    async def _read(self, responses: list[Any]) -> list[ShareRecord]:
        """The records a fetch acquired; a leader that moved refreshes the metadata."""
        records: list[ShareRecord] = []
        stale = False
        for topic_id, partitions, _ in responses:
            for data in partitions:
                index, error_code, _, ack_error, ack_message, _, raw, acquired, _ = data
                if ack_error:
                    self.ack_errors += 1
                    log.warning(
                        "share member %s: acknowledgements of %s-%d refused: %s",
                        self.client_id,
                        self._names.get(topic_id, topic_id),
                        index,
                        ack_message,
                    )
                if error_code in _LEADER_MOVED:
                    stale = True
                    continue
                if error_code:
                    log.warning("share member %s: fetch error %d", self.client_id, error_code)
                    continue
                if acquired:
                    got, gaps = acquired_records(self._names[topic_id], index, raw, acquired)
                    records += got
                    # Acquired offsets with no record (transaction markers) are gaps.
                    self._pending[(topic_id, index)].update(
                        dict.fromkeys(gaps, AcknowledgeType.GAP)
                    )
        if stale:
            await self._refresh_metadata()
        self.acquired += len(records)
        return records

    # ---------------------------------------------------------------- acknowledging
    def acknowledge(self, record: ShareRecord, kind: AcknowledgeType) -> None:
        """Settle an acquired record; sent with the next fetch or :meth:`commit`.

        Args:
            record: A record :meth:`poll` returned.
            kind: Accept, release or reject.
        """
        topic_id = self._ids[record.topic]
        self._pending[(topic_id, record.partition)][record.offset] = kind
        self.acquired = max(0, self.acquired - 1)

    async def commit(self) -> None:
        """Send the pending acknowledgements now (else they go with the next fetch)."""
        client = self._client_or_fail()
        for node, session in list(self._sessions.items()):
            topics = self._take_acks(node) if session.epoch > 0 else {}
            if not topics:
                continue
            if await self._acknowledge(client, node, session.epoch, topics) in _SESSION_LOST:
                self._sessions.pop(node, None)
            else:
                session.epoch += 1

    def _take_acks(self, node: int) -> TopicAcks:
        """The pending acknowledgements of partitions led by ``node``, removed from pending."""
        topics: TopicAcks = defaultdict(dict)
        for key in [k for k in self._pending if self._leaders.get(k) == node]:
            acks = self._pending.pop(key)
            if acks:
                topics[key[0]][key[1]] = ack_batches(acks)
        return dict(topics)

    def _drop_acks(self, node: int) -> None:
        dropped = [k for k in self._pending if self._leaders.get(k) == node]
        for key in dropped:
            del self._pending[key]

    @property
    def assignment(self) -> set[TopicPartition]:
        """The partitions the coordinator assigned this member (others may share them)."""
        return {TopicPartition(self._names[t], p) for t, p in self._assigned_keys}

    @property
    def pending_acknowledgements(self) -> int:
        """Acknowledgements not sent yet."""
        return sum(len(acks) for acks in self._pending.values())

    def describe(self) -> ShareMemberStatus:
        """The member as the status views show it."""
        return ShareMemberStatus(
            member_id=self.member_id,
            member_epoch=self.member_epoch,
            acquired=self.acquired,
            pending_acknowledgements=self.pending_acknowledgements,
            lock_timeout_ms=self.lock_timeout_ms,
            acknowledgements_refused=self.ack_errors,
        )
