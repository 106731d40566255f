"""``@kafka_listener``: declare a function as the handler of a topic's records.

Beside the registry it registers with (which imports the listener package, so the decorator
cannot live there without a circle).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from kafka_kit.ack import AckMode
from kafka_kit.listener.endpoint import (
    ENDPOINT_DEFAULTS,
    Handler,
    ListenerEndpoint,
    PartitionSpec,
    RecordFilter,
    partition_spec,
)
from kafka_kit.listener.markers import ValueDeserializer
from kafka_kit.middleware import Middleware
from kafka_kit.registry import ListenerRegistry, default_registry
from kafka_kit.type_mapping import TypeMapping

if TYPE_CHECKING:
    from kafka_kit.listener.rebalance import RebalanceListener
    from kafka_kit.recovery.error_handler import ErrorHandler
    from kafka_kit.recovery.retry_topics import RetryTopics

__all__ = ["kafka_listener"]


def kafka_listener(
    *topics: str,
    pattern: str | None = None,
    partitions: Iterable[PartitionSpec] = (),
    group_id: str | None = None,
    id: str | None = None,
    preset: str | None = None,
    concurrency: int | None = None,
    batch: bool | None = None,
    auto_startup: bool = True,
    ack_mode: AckMode | str | None = None,
    ack_count: int | None = None,
    ack_time_s: float | None = None,
    error_handler: ErrorHandler | None = None,
    retry_topics: RetryTopics | None = None,
    transactional: bool = False,
    value_deserializer: ValueDeserializer | None = None,
    rebalance_listener: RebalanceListener | None = None,
    type_mapping: TypeMapping | Mapping[str, type[Any]] | None = None,
    filter: RecordFilter | None = None,
    middlewares: Sequence[Middleware] | None = None,
    reply_to: str | bool | None = None,
    share_group: str | None = None,
    max_deliveries: int = 5,
    registry: ListenerRegistry | None = None,
    **properties: Any,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as a listener; nothing starts until the registry starts.

    Topics, ``pattern`` and ``group_id`` may hold ``${ENV_VAR:default}`` placeholders, resolved
    at start. Options not given come from the ``preset`` (else the registry's ``"default"``
    preset, if it has one), else the settings.

    Args:
        topics: The topics to read (or give ``pattern`` or ``partitions``).
        pattern: A regex: every matching topic, new ones included.
        partitions: Explicit partitions, with initial offsets (no group assignment).
        group_id: The consumer group; the preset's, else ``KAFKA_CONSUMER_GROUP_ID``.
        id: The listener's id in the registry and its HTTP routes (default: the function's
            name).
        preset: A :class:`~kafka_kit.listener.ListenerPreset` of the registry (Spring's
            ``containerFactory``) for the options not given here.
        concurrency: Consumers in the group, each a container of its own.
        batch: The handler gets every record of a poll as a list.
        auto_startup: Start with the registry (``False``: start it by id, later).
        ack_mode: When offsets are committed (:class:`~kafka_kit.AckMode`; default ``batch``).
        ack_count: With ``count``/``count_time``: commit after this many records.
        ack_time_s: With ``time``/``count_time``: commit after this long.
        error_handler: Overrides the registry's (:mod:`kafka_kit.recovery`).
        retry_topics: Non-blocking retries through ``<topic>-retry-<delay>`` topics, then the
            DLT (Spring's ``@RetryableTopic``).
        transactional: Exactly-once consume → produce: the handler sends with an injected
            ``KafkaTemplate``; its output and input offsets commit in one Kafka transaction.
        value_deserializer: Turns raw values into the payload instead of the JSON/pydantic
            default (Avro, Protobuf…; raising makes the record a poison pill).
        rebalance_listener: Hears partitions assigned and revoked (after the container
            committed what it handled).
        type_mapping: ``{"event": EventDto, "refund": RefundDto}`` picks the payload's model by
            the record's ``__TypeId__`` header, as Spring's ``spring.json.type.mapping`` does;
            an unknown token makes the record a poison pill; no header: the annotation's model.
        filter: ``record -> bool``; records it returns ``False`` for are committed, counted as
            ``filtered``, never handled.
        middlewares: Around every handler call (:class:`~kafka_kit.middleware.Middleware`).
        reply_to: Publish the handler's result to this topic (``True``: to the request's
            ``kafka_replyTopic``; see :mod:`kafka_kit.replies`).
        share_group: Read as this share group (KIP-932, "queues for Kafka") instead of a
            consumer group: every member may read every partition, each record is acquired by
            one member and accepted, released or rejected (:mod:`kafka_kit.share`).
        max_deliveries: With ``share_group``: a record whose handler failed this often is
            given to the recoverer (the dead-letter topic) and rejected.
        registry: Where to register (the default registry when omitted).
        properties: Consumer properties (``auto_offset_reset``, ``max_poll_records``,
            ``isolation_level``…).
    """
    given = {
        "group_id": group_id,
        "concurrency": concurrency,
        "batch": batch,
        "ack_mode": ack_mode,
        "ack_count": ack_count,
        "ack_time_s": ack_time_s,
        "error_handler": error_handler,
        "value_deserializer": value_deserializer,
        "record_filter": filter,
        "middlewares": middlewares,
    }

    def register(handler: Handler) -> Handler:
        target = registry or default_registry
        options = {
            **ENDPOINT_DEFAULTS,
            **target.preset_options(preset),
            **properties,
            **{name: value for name, value in given.items() if value is not None},
        }
        endpoint = ListenerEndpoint(
            id=id or handler.__name__,
            handler=handler,
            topics=topics,
            pattern=pattern,
            partitions=tuple(partition_spec(p) for p in partitions),
            # A share listener's group is its share group: a preset's consumer group is not it.
            group_id=options.pop("group_id", None) if share_group is None else group_id,
            concurrency=options.pop("concurrency"),
            batch=options.pop("batch"),
            auto_startup=auto_startup,
            ack_mode=AckMode(options.pop("ack_mode")),
            ack_count=options.pop("ack_count"),
            ack_time_s=options.pop("ack_time_s"),
            error_handler=options.pop("error_handler", None),
            retry_topics=retry_topics,
            transactional=transactional,
            value_deserializer=options.pop("value_deserializer", None),
            rebalance_listener=rebalance_listener,
            type_mapping=TypeMapping.of(type_mapping),
            record_filter=options.pop("record_filter", None),
            middlewares=(*target.middlewares, *(options.pop("middlewares", None) or ())),
            reply_to=reply_to,
            share_group=share_group,
            max_deliveries=max_deliveries,
            properties=options,
        )
        target.register(endpoint)
        return handler

    return register
