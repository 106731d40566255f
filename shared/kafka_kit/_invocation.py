"""Call a listener function with the arguments its signature asks for (payload, record, key…)."""

from __future__ import annotations

import asyncio
import inspect
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel

from kafka_kit.ack import Acknowledgment
from kafka_kit.errors import BatchListenerFailedError, DeserializationError
from kafka_kit.serialization import converter

ArgumentResolver = Callable[[ConsumerRecord[bytes, bytes]], Any]

_BY_NAME: dict[str, Callable[[ConsumerRecord[bytes, bytes]], Any]] = {
    "topic": lambda r: r.topic,
    "partition": lambda r: r.partition,
    "offset": lambda r: r.offset,
    "timestamp": lambda r: r.timestamp,
    "headers": lambda r: dict(r.headers),
}


def _is_record_type(annotation: Any) -> bool:
    return annotation is ConsumerRecord or typing.get_origin(annotation) is ConsumerRecord


def _without_none(annotation: Any) -> Any:
    """``X | None`` → ``X``; anything else unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _key_resolver(annotation: Any) -> Callable[[ConsumerRecord[bytes, bytes]], Any]:
    if _without_none(annotation) is bytes:
        return lambda r: r.key
    return lambda r: None if r.key is None else r.key.decode(errors="replace")


class HandlerInvoker:
    """Resolves a handler's parameters once, then invokes it per record (or per batch)."""

    def __init__(self, handler: Callable[..., Any], *, batch: bool = False) -> None:
        self.handler = handler
        self.batch = batch
        self.is_async = inspect.iscoroutinefunction(handler)
        hints = typing.get_type_hints(handler)
        self._resolvers: list[tuple[str, Any]] = []
        self._ack_parameters: list[str] = []
        self._dependencies: list[tuple[str, type]] = []
        payload_seen = False
        parameters = inspect.signature(handler).parameters
        for name, parameter in parameters.items():
            annotation = hints.get(name, parameter.annotation)
            if annotation is inspect.Parameter.empty:
                annotation = Any
            if _without_none(annotation) is Acknowledgment:
                self._ack_parameters.append(name)
                continue
            if payload_seen and _is_dependency(annotation) and name not in _BY_NAME:
                # Anything else typed with a class is provided by the registry (a store, a
                # template…), looked up by its type when the handler is called.
                self._dependencies.append((name, annotation))
                continue
            element = self._element_type(annotation) if batch else annotation
            # A batch handler names its lists in the plural: keys, offsets, partitions…
            singular = name[:-1] if batch and name.endswith("s") and name != "headers" else name
            if _is_record_type(element):
                resolver: Any = lambda r: r  # noqa: E731
            elif singular == "key":
                resolver = _key_resolver(element)
            elif singular in _BY_NAME:
                resolver = _BY_NAME[singular]
            elif not payload_seen:
                payload_seen = True
                resolver = _payload_resolver(converter(_without_none(element)))
            else:
                raise TypeError(
                    f"{handler.__qualname__}: cannot inject parameter {name!r}: a handler takes "
                    "one payload plus any of ConsumerRecord, Acknowledgment, key, topic, "
                    "partition, offset, timestamp, headers"
                )
            self._resolvers.append((name, resolver))
        # The common handler — one argument per record, first and positional, nothing else
        # injected — is called positionally, without building keyword arguments per record.
        first = next(iter(parameters.values()), None)
        self._only_argument: Any = (
            self._resolvers[0][1]
            if not batch
            and self.is_async
            and len(self._resolvers) == 1
            and not self._ack_parameters
            and not self._dependencies
            and first is not None
            and first.name == self._resolvers[0][0]
            and first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD)
            else None
        )

    @staticmethod
    def _element_type(annotation: Any) -> Any:
        if typing.get_origin(annotation) in (list, Sequence, typing.Sequence):
            args = typing.get_args(annotation)
            return args[0] if args else Any
        raise TypeError(f"a batch listener's parameters are lists, not {annotation!r}")

    @property
    def dependencies(self) -> list[type]:
        """Types the handler wants injected from the registry's dependencies."""
        return [kind for _, kind in self._dependencies]

    @property
    def takes_acknowledgment(self) -> bool:
        """Whether the handler declares an ``Acknowledgment`` parameter."""
        return bool(self._ack_parameters)

    def invoke(
        self,
        records: ConsumerRecord[bytes, bytes] | list[Any],
        acknowledgment: Acknowledgment | None = None,
        dependencies: Mapping[type, Any] | None = None,
    ) -> Awaitable[Any]:
        """Call the handler; a sync handler runs in a worker thread, off the event loop.

        Returns the handler's own awaitable, not a coroutine wrapping it: this runs once per
        record, and a frame fewer is a real part of a no-op handler's cost. Arguments are
        resolved (and payloads converted) at the call, so conversion errors raise there.
        """
        if self._only_argument is not None:
            awaitable: Awaitable[Any] = self.handler(self._only_argument(records))
            return awaitable
        kwargs: dict[str, Any]
        if self.batch:
            assert isinstance(records, list)
            kwargs = {name: [] for name, _ in self._resolvers}
            for index, record in enumerate(records):
                try:
                    for name, resolve in self._resolvers:
                        kwargs[name].append(resolve(record))
                except DeserializationError as exc:
                    # Only this record is a poison pill; the ones before it can be committed.
                    raise BatchListenerFailedError(index, exc) from exc
        else:
            kwargs = {name: resolve(records) for name, resolve in self._resolvers}
        if self._ack_parameters:
            for name in self._ack_parameters:
                kwargs[name] = acknowledgment
        if self._dependencies:
            for name, kind in self._dependencies:
                kwargs[name] = (dependencies or {})[kind]
        if self.is_async:
            awaitable = self.handler(**kwargs)
            return awaitable
        return asyncio.to_thread(self.handler, **kwargs)


def _is_dependency(annotation: Any) -> bool:
    return (
        isinstance(annotation, type)
        and not _is_record_type(annotation)
        and not issubclass(annotation, BaseModel | bytes | str | dict | list)
    )


def _payload_resolver(
    convert: Callable[[bytes | None], Any],
) -> Callable[[ConsumerRecord[bytes, bytes]], Any]:
    def payload(record: ConsumerRecord[bytes, bytes]) -> Any:
        return convert(record.value)

    return payload
