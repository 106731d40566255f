"""``@kafka_listener``: declare a function as the handler of a topic's records."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiokafka.structs import ConsumerRecord

from kafka_kit.ack import AckMode
from kafka_kit.errors import ListenerDeclarationError
from kafka_kit.listener.arguments import HandlerInvoker, ValueDeserializer
from kafka_kit.middleware import Middleware, around
from kafka_kit.type_mapping import TypeMapping

if TYPE_CHECKING:
    from kafka_kit.error_handler import ErrorHandler
    from kafka_kit.listener.rebalance import RebalanceListener
    from kafka_kit.registry import ListenerRegistry
    from kafka_kit.retry_topics import RetryTopics

__all__ = [
    "DEFAULT_PRESET",
    "InitialOffset",
    "ListenerEndpoint",
    "ListenerPreset",
    "PartitionSpec",
    "TopicPartitionOffset",
    "kafka_listener",
]


Handler = TypeVar("Handler", bound=Callable[..., Any])
RecordFilter = Callable[[ConsumerRecord[bytes, bytes]], bool]
"""Whether a record goes to the handler: ``False`` drops it (still committed, counted as
``filtered``). The opposite sense of Spring's ``RecordFilterStrategy.filter``, which returns
``True`` to discard: this one reads like Python's ``filter()``."""
Invoke = Callable[[Any, Any, Mapping[type, Any]], Awaitable[Any]]


def handler_call(
    invoke: Invoke, middlewares: Sequence[Middleware], reply_to: str | bool | None
) -> Invoke:
    """``invoke`` through ``middlewares`` and, with ``reply_to``, sending the result back."""
    if not middlewares and reply_to is None:
        return invoke
    # Imported here, once per listener: both import the template, which imports much.
    from kafka_kit.replies import send_reply  # noqa: PLC0415
    from kafka_kit.template import KafkaTemplate  # noqa: PLC0415

    async def call(records: Any, acknowledgment: Any, dependencies: Mapping[type, Any]) -> Any:
        async def handle(value: Any) -> Any:
            return await invoke(value, acknowledgment, dependencies)

        result = await around(handle, middlewares)(records)
        if reply_to is not None:
            await send_reply(dependencies[KafkaTemplate], records, result, reply_to)
        return result

    return call


InitialOffset = int | Literal["beginning", "end"] | None


@dataclass(frozen=True)
class TopicPartitionOffset:
    """An explicitly assigned partition and where to start reading it.

    ``offset``: an absolute offset, ``"beginning"``, ``"end"``, or ``None`` for the group's
    committed offset (or ``auto_offset_reset`` when there is none).
    """

    topic: str
    partition: int
    offset: InitialOffset = None


PartitionSpec = TopicPartitionOffset | tuple[str, int] | tuple[str, int, InitialOffset]


def _partition_spec(spec: PartitionSpec) -> TopicPartitionOffset:
    if isinstance(spec, TopicPartitionOffset):
        return spec
    return TopicPartitionOffset(*spec)


@dataclass
class ListenerEndpoint:
    """What ``@kafka_listener`` declared: the handler and how its containers should consume."""

    id: str
    handler: Callable[..., Any]
    topics: tuple[str, ...] = ()
    pattern: str | None = None
    partitions: tuple[TopicPartitionOffset, ...] = ()
    group_id: str | None = None
    concurrency: int = 1
    batch: bool = False
    auto_startup: bool = True
    ack_mode: AckMode = AckMode.BATCH
    ack_count: int = 100
    ack_time_s: float = 5.0
    error_handler: ErrorHandler | None = None
    retry_topics: RetryTopics | None = None
    transactional: bool = False
    value_deserializer: ValueDeserializer | None = None
    rebalance_listener: RebalanceListener | None = None
    type_mapping: TypeMapping | None = None
    properties: dict[str, Any] = field(default_factory=dict)
    record_filter: RecordFilter | None = None
    middlewares: tuple[Middleware, ...] = ()
    reply_to: str | bool | None = None
    invoker: HandlerInvoker = field(init=False, repr=False)
    invoke: Invoke = field(init=False, repr=False)
    """The handler call as the containers make it: the invoker's, through the middlewares, with
    the reply sent (the invoker's own ``invoke`` when there are neither)."""

    def __post_init__(self) -> None:
        sources = sum(bool(s) for s in (self.topics, self.pattern, self.partitions))
        if sources != 1:
            raise ListenerDeclarationError(
                f"listener {self.id!r} needs exactly one of topics, pattern or partitions"
            )
        if self.concurrency < 1:
            raise ListenerDeclarationError(f"listener {self.id!r}: concurrency must be at least 1")
        # Resolved at declaration: a handler whose parameters cannot be injected fails at import.
        self.invoker = HandlerInvoker(
            self.handler,
            batch=self.batch,
            value_deserializer=self.value_deserializer,
            type_mapping=self.type_mapping,
        )
        if self.retry_topics is not None and (not self.topics or self.error_handler is not None):
            raise ListenerDeclarationError(
                f"listener {self.id!r}: retry_topics need topics (not a pattern or partitions) "
                "and replace the error handler"
            )
        if self.transactional and (
            (self.partitions and not self.group_id)
            or self.batch
            or self.ack_mode.manual
            or self.retry_topics
        ):
            raise ListenerDeclarationError(
                f"listener {self.id!r}: transactional listeners need a group (assigned partitions: "
                "a group_id) and are record listeners without manual acks or retry topics (the "
                "transaction commits)"
            )
        if self.reply_to is not None and self.batch:
            raise ListenerDeclarationError(
                f"listener {self.id!r}: reply_to needs a record listener (a reply answers one "
                "request)"
            )
        self.invoke = handler_call(self.invoker.invoke, self.middlewares, self.reply_to)
        if self.invoker.takes_acknowledgment and not self.ack_mode.manual:
            raise ListenerDeclarationError(
                f"listener {self.id!r} takes an Acknowledgment: use ack_mode=MANUAL or "
                "MANUAL_IMMEDIATE"
            )

    def check_dependencies(self, dependencies: Mapping[type, Any]) -> None:
        """Raise when the handler asks for a dependency ``dependencies`` does not hold."""
        from kafka_kit.template import KafkaTemplate  # noqa: PLC0415 - the template imports much

        missing = [
            kind.__name__
            for kind in self.invoker.dependencies
            if kind not in dependencies and not (self.transactional and kind is KafkaTemplate)
        ]
        if missing:
            raise ListenerDeclarationError(
                f"listener {self.id!r} wants {missing} injected: pass them to the registry "
                "as start(..., dependencies={Type: instance})"
            )


