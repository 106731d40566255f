"""``@kafka_listener``: declare a function as the handler of a topic's records."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from shared.invocation import HandlerInvoker

if TYPE_CHECKING:
    from shared.registry import ListenerRegistry

Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass
class ListenerEndpoint:
    """What ``@kafka_listener`` declared: the handler and how its container should consume."""

    id: str
    handler: Callable[..., Any]
    topics: tuple[str, ...]
    group_id: str | None
    concurrency: int = 1
    batch: bool = False
    auto_startup: bool = True
    properties: dict[str, Any] = field(default_factory=dict)
    invoker: HandlerInvoker = field(init=False, repr=False)

    def __post_init__(self) -> None:
        if not self.topics:
            raise ValueError(f"listener {self.id!r} needs at least one topic")
        if self.concurrency < 1:
            raise ValueError(f"listener {self.id!r}: concurrency must be at least 1")
        # Resolved at declaration: a handler whose parameters cannot be injected fails at import.
        self.invoker = HandlerInvoker(self.handler, batch=self.batch)


def kafka_listener(
    *topics: str,
    group_id: str | None = None,
    id: str | None = None,
    concurrency: int = 1,
    batch: bool = False,
    auto_startup: bool = True,
    registry: ListenerRegistry | None = None,
    **properties: Any,
) -> Callable[[Handler], Handler]:
    """Register the decorated function as a listener; nothing starts until the registry starts.

    Topics and ``group_id`` may hold ``${ENV_VAR:default}`` placeholders, resolved at start.
    Extra keyword arguments are consumer properties (``auto_offset_reset``, ``max_poll_records``…).
    """

    def register(handler: Handler) -> Handler:
        from shared.registry import default_registry  # noqa: PLC0415 - registry imports us

        endpoint = ListenerEndpoint(
            id=id or handler.__name__,
            handler=handler,
            topics=topics,
            group_id=group_id,
            concurrency=concurrency,
            batch=batch,
            auto_startup=auto_startup,
            properties=properties,
        )
        (registry or default_registry).register(endpoint)
        return handler

    return register
