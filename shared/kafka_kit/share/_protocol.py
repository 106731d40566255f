"""The share-group requests of KIP-932 on aiokafka's wire layer (aiokafka has none of them).

ShareGroupHeartbeat (76), ShareGroupDescribe (77), ShareFetch (78), ShareAcknowledge (79), and
Metadata v12 (topic ids ↔ names: share groups name topics by id) and IncrementalAlterConfigs v1
(a share group's own settings, e.g. ``share.auto.offset.reset``). Each is written from the
message's JSON definition in Kafka 4.4.0's ``kafka-clients`` jar (``common/message/*.json``):
every version is "flexible" — compact strings and arrays, tagged fields after every struct.

It is over 400 lines because the schemas are declarations, field for field as in Kafka's JSON
definitions, and they share the wire types above them; there is no logic to split.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from io import BytesIO
from typing import Any, ClassVar

from aiokafka.protocol.abstract import AbstractType
from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    Boolean,
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Int64,
    Schema,
    TaggedFields,
)

__all__ = [
    "AlterGroupConfigs",
    "AlterShareGroupOffsets",
    "DescribeShareGroupOffsets",
    "Metadata",
    "ShareAcknowledge",
    "ShareFetch",
    "ShareGroupDescribe",
    "ShareGroupHeartbeat",
]

GROUP_RESOURCE = 32
"""IncrementalAlterConfigs' resource type of a group (``ConfigResource.Type.GROUP``)."""
SET = 0
"""IncrementalAlterConfigs' SET operation."""


class Uuid(AbstractType[uuid.UUID]):
    """A Kafka UUID: 16 bytes, big-endian (topic ids)."""

    @classmethod
    def encode(cls, value: uuid.UUID) -> bytes:
        """The 16 bytes of ``value``."""
        return value.bytes

    @classmethod
    def decode(cls, data: BytesIO) -> uuid.UUID:
        """The next 16 bytes as a UUID."""
        return uuid.UUID(bytes=data.read(16))


class NullableStruct(Schema):
    """A struct field that may be null: an int8 marker (-1 null, 1 present), then the struct."""

    def encode(self, item: Sequence[Any] | None) -> bytes:
        """The marker, then the fields."""
        if item is None:
            return Int8.encode(-1)
        return Int8.encode(1) + super().encode(item)

    def decode(self, data: BytesIO) -> tuple[Any, ...] | None:  # type: ignore[override]
        """``None``, or the struct's fields."""
        if Int8.decode(data) < 0:
            return None
        return super().decode(data)

    def repr(self, value: Any) -> str:
        """As the schema shows it."""
        return "NULL" if value is None else super().repr(value)


def _array(*fields: tuple[str, Any]) -> CompactArray:
    """A compact array of structs, each ending in its tagged fields."""
    return CompactArray(*fields, ("tags", TaggedFields))


_STRING = CompactString("utf-8")
_TOPIC_PARTITIONS = _array(("topic_id", Uuid), ("partitions", CompactArray(Int32)))
_LEADER = Schema(("leader_id", Int32), ("leader_epoch", Int32), ("tags", TaggedFields))
_ACK_BATCHES = _array(
    ("first_offset", Int64), ("last_offset", Int64), ("acknowledge_types", CompactArray(Int8))
)
_NODE_ENDPOINTS = _array(("node_id", Int32), ("host", _STRING), ("port", Int32), ("rack", _STRING))


def _response(api_key: int, version: int, schema: Schema) -> type[Response]:
    """A response struct class of one API version."""
    return type(
        f"Response{api_key}_v{version}",
        (Response,),
        {"API_KEY": api_key, "API_VERSION": version, "SCHEMA": schema},
    )


class _Flexible(RequestStruct):
    FLEXIBLE_VERSION: ClassVar[bool] = True
    API_KEY: ClassVar[int] = -1
    API_VERSION: ClassVar[int] = -1
    RESPONSE_TYPE: ClassVar[type[Response]] = _response(-1, -1, Schema())
    SCHEMA: ClassVar[Schema] = Schema()


def _request(api_key: int, version: int, schema: Schema, response: type[Response]) -> type[Any]:
    """A request struct class of one API version."""
    return type(
        f"Request{api_key}_v{version}",
        (_Flexible,),
        {
            "API_KEY": api_key,
            "API_VERSION": version,
            "RESPONSE_TYPE": response,
            "SCHEMA": schema,
        },
    )


