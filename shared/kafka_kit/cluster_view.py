"""A picture of the cluster: brokers, the KRaft controller, topics with ISR, consumer groups."""

from __future__ import annotations

import asyncio
from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from pydantic import BaseModel

from kafka_kit._internal.quorum import MetadataQuorum, describe_quorum
from kafka_kit.admin import KafkaAdmin
from kafka_kit.settings import KafkaSettings

__all__ = [
    "BrokerInfo",
    "ClusterView",
    "GroupInfo",
    "GroupMember",
    "PartitionInfo",
    "TopicInfo",
    "describe_cluster_view",
    "describe_groups",
]


class BrokerInfo(BaseModel):
    """A broker as the cluster metadata lists it."""

    node_id: int
    """The broker's ``node.id``."""
    host: str
    """Its advertised host."""
    port: int
    """Its advertised port."""
    rack: str | None
    """Its ``broker.rack``, if set."""


class PartitionInfo(BaseModel):
    """One partition: its leader, its replicas, and which of them are in sync."""

    partition: int
    """The partition."""
    leader: int
    """The leader's node id (``-1``: none)."""
    replicas: list[int]
    """Every replica's node id."""
    isr: list[int]
    """The in-sync replicas."""
    offline_replicas: list[int]
    """Replicas on brokers that are down."""


class TopicInfo(BaseModel):
    """A topic and its partitions."""

    name: str
    """The topic."""
    internal: bool
    """Kafka's own (``__consumer_offsets``…)."""
    partitions: list[PartitionInfo]
    """Its partitions."""


class GroupMember(BaseModel):
    """A member of a consumer group and the partitions assigned to it."""

    member_id: str
    """The coordinator's id for the member."""
    client_id: str
    """The member's client id."""
    client_host: str
    """Where it connects from."""
    assignment: list[tuple[str, int]]
    """``(topic, partition)`` pairs assigned to it."""


class GroupInfo(BaseModel):
    """A consumer group: state, members, assignment."""

    group_id: str
    """The group."""
    state: str
    """``Stable``, ``PreparingRebalance``, ``Empty``…"""
    protocol_type: str
    """``consumer`` for consumer groups."""
    protocol: str
    """The assignor in use (``range``, ``roundrobin``…)."""
    members: list[GroupMember]
    """Its members and their partitions."""


class ClusterView(BaseModel):
    """The whole picture."""

    cluster_id: str | None
    """The cluster's id."""
    controller: MetadataQuorum
    """The KRaft quorum: the active controller and its voters."""
    brokers: list[BrokerInfo]
    """Every broker."""
    topics: list[TopicInfo]
    """Topics with their partitions."""
    groups: list[GroupInfo]
    """Consumer groups with members and assignments."""


async def describe_groups(client: AIOKafkaAdminClient, group_ids: list[str]) -> list[GroupInfo]:
    """State, members and assignment of each group.

    Args:
        client: A started admin client.
        group_ids: The groups.
    """
    # One group per request: aiokafka 0.14 cannot decode Kafka 4.4's DescribeGroups answer for
    # several groups at once ("Buffer underrun decoding string") and drops the connection.
    answers: list[list[Any]] = await asyncio.gather(
        *(client.describe_consumer_groups([g]) for g in group_ids)
    )
    groups: list[GroupInfo] = []
    for response in (r for answer in answers for r in answer):
        for error_code, group_id, state, protocol_type, protocol, members, *_ in response.groups:
            if error_code:
                continue
            groups.append(
                GroupInfo(
                    group_id=group_id,
                    state=state,
                    protocol_type=protocol_type,
                    protocol=protocol,
                    members=[_member(m, protocol_type) for m in members],
                )
            )
    return sorted(groups, key=lambda g: g.group_id)


def _member(member: Any, protocol_type: str) -> GroupMember:
    member_id, client_id, client_host, _, assignment = member[:5]
    # Only consumers assign partitions; a Kafka Connect worker group ("connect") assigns
    # connectors and tasks in a format of its own, which the consumer decoder cannot read.
    consumer = protocol_type == "consumer" and assignment
    parts = ConsumerProtocolMemberAssignment.decode(assignment).assignment if consumer else []
    return GroupMember(
        member_id=member_id,
        client_id=client_id,
        client_host=client_host,
        assignment=sorted((topic, p) for topic, partitions in parts for p in partitions),
    )


async def describe_cluster_view(
    settings: KafkaSettings, *, include_internal: bool = False
) -> ClusterView:
    """Brokers, the active KRaft controller and its voters, topics with ISR, consumer groups.

    Args:
        settings: How to reach the cluster.
        include_internal: Include Kafka's own topics.
    """
    async with KafkaAdmin(settings).client() as client:
        cluster, topics, listed, quorum = await asyncio.gather(
            client.describe_cluster(),
            client.describe_topics(),
            client.list_consumer_groups(),
            describe_quorum(client),
        )
        groups = await describe_groups(client, sorted({g[0] for g in listed}))
    return ClusterView(
        cluster_id=cluster.get("cluster_id"),
        controller=quorum,
        brokers=sorted(
            (
                BrokerInfo(node_id=b["node_id"], host=b["host"], port=b["port"], rack=b["rack"])
                for b in cluster["brokers"]
            ),
            key=lambda b: b.node_id,
        ),
        topics=sorted(
            (
                TopicInfo(
                    name=t["topic"],
                    internal=t["is_internal"],
                    partitions=sorted(
                        (
                            PartitionInfo(
                                partition=p["partition"],
                                leader=p["leader"],
                                replicas=p["replicas"],
                                isr=p["isr"],
                                offline_replicas=p["offline_replicas"],
                            )
                            for p in t["partitions"]
                        ),
                        key=lambda p: p.partition,
                    ),
                )
                for t in topics
                if include_internal or not (t["is_internal"] or t["topic"].startswith("__"))
            ),
            key=lambda t: t.name,
        ),
        groups=groups,
    )
