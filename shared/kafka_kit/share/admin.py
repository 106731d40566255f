"""Share groups as an operator sees them: describe (members, assignments, start offsets, lag),
configure, reset and delete — ``kafka-share-groups.sh`` in Python."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Mapping
from typing import Any, Literal

from aiokafka.client import AIOKafkaClient, ConnectionGroup, CoordinationType
from aiokafka.errors import for_code
from aiokafka.protocol.admin import DeleteGroupsRequest
from aiokafka.structs import TopicPartition
from pydantic import BaseModel

from kafka_kit._internal.clients import bootstrapped, reading
from kafka_kit.errors import ShareGroupError
from kafka_kit.settings import KafkaSettings
from kafka_kit.share._protocol import (
    AlterGroupConfigs,
    AlterShareGroupOffsets,
    DescribeShareGroupOffsets,
    Metadata,
    ShareGroupDescribe,
)

__all__ = [
    "ShareGroupAdmin",
    "ShareGroupDescription",
    "ShareGroupMember",
    "ShareGroupPartition",
]

_GROUP_ID_NOT_FOUND = 69


class ShareGroupMember(BaseModel):
    """A member of a share group, as the coordinator describes it."""

    member_id: str
    """Its member id."""
    client_id: str
    """Its client id."""
    client_host: str
    """Where it connects from."""
    partitions: list[str]
    """The partitions assigned to it (``topic-partition``), which other members may share."""


class ShareGroupPartition(BaseModel):
    """One partition of a share group: where it starts reading and what is left."""

    topic: str
    """The topic."""
    partition: int
    """The partition."""
    start_offset: int
    """The share-partition start offset: every record before it is settled."""
    lag: int | None
    """Records from the start offset to the end not yet settled, as Kafka counts them."""


class ShareGroupDescription(BaseModel):
    """A share group: its state, members and partitions."""

    group_id: str
    """The group."""
    state: str
    """``Empty``, ``Stable``, ``Dead``…"""
    members: list[ShareGroupMember]
    """Its members."""
    partitions: list[ShareGroupPartition]
    """Its partitions with start offset and lag."""

    @property
    def lag(self) -> int:
        """The group's lag: the sum of its partitions'."""
        return sum(p.lag or 0 for p in self.partitions)


class ShareGroupAdmin:
    """Describe, configure, reset and delete share groups.

    Args:
        settings: How to reach the cluster.
    """

    def __init__(self, settings: KafkaSettings) -> None:
        self.settings = settings
        self._kept: AIOKafkaClient | None = None
        self._held = contextlib.AsyncExitStack()

    async def __aenter__(self) -> ShareGroupAdmin:
        """Keep one connection for the calls inside ``async with`` (else one per call)."""
        self._kept = await self._held.enter_async_context(self._client())
        return self

    async def __aexit__(self, *exc: object) -> None:
        """Close the kept connection."""
        self._kept = None
        await self._held.aclose()

    @contextlib.asynccontextmanager
    async def _client(self) -> AsyncIterator[AIOKafkaClient]:
        if self._kept is not None:
            yield self._kept
            return
        client = await bootstrapped(
            self.settings, f"{self.settings.client_id}-admin", "share group admin"
        )
        try:
            yield client
        finally:
            await client.close()

    async def _coordinated(self, group_id: str, *requests: Any) -> list[Any]:
        """``requests`` to the group's coordinator, on one connection, in order."""
        async with self._client() as client:
            node = await client.coordinator_lookup(CoordinationType.GROUP, group_id)
            return [
                await client.send(node, request, group=ConnectionGroup.COORDINATION)
                for request in requests
            ]

    async def configure(self, group_id: str, configs: Mapping[str, str]) -> None:
        """Set group configs (``share.auto.offset.reset``, ``share.record.lock.duration.ms``,
        ``share.delivery.count.limit``…); the group need not exist yet.

        Args:
            group_id: The share group.
            configs: Config name → value.
        """
        (response,) = await self._coordinated(group_id, AlterGroupConfigs(group_id, dict(configs)))
        for code, message, *_ in response.responses:
            if code:
                raise ShareGroupError(
                    f"share group {group_id}: setting {dict(configs)} refused: "
                    f"{for_code(code).__name__}: {message}"
                )

    async def describe(self, group_id: str) -> ShareGroupDescription:
        """The group's state, members with their partitions, and each partition's start
        offset and lag.

        Args:
            group_id: The share group.
        """
        described, offsets = await self._coordinated(
            group_id, ShareGroupDescribe([group_id]), DescribeShareGroupOffsets(group_id)
        )
        code, message, _, state, _, _, _, members, _, _ = described.groups[0]
        if code == _GROUP_ID_NOT_FOUND:
            return ShareGroupDescription(group_id=group_id, state="Dead", members=[], partitions=[])
        if code:
            raise ShareGroupError(f"share group {group_id}: {for_code(code).__name__}: {message}")
        return ShareGroupDescription(
            group_id=group_id,
            state=state,
            members=[
                ShareGroupMember(
                    member_id=member_id,
                    client_id=client_id,
                    client_host=client_host,
                    partitions=[
                        f"{topic}-{p}"
                        for _, topic, partitions, _ in assignment[0]
                        for p in partitions
                    ],
                )
                for member_id, _, _, client_id, client_host, _, assignment, _ in members
            ],
            partitions=_partitions(group_id, offsets),
        )

    async def _offsets(self, group_id: str) -> list[ShareGroupPartition]:
        (response,) = await self._coordinated(group_id, DescribeShareGroupOffsets(group_id))
        return _partitions(group_id, response)

    async def reset(
        self,
        group_id: str,
        to: Literal["earliest", "latest"] | Mapping[TopicPartition, int],
        topics: list[str] | None = None,
    ) -> None:
        """Move the group's start offsets (it must have no members: stop its listeners first).

        Args:
            group_id: The share group.
            to: ``"earliest"``, ``"latest"``, or an offset per partition.
            topics: With ``earliest``/``latest``: the topics to move (those it has state for
                when omitted).
        """
        if isinstance(to, str):
            names = topics or sorted({p.topic for p in await self._offsets(group_id)})
            async with self._client() as client:
                layout = await client.send(client.get_random_node(), Metadata(names=names))
            partitions = [
                TopicPartition(name, partition[1])
                for _, name, _, _, parts, _, _ in layout.topics
                for partition in parts
            ]
            async with reading(
                self.settings, f"{self.settings.client_id}-share-reset", "reset"
            ) as c:
                if to == "earliest":
                    offsets = dict(await c.beginning_offsets(partitions))
                else:
                    offsets = dict(await c.end_offsets(partitions))
        else:
            offsets = dict(to)
        by_topic: dict[str, dict[int, int]] = {}
        for tp, offset in offsets.items():
            by_topic.setdefault(tp.topic, {})[tp.partition] = offset
        (response,) = await self._coordinated(group_id, AlterShareGroupOffsets(group_id, by_topic))
        if response.error_code:
            raise ShareGroupError(
                f"share group {group_id}: reset refused: "
                f"{for_code(response.error_code).__name__}: {response.error_message}"
            )
        for topic, _, partitions, _ in response.responses:
            for index, code, message, _ in partitions:
                if code:
                    raise ShareGroupError(
                        f"share group {group_id}: reset of {topic}-{index} refused: {message}"
                    )

    async def delete(self, group_id: str) -> None:
        """Delete the group and its state (it must have no members).

        Args:
            group_id: The share group.
        """
        (response,) = await self._coordinated(group_id, DeleteGroupsRequest([group_id]))
        for _, code in response.results:
            if code and code != _GROUP_ID_NOT_FOUND:
                raise ShareGroupError(
                    f"share group {group_id}: delete refused: {for_code(code).__name__}"
                )


def _partitions(group_id: str, response: Any) -> list[ShareGroupPartition]:
    """A DescribeShareGroupOffsets answer's partitions (a group without state: none)."""
    _, topics, code, message, _ = response.groups[0]
    if code and code != _GROUP_ID_NOT_FOUND:
        raise ShareGroupError(f"share group {group_id}: {for_code(code).__name__}: {message}")
    rows = [
        ShareGroupPartition(
            topic=topic, partition=index, start_offset=start, lag=lag if lag >= 0 else None
        )
        for topic, _, partitions, _ in topics
        for index, start, _, lag, error, _, _ in partitions
        if not error
    ]
    return sorted(rows, key=lambda row: (row.topic, row.partition))