class _Builder(Request[Any]):
    """A request whose versions are listed in ``VERSIONS`` (lowest first); ``fields(version)``
    gives the struct's values for the version the broker and we both speak."""

    API_KEY: ClassVar[int] = -1
    VERSIONS: ClassVar[tuple[type[Any], ...]] = ()

    def __init_subclass__(cls) -> None:
        # Request's own hook reads the versions from a generic parameter; ours lists them.
        cls._CLASSES = cls.VERSIONS  # type: ignore[assignment]

    def fields(self, version: int) -> list[Any]:
        """The values, in the schema's order, for ``version``."""
        raise NotImplementedError

    def build(self, request_struct_class: type[Any]) -> Any:
        """The struct of the chosen version."""
        return request_struct_class(*self.fields(request_struct_class.API_VERSION))


# ---------------------------------------------------------------- ShareGroupHeartbeat (76)
_HEARTBEAT_RESPONSE = _response(
    76,
    1,
    Schema(
        ("throttle_time_ms", Int32),
        ("error_code", Int16),
        ("error_message", _STRING),
        ("member_id", _STRING),
        ("member_epoch", Int32),
        ("heartbeat_interval_ms", Int32),
        (
            "assignment",
            NullableStruct(("topic_partitions", _TOPIC_PARTITIONS), ("tags", TaggedFields)),
        ),
        ("tags", TaggedFields),
    ),
)


class ShareGroupHeartbeat(_Builder):
    """Join (epoch 0), stay (the current epoch) or leave (-1) a share group."""

    API_KEY = 76
    VERSIONS = (
        _request(
            76,
            1,
            Schema(
                ("group_id", _STRING),
                ("member_id", _STRING),
                ("member_epoch", Int32),
                ("rack_id", _STRING),
                ("subscribed_topic_names", CompactArray(_STRING)),
                ("tags", TaggedFields),
            ),
            _HEARTBEAT_RESPONSE,
        ),
    )

    def __init__(
        self, group_id: str, member_id: str, epoch: int, topics: Sequence[str] | None
    ) -> None:
        self.group_id, self.member_id, self.epoch, self.topics = group_id, member_id, epoch, topics

    def fields(self, version: int) -> list[Any]:
        """The values of v1."""
        topics = list(self.topics) if self.topics is not None else None
        return [self.group_id, self.member_id, self.epoch, None, topics, {}]


# ---------------------------------------------------------------- ShareGroupDescribe (77)
_DESCRIBE_RESPONSE = _response(
    77,
    1,
    Schema(
        ("throttle_time_ms", Int32),
        (
            "groups",
            _array(
                ("error_code", Int16),
                ("error_message", _STRING),
                ("group_id", _STRING),
                ("group_state", _STRING),
                ("group_epoch", Int32),
                ("assignment_epoch", Int32),
                ("assignor_name", _STRING),
                (
                    "members",
                    _array(
                        ("member_id", _STRING),
                        ("rack_id", _STRING),
                        ("member_epoch", Int32),
                        ("client_id", _STRING),
                        ("client_host", _STRING),
                        ("subscribed_topic_names", CompactArray(_STRING)),
                        (
                            "assignment",
                            Schema(
                                (
                                    "topic_partitions",
                                    _array(
                                        ("topic_id", Uuid),
                                        ("topic_name", _STRING),
                                        ("partitions", CompactArray(Int32)),
                                    ),
                                ),
                                ("tags", TaggedFields),
                            ),
                        ),
                    ),
                ),
                ("authorized_operations", Int32),
            ),
        ),
        ("tags", TaggedFields),
    ),
)


class ShareGroupDescribe(_Builder):
    """The state, members and assignments of share groups."""

    API_KEY = 77
    VERSIONS = (
        _request(
            77,
            1,
            Schema(
                ("group_ids", CompactArray(_STRING)),
                ("include_authorized_operations", Boolean),
                ("tags", TaggedFields),
            ),
            _DESCRIBE_RESPONSE,
        ),
    )

    def __init__(self, group_ids: Sequence[str]) -> None:
        self.group_ids = list(group_ids)

    def fields(self, version: int) -> list[Any]:
        """The values of v1."""
        return [self.group_ids, False, {}]


