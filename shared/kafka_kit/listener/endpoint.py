"""A listener's declaration: ``ListenerEndpoint`` (what ``@kafka_listener`` builds), presets,
initial offsets."""

from __future__ import annotations

import copy
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from aiokafka.structs import ConsumerRecord

from kafka_kit._deprecation import moved_names
from kafka_kit.ack import AckMode
from kafka_kit.errors import ListenerDeclarationError
from kafka_kit.listener.arguments import HandlerInvoker
from kafka_kit.listener.markers import ValueDeserializer
from kafka_kit.middleware import Middleware, around
from kafka_kit.type_mapping import TypeMapping

if TYPE_CHECKING:
    from kafka_kit.listener.rebalance import RebalanceListener
    from kafka_kit.observation import Observation
    from kafka_kit.recovery.error_handler import ErrorHandler
    from kafka_kit.recovery.retry_topics import RetryTopics

__all__ = [
    "DEFAULT_PRESET",
    "InitialOffset",
    "ListenerEndpoint",
    "ListenerPreset",
    "PartitionSpec",
    "TopicPartitionOffset",
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
    """The topic."""
    partition: int
    """The partition."""
    offset: InitialOffset = None
    """An absolute offset, ``"beginning"``, ``"end"``, or ``None`` for the group's committed
    offset."""


PartitionSpec = TopicPartitionOffset | tuple[str, int] | tuple[str, int, InitialOffset]


def partition_spec(spec: PartitionSpec) -> TopicPartitionOffset:
    if isinstance(spec, TopicPartitionOffset):
        return spec
    return TopicPartitionOffset(*spec)


@dataclass
class ListenerEndpoint:
    """What ``@kafka_listener`` declared: the handler and how its containers should consume."""

    id: str
    """The listener's id in the registry."""
    handler: Callable[..., Any]
    """The decorated function."""
    topics: tuple[str, ...] = ()
    """Topics to read."""
    pattern: str | None = None
    """A regex of topics to read."""
    partitions: tuple[TopicPartitionOffset, ...] = ()
    """Partitions assigned explicitly, with where to start."""
    group_id: str | None = None
    """The consumer group."""
    concurrency: int = 1
    """Consumers in the group, each a container."""
    batch: bool = False
    """The handler gets a poll's records as a list."""
    auto_startup: bool = True
    """Started with the registry."""
    ack_mode: AckMode = AckMode.BATCH
    """When offsets are committed."""
    ack_count: int = 100
    """With ``count`` modes: records per commit."""
    ack_time_s: float = 5.0
    """With ``time`` modes: seconds between commits."""
    error_handler: ErrorHandler | None = None
    """Its own error handler."""
    retry_topics: RetryTopics | None = None
    """Non-blocking retries through retry topics."""
    transactional: bool = False
    """Consume → produce exactly once."""
    value_deserializer: ValueDeserializer | None = None
    """Turns raw values into the payload."""
    rebalance_listener: RebalanceListener | None = None
    """Hears partitions assigned and revoked."""
    type_mapping: TypeMapping | None = None
    """``__TypeId__`` token → payload model."""
    properties: dict[str, Any] = field(default_factory=dict)
    """Consumer properties."""
    record_filter: RecordFilter | None = None
    """Records it returns ``False`` for are committed, not handled."""
    middlewares: tuple[Middleware, ...] = ()
    """Around every handler call."""
    reply_to: str | bool | None = None
    """Where the handler's result is published."""
    share_group: str | None = None
    """Read as this share group (KIP-932) instead of a consumer group."""
    max_deliveries: int = 5
    """A share-group record failing this often is dead-lettered and rejected."""
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
        if self.share_group is not None:
            self._check_share()
            return
        if self.invoker.acknowledgment_type.__name__ == "ShareAcknowledgment":
            raise ListenerDeclarationError(
                f"listener {self.id!r} takes a ShareAcknowledgment: it needs share_group=..."
            )
        if self.invoker.takes_acknowledgment and not self.ack_mode.manual:
            raise ListenerDeclarationError(
                f"listener {self.id!r} takes an Acknowledgment: use ack_mode=MANUAL or "
                "MANUAL_IMMEDIATE"
            )

    def traced(
        self, tracing: Observation | None, *, group_id: str | None, client_id: str
    ) -> ListenerEndpoint:
        """This endpoint with a span around every handler call (itself without ``tracing``);
        a copy per consumer, as the span names the consumer's group and client id.

        Args:
            tracing: Makes the spans (:class:`~kafka_kit.tracing.KafkaTracing`), or ``None``.
            group_id: The consumer's (or member's) group.
            client_id: Its client id.
        """
        if tracing is None:
            return self
        traced = copy.copy(self)
        traced.invoke = tracing.traced_invoke(
            self.invoke,
            listener_id=self.id,
            group_id=group_id,
            client_id=client_id,
            batch=self.batch,
        )
        return traced

    def _check_share(self) -> None:
        unsupported = {
            "pattern or partitions (a share group subscribes to topics)": bool(
                self.pattern or self.partitions
            ),
            "group_id (the share group is its group)": bool(self.group_id),
            "transactional": self.transactional,
            "retry_topics (the broker redelivers)": self.retry_topics is not None,
            "rebalance_listener (members share partitions)": self.rebalance_listener is not None,
        }
        given = [what for what, present in unsupported.items() if present]
        if given:
            raise ListenerDeclarationError(
                f"listener {self.id!r} reads share group {self.share_group!r}; these do not "
                f"apply to share groups: {', '.join(given)}"
            )
        if not 1 <= self.max_deliveries <= 9:
            raise ListenerDeclarationError(
                f"listener {self.id!r}: max_deliveries must be 1..9 (the broker archives a "
                "record after at most 10 deliveries)"
            )

    def check_dependencies(self, dependencies: Mapping[type, Any]) -> None:
        """Raise when the handler asks for a dependency ``dependencies`` does not hold.

        Args:
            dependencies: What the registry will inject, by type.
        """
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
    """The consumer group."""
    concurrency: int | None = None
    """Consumers in the group."""
    batch: bool | None = None
    """The handler gets a poll's records as a list."""
    ack_mode: AckMode | str | None = None
    """When offsets are committed."""
    ack_count: int | None = None
    """With ``count`` modes: records per commit."""
    ack_time_s: float | None = None
    """With ``time`` modes: seconds between commits."""
    error_handler: ErrorHandler | None = None
    """The error handler."""
    value_deserializer: ValueDeserializer | None = None
    """Turns raw values into the payload."""
    record_filter: RecordFilter | None = None
    """Records it returns ``False`` for are committed, not handled."""
    middlewares: Sequence[Middleware] | None = None
    """Around every handler call."""
    properties: Mapping[str, Any] = field(default_factory=dict)
    """Consumer properties (``max_poll_records``…)."""

    @classmethod
    def of(cls, **options: Any) -> ListenerPreset:
        """A preset from ``kafka_listener``'s keywords: options it does not name are consumer
        properties (``max_poll_records=50``).

        Args:
            options: ``kafka_listener``'s option keywords, and consumer properties.
        """
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
ENDPOINT_DEFAULTS: dict[str, Any] = {
    "concurrency": 1,
    "batch": False,
    "ack_mode": AckMode.BATCH,
    "ack_count": 100,
    "ack_time_s": 5.0,
}
DEFAULT_PRESET = "default"
"""The preset a registry applies to listeners that name none (Spring's default
``kafkaListenerContainerFactory``), when it has one by this name."""


# A deprecated alias (0.6): the decorator moved to kafka_kit.decorator, beside the registry it
# registers with (which imports this module).
__getattr__ = moved_names(__name__, {"kafka_listener": "kafka_kit"}, removal="0.7")
