"""KRaft's metadata quorum (DescribeQuorum, KIP-595): who is the active controller, who votes.

aiokafka has no DescribeQuorum API, so the request is declared here with its protocol types.
Brokers forward it to the active controller, so any bootstrap address works.
"""

from __future__ import annotations

from typing import Any

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import for_code
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactString,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)
from pydantic import BaseModel

__all__ = ["MetadataQuorum", "QuorumReplica", "describe_quorum"]


METADATA_TOPIC = "__cluster_metadata"
DESCRIBE_QUORUM = 55

_REPLICA_STATE = CompactArray(
    ("replica_id", Int32),
    ("log_end_offset", Int64),
    ("tags", TaggedFields),
)


class DescribeQuorumResponse_v0(Response):
    """The quorum's leader, epoch, high watermark, voters and observers."""

    API_KEY = DESCRIBE_QUORUM
    API_VERSION = 0
    SCHEMA = Schema(
        ("error_code", Int16),
        (
            "topics",
            CompactArray(
                ("topic_name", CompactString("utf-8")),
                (
                    "partitions",
                    CompactArray(
                        ("partition_index", Int32),
                        ("error_code", Int16),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("high_watermark", Int64),
                        ("current_voters", _REPLICA_STATE),
                        ("observers", _REPLICA_STATE),
                        ("tags", TaggedFields),
                    ),
                ),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeQuorumRequest_v0(RequestStruct):
    """Describe partition 0 of ``__cluster_metadata``."""

    FLEXIBLE_VERSION = True
    API_KEY = DESCRIBE_QUORUM
    API_VERSION = 0
    RESPONSE_TYPE = DescribeQuorumResponse_v0
    SCHEMA = Schema(
        (
            "topics",
            CompactArray(
                ("topic_name", CompactString("utf-8")),
                ("partitions", CompactArray(("partition_index", Int32), ("tags", TaggedFields))),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class DescribeQuorumRequest(Request[DescribeQuorumRequest_v0]):
    """The version-negotiating request builder aiokafka's client sends."""

    API_KEY = DESCRIBE_QUORUM

    def build(
        self, request_struct_class: type[DescribeQuorumRequest_v0]
    ) -> DescribeQuorumRequest_v0:
        """Build the v0 struct for ``__cluster_metadata``-0."""
        return request_struct_class([(METADATA_TOPIC, [(0, {})], {})], {})


class QuorumReplica(BaseModel):
    """A node of the metadata quorum and how far its copy of the metadata log reaches."""

    node_id: int
    log_end_offset: int


class MetadataQuorum(BaseModel):
    """The KRaft controller quorum: the active controller (leader) and the voters."""

    leader_id: int
    leader_epoch: int
    high_watermark: int
    voters: list[QuorumReplica]
    observers: list[QuorumReplica]


async def describe_quorum(client: AIOKafkaAdminClient) -> MetadataQuorum:
    """Ask the cluster (through any broker) for its metadata quorum."""
    # aiokafka's admin client has no public hook for APIs it does not implement.
    response: Any = await client._send_request(DescribeQuorumRequest())
    if response.error_code:
        raise for_code(response.error_code)("DescribeQuorum failed")
    (_, partitions, _) = response.topics[0]
    (_, error_code, leader_id, epoch, high_watermark, voters, observers, _) = partitions[0]
    if error_code:
        raise for_code(error_code)("DescribeQuorum failed for the metadata partition")
    return MetadataQuorum(
        leader_id=leader_id,
        leader_epoch=epoch,
        high_watermark=high_watermark,
        voters=[QuorumReplica(node_id=v[0], log_end_offset=v[1]) for v in voters],
        observers=[QuorumReplica(node_id=o[0], log_end_offset=o[1]) for o in observers],
    )