# ---------------------------------------------------------------- ShareFetch (78)
_FETCH_RESPONSE_SCHEMA = Schema(
    ("throttle_time_ms", Int32),
    ("error_code", Int16),
    ("error_message", _STRING),
    ("acquisition_lock_timeout_ms", Int32),
    (
        "responses",
        _array(
            ("topic_id", Uuid),
            (
                "partitions",
                _array(
                    ("partition_index", Int32),
                    ("error_code", Int16),
                    ("error_message", _STRING),
                    ("acknowledge_error_code", Int16),
                    ("acknowledge_error_message", _STRING),
                    ("current_leader", _LEADER),
                    ("records", CompactBytes),
                    (
                        "acquired_records",
                        _array(
                            ("first_offset", Int64),
                            ("last_offset", Int64),
                            ("delivery_count", Int16),
                        ),
                    ),
                ),
            ),
        ),
    ),
    ("node_endpoints", _NODE_ENDPOINTS),
    ("tags", TaggedFields),
)
_FETCH_HEAD: tuple[tuple[str, Any], ...] = (
    ("group_id", _STRING),
    ("member_id", _STRING),
    ("share_session_epoch", Int32),
    ("max_wait_ms", Int32),
    ("min_bytes", Int32),
    ("max_bytes", Int32),
    ("max_records", Int32),
    ("batch_size", Int32),
)
_FETCH_TAIL: tuple[tuple[str, Any], ...] = (
    (
        "topics",
        _array(
            ("topic_id", Uuid),
            (
                "partitions",
                _array(("partition_index", Int32), ("acknowledgement_batches", _ACK_BATCHES)),
            ),
        ),
    ),
    ("forgotten_topics_data", _TOPIC_PARTITIONS),
    ("tags", TaggedFields),
)

AckBatches = list[tuple[int, int, list[int]]]
"""Acknowledgement batches of one partition: (first offset, last offset, types)."""
TopicAcks = dict[uuid.UUID, dict[int, AckBatches]]
"""Per topic id, per partition, its acknowledgement batches (empty: fetch only)."""


def _topics(topics: TopicAcks) -> list[Any]:
    return [
        (
            topic_id,
            [
                (partition, [(*batch, {}) for batch in batches], {})
                for partition, batches in partitions.items()
            ],
            {},
        )
        for topic_id, partitions in topics.items()
    ]


class ShareFetch(_Builder):
    """Fetch (and acquire) records of a share session's partitions; acknowledge earlier ones.

    Version 2 (Kafka 4.2+) adds the acquire mode (record_limit keeps ``max_records`` exact).
    """

    API_KEY = 78
    VERSIONS = (
        _request(
            78, 1, Schema(*_FETCH_HEAD, *_FETCH_TAIL), _response(78, 1, _FETCH_RESPONSE_SCHEMA)
        ),
        _request(
            78,
            2,
            Schema(
                *_FETCH_HEAD, ("share_acquire_mode", Int8), ("is_renew_ack", Boolean), *_FETCH_TAIL
            ),
            _response(78, 2, _FETCH_RESPONSE_SCHEMA),
        ),
    )

    def __init__(
        self,
        group_id: str,
        member_id: str,
        epoch: int,
        *,
        max_wait_ms: int,
        max_records: int,
        record_limit: bool,
        topics: TopicAcks,
        forgotten: dict[uuid.UUID, list[int]],
    ) -> None:
        self.group_id, self.member_id, self.epoch = group_id, member_id, epoch
        self.max_wait_ms, self.max_records, self.record_limit = (
            max_wait_ms,
            max_records,
            record_limit,
        )
        self.topics, self.forgotten = topics, forgotten

    def fields(self, version: int) -> list[Any]:
        """The values of v1 or v2."""
        head = [
            self.group_id,
            self.member_id,
            self.epoch,
            self.max_wait_ms,
            1,
            0x7FFFFFFF,
            self.max_records,
            self.max_records,
        ]
        mode = [1 if self.record_limit else 0, False] if version >= 2 else []
        forgotten: list[Any] = [(t, parts, {}) for t, parts in self.forgotten.items()]
        return [*head, *mode, _topics(self.topics), forgotten, {}]