@dataclass(frozen=True)
class ListenerPreset:
    """Listener options declared once and named (Spring's ``containerFactory``): a listener
    that says ``preset="name"`` takes each option it does not give itself from here.

    ``None`` leaves an option to the listener (or the built-in default).
    """

    group_id: str | None = None
    concurrency: int | None = None
    batch: bool | None = None
    ack_mode: AckMode | str | None = None
    ack_count: int | None = None
    ack_time_s: float | None = None
    error_handler: ErrorHandler | None = None
    value_deserializer: ValueDeserializer | None = None
    record_filter: RecordFilter | None = None
    middlewares: Sequence[Middleware] | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def of(cls, **options: Any) -> ListenerPreset:
        """A preset from ``kafka_listener``'s keywords: options it does not name are consumer
        properties (``max_poll_records=50``)."""
        named = {k: v for k, v in options.items() if k in _PRESET_OPTIONS}
        properties = {k: v for k, v in options.items() if k not in _PRESET_OPTIONS}
        return cls(**named, properties=properties)

    def options(self) -> dict[str, Any]:
        """The options it sets (``properties`` spread as consumer properties)."""
        given = {
            name: getattr(self, name) for name in _PRESET_OPTIONS if getattr(self, name) is not None
        }
        return {**self.properties, **given}


_PRESET_OPTIONS = (
    "group_id",
    "concurrency",
    "batch",
    "ack_mode",
    "ack_count",
    "ack_time_s",
    "error_handler",
    "value_deserializer",
    "record_filter",
    "middlewares",
)
_DEFAULTS: dict[str, Any] = {
    "concurrency": 1,
    "batch": False,
    "ack_mode": AckMode.BATCH,
    "ack_count": 100,
    "ack_time_s": 5.0,
}
DEFAULT_PRESET = "default"
"""The preset a registry applies to listeners that name none (Spring's default
``kafkaListenerContainerFactory``), when it has one by this name."""


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
    registry: ListenerRegistry | None = None,
    **properties: Any,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as a listener; nothing starts until the registry starts.

    Give ``topics``, a regex ``pattern``, or explicit ``partitions`` (with initial offsets).
    ``group_id``: the consumer group (default: the preset's, else ``KAFKA_CONSUMER_GROUP_ID``).
    ``preset`` names a :class:`ListenerPreset` of the registry for the options not given here
    (without it, the registry's ``"default"`` preset, if it has one).
    ``error_handler`` overrides the registry's; ``retry_topics`` turns on non-blocking retries.
    ``transactional=True``: exactly-once consume → produce; the handler sends with an injected
    ``KafkaTemplate`` and its output and input offsets commit in one Kafka transaction.
    ``value_deserializer`` turns raw values into the payload instead of the JSON/pydantic default
    (Avro, Protobuf…; raising makes the record a poison pill). ``rebalance_listener`` hears
    partitions assigned and revoked (after the container committed what it handled).
    ``type_mapping`` (``{"event": EventDto, "refund": RefundDto}``) picks the payload's model by
    the record's ``__TypeId__`` header, as Spring's ``spring.json.type.mapping`` does; an unknown
    token makes the record a poison pill (dead-lettered with the reason); no header: the
    parameter's annotation.
    ``filter`` (``record -> bool``) drops the records it returns ``False`` for: committed, counted
    as ``filtered``, never handled. ``middlewares`` wrap every handler call
    (:class:`~kafka_kit.middleware.Middleware`). ``reply_to="topic"`` publishes the handler's
    result (``True``: to the request's ``kafka_replyTopic``; see :mod:`kafka_kit.replies`).
    Topics, pattern and ``group_id`` may hold ``${ENV_VAR:default}`` placeholders, resolved at
    start. Extra keyword arguments are consumer properties (``auto_offset_reset``,
    ``max_poll_records``, ``isolation_level``…).
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
        from kafka_kit.registry import default_registry  # noqa: PLC0415 - registry imports us

        target = registry or default_registry
        options = {
            **_DEFAULTS,
            **target.preset_options(preset),
            **properties,
            **{name: value for name, value in given.items() if value is not None},
        }
        endpoint = ListenerEndpoint(
            id=id or handler.__name__,
            handler=handler,
            topics=topics,
            pattern=pattern,
            partitions=tuple(_partition_spec(p) for p in partitions),
            group_id=options.pop("group_id", None),
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
            properties=options,
        )
        target.register(endpoint)
        return handler

    return register