# ---------------------------------------------------------------- ShareAcknowledge (79)
_ACK_RESPONSE_TOPICS = (
    "responses",
    _array(
        ("topic_id", Uuid),
        (
            "partitions",
            _array(
                ("partition_index", Int32),
                ("error_code", Int16),
                ("error_message", _STRING),
                ("current_leader", _LEADER),
            ),
        ),
    ),
)
_ACK_HEAD = (("throttle_time_ms", Int32), ("error_code", Int16), ("error_message", _STRING))
_ACK_TOPICS = (
    "topics",
    _array(
        ("topic_id", Uuid),
        (
            "partitions",
            _array(("partition_index", Int32), ("acknowledgement_batches", _ACK_BATCHES)),
        ),
    ),
)


class ShareAcknowledge(_Builder):
    """Acknowledge records of a share session without fetching (epoch -1 also closes it)."""

    API_KEY = 79
    VERSIONS = (
        _request(
            79,
            1,
            Schema(
                ("group_id", _STRING),
                ("member_id", _STRING),
                ("share_session_epoch", Int32),
                _ACK_TOPICS,
                ("tags", TaggedFields),
            ),
            _response(
                79,
                1,
                Schema(
                    *_ACK_HEAD,
                    _ACK_RESPONSE_TOPICS,
                    ("node_endpoints", _NODE_ENDPOINTS),
                    ("tags", TaggedFields),
                ),
            ),
        ),
        _request(
            79,
            2,
            Schema(
                ("group_id", _STRING),
                ("member_id", _STRING),
                ("share_session_epoch", Int32),
                ("is_renew_ack", Boolean),
                _ACK_TOPICS,
                ("tags", TaggedFields),
            ),
            _response(
                79,
                2,
                Schema(
                    *_ACK_HEAD,
                    ("acquisition_lock_timeout_ms", Int32),
                    _ACK_RESPONSE_TOPICS,
                    ("node_endpoints", _NODE_ENDPOINTS),
                    ("tags", TaggedFields),
                ),
            ),
        ),
    )

    def __init__(self, group_id: str, member_id: str, epoch: int, topics: TopicAcks) -> None:
        self.group_id, self.member_id, self.epoch, self.topics = group_id, member_id, epoch, topics

    def fields(self, version: int) -> list[Any]:
        """The values of v1 or v2."""
        renew = [False] if version >= 2 else []
        return [self.group_id, self.member_id, self.epoch, *renew, _topics(self.topics), {}]


# ---------------------------------------------------------------- Metadata v12 (3)
_METADATA_RESPONSE = _response(
    3,
    12,
    Schema(
        ("throttle_time_ms", Int32),
        (
            "brokers",
            _array(("node_id", Int32), ("host", _STRING), ("port", Int32), ("rack", _STRING)),
        ),
        ("cluster_id", _STRING),
        ("controller_id", Int32),
        (
            "topics",
            _array(
                ("error_code", Int16),
                ("name", _STRING),
                ("topic_id", Uuid),
                ("is_internal", Boolean),
                (
                    "partitions",
                    _array(
                        ("error_code", Int16),
                        ("partition_index", Int32),
                        ("leader_id", Int32),
                        ("leader_epoch", Int32),
                        ("replica_nodes", CompactArray(Int32)),
                        ("isr_nodes", CompactArray(Int32)),
                        ("offline_replicas", CompactArray(Int32)),
                    ),
                ),
                ("topic_authorized_operations", Int32),
            ),
        ),
        ("tags", TaggedFields),
    ),
)


class Metadata(_Builder):
    """Topics by name or by id, with their ids and partition leaders (v12)."""

    API_KEY = 3
    VERSIONS = (
        _request(
            3,
            12,
            Schema(
                ("topics", _array(("topic_id", Uuid), ("name", _STRING))),
                ("allow_auto_topic_creation", Boolean),
                ("include_topic_authorized_operations", Boolean),
                ("tags", TaggedFields),
            ),
            _METADATA_RESPONSE,
        ),
    )

    NO_ID: ClassVar[uuid.UUID] = uuid.UUID(int=0)

    def __init__(self, names: Sequence[str] = (), ids: Sequence[uuid.UUID] = ()) -> None:
        self.names, self.ids = list(names), list(ids)

    def fields(self, version: int) -> list[Any]:
        """The values of v12."""
        topics: list[Any] = [(self.NO_ID, name, {}) for name in self.names]
        topics += [(topic_id, None, {}) for topic_id in self.ids]
        return [topics, False, False, {}]


# ---------------------------------------------------------------- IncrementalAlterConfigs v1 (44)
class AlterGroupConfigs(_Builder):
    """Set a group's own configs (``share.auto.offset.reset``, the record lock duration…)."""

    API_KEY = 44
    VERSIONS = (
        _request(
            44,
            1,
            Schema(
                (
                    "resources",
                    _array(
                        ("resource_type", Int8),
                        ("resource_name", _STRING),
                        (
                            "configs",
                            _array(
                                ("name", _STRING), ("config_operation", Int8), ("value", _STRING)
                            ),
                        ),
                    ),
                ),
                ("validate_only", Boolean),
                ("tags", TaggedFields),
            ),
            _response(
                44,
                1,
                Schema(
                    ("throttle_time_ms", Int32),
                    (
                        "responses",
                        _array(
                            ("error_code", Int16),
                            ("error_message", _STRING),
                            ("resource_type", Int8),
                            ("resource_name", _STRING),
                        ),
                    ),
                    ("tags", TaggedFields),
                ),
            ),
        ),
    )

    def __init__(self, group_id: str, configs: dict[str, str]) -> None:
        self.group_id, self.configs = group_id, configs

    def fields(self, version: int) -> list[Any]:
        """The values of v1."""
        configs: list[Any] = [(name, SET, value, {}) for name, value in self.configs.items()]
        return [[(GROUP_RESOURCE, self.group_id, configs, {})], False, {}]


# ---------------------------------------------------------------- DescribeShareGroupOffsets v1 (90)
class DescribeShareGroupOffsets(_Builder):
    """Where a share group starts reading each partition, and the lag Kafka counts for it."""

    API_KEY = 90
    VERSIONS = (
        _request(
            90,
            1,
            Schema(
                (
                    "groups",
                    _array(
                        ("group_id", _STRING),
                        (
                            "topics",
                            _array(("topic_name", _STRING), ("partitions", CompactArray(Int32))),
                        ),
                    ),
                ),
                ("tags", TaggedFields),
            ),
            _response(
                90,
                1,
                Schema(
                    ("throttle_time_ms", Int32),
                    (
                        "groups",
                        _array(
                            ("group_id", _STRING),
                            (
                                "topics",
                                _array(
                                    ("topic_name", _STRING),
                                    ("topic_id", Uuid),
                                    (
                                        "partitions",
                                        _array(
                                            ("partition_index", Int32),
                                            ("start_offset", Int64),
                                            ("leader_epoch", Int32),
                                            ("lag", Int64),
                                            ("error_code", Int16),
                                            ("error_message", _STRING),
                                        ),
                                    ),
                                ),
                            ),
                            ("error_code", Int16),
                            ("error_message", _STRING),
                        ),
                    ),
                    ("tags", TaggedFields),
                ),
            ),
        ),
    )

    def __init__(self, group_id: str) -> None:
        self.group_id = group_id

    def fields(self, version: int) -> list[Any]:
        """The values of v1 (every topic the group has state for)."""
        return [[(self.group_id, None, {})], {}]


# ---------------------------------------------------------------- AlterShareGroupOffsets v0 (91)
class AlterShareGroupOffsets(_Builder):
    """Move a share group's start offsets (the group must have no members)."""

    API_KEY = 91
    VERSIONS = (
        _request(
            91,
            0,
            Schema(
                ("group_id", _STRING),
                (
                    "topics",
                    _array(
                        ("topic_name", _STRING),
                        ("partitions", _array(("partition_index", Int32), ("start_offset", Int64))),
                    ),
                ),
                ("tags", TaggedFields),
            ),
            _response(
                91,
                0,
                Schema(
                    *_ACK_HEAD,
                    (
                        "responses",
                        _array(
                            ("topic_name", _STRING),
                            ("topic_id", Uuid),
                            (
                                "partitions",
                                _array(
                                    ("partition_index", Int32),
                                    ("error_code", Int16),
                                    ("error_message", _STRING),
                                ),
                            ),
                        ),
                    ),
                    ("tags", TaggedFields),
                ),
            ),
        ),
    )

    def __init__(self, group_id: str, offsets: dict[str, dict[int, int]]) -> None:
        self.group_id, self.offsets = group_id, offsets

    def fields(self, version: int) -> list[Any]:
        """The values of v0."""
        topics: list[Any] = [
            (topic, [(p, offset, {}) for p, offset in partitions.items()], {})
            for topic, partitions in self.offsets.items()
        ]
        return [self.group_id, topics, {}]
