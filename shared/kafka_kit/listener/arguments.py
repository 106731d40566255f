"""Call a listener function with the arguments its signature asks for (payload, record, key…).

Each parameter is resolved once, when the listener is declared, in this order:

1. an explicit marker, ``Annotated[int, RecordOffset]`` (also ``RecordKey``, ``RecordTopic``,
   ``RecordPartition``, ``RecordTimestamp``, ``RecordHeaders``, ``DeliveryCount``, ``Payload``);
2. a dependency, which is always marked: ``Annotated[Store, Inject]`` (looked up by type among the
   registry's ``dependencies``) or ``Depends(get_store)`` (FastAPI's, called per record as a route
   calls it; see :mod:`kafka_kit.listener.depends`);
3. ``Acknowledgment`` (or ``ShareAcknowledgment``), ``ConsumerRecord`` (a list), the template;
4. a record field by the parameter's name — ``key``, ``topic``, ``partition``, ``offset``,
   ``timestamp``, ``headers`` (plural for batch listeners), ``delivery_count`` — when it fits;
5. the payload, never marked: a pydantic model, a dataclass, a ``TypedDict``, ``bytes``, ``str``,
   ``dict``, ``list``, a JSON scalar or a generic/union of them (one per handler).

So the annotation always wins (``offset: Order`` is the payload), parameters come in any order,
and a signature that cannot be served fails at declaration, naming the parameter.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import inspect
import sys
import types
import typing
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Annotated, Any

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel

from kafka_kit.ack import Acknowledgment
from kafka_kit.errors import (
    BatchListenerFailedError,
    DeserializationError,
    ListenerDeclarationError,
)
from kafka_kit.listener.depends import DependencyCall, depends_of, type_hints
from kafka_kit.listener.markers import (
    Inject,
    Payload,
    RecordField,
    RecordHeaders,
    RecordKey,
    RecordOffset,
    RecordPartition,
    RecordTimestamp,
    RecordTopic,
    ValueDeserializer,
)
from kafka_kit.serialization import converter
from kafka_kit.type_mapping import TypeMapping

__all__ = [
    "HandlerInvoker",
    "Inject",
    "Payload",
    "RecordField",
    "RecordHeaders",
    "RecordKey",
    "RecordOffset",
    "RecordPartition",
    "RecordTimestamp",
    "RecordTopic",
    "ValueDeserializer",
]

Record = ConsumerRecord[bytes, bytes]
Resolver = Callable[[Record], Any]
_FIELDS: dict[str, Resolver] = {
    "topic": lambda r: r.topic,
    "partition": lambda r: r.partition,
    "offset": lambda r: r.offset,
    "timestamp": lambda r: r.timestamp,
    "headers": lambda r: dict(r.headers),
    # Share-group records carry it; elsewhere every record is delivered once as far as it knows.
    "delivery_count": lambda r: getattr(r, "delivery_count", 1),
}
# Which annotations a field accepts when only the parameter's name points at it.
_FITS: dict[str, tuple[Any, ...]] = {
    "key": (str, bytes),
    "topic": (str,),
    "partition": (int,),
    "offset": (int,),
    "timestamp": (int,),
    "headers": (dict, Mapping),
    "delivery_count": (int,),
}
_PAYLOAD_TYPES = (BaseModel, bytes, str, dict, list, int, float, bool)


def _without_none(annotation: Any) -> Any:
    """``X | None`` → ``X``; anything else unchanged."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        rest = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(rest) == 1:
            return rest[0]
    return annotation


def _is_acknowledgment(annotation: Any) -> bool:
    kind = _without_none(annotation)
    return isinstance(kind, type) and issubclass(kind, Acknowledgment)


def _is_record_type(annotation: Any) -> bool:
    return annotation is ConsumerRecord or typing.get_origin(annotation) is ConsumerRecord


def _marker(annotation: Any) -> tuple[Any, RecordField | None]:
    """The annotation without ``Annotated``, and the marker it carried, if any."""
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        return base, next((e for e in extras if isinstance(e, RecordField)), None)
    return annotation, None


def _fits(field: str, annotation: Any) -> bool:
    if annotation is Any:
        return True
    plain = _without_none(annotation)
    origin = typing.get_origin(plain) or plain
    return isinstance(origin, type) and issubclass(origin, _FITS[field])


def _is_payload_type(annotation: Any) -> bool:
    plain = _without_none(annotation)
    if plain is Any or typing.get_origin(plain) is not None:
        return True  # list[Order], dict[str, int], Order | Refund…: pydantic validates them
    if dataclasses.is_dataclass(plain) or typing.is_typeddict(plain):
        return True
    return isinstance(plain, type) and issubclass(plain, _PAYLOAD_TYPES)


def _is_template(annotation: Any) -> bool:
    # Looked up, not imported: the template imports much, and an annotation can only name it
    # once its module is loaded.
    module = sys.modules.get("kafka_kit.template")
    return module is not None and _without_none(annotation) is module.KafkaTemplate


def _key_resolver(annotation: Any) -> Resolver:
    if _without_none(annotation) is bytes:
        return lambda r: r.key
    return lambda r: None if r.key is None else r.key.decode(errors="replace")


def _payload_resolver(
    annotation: Any,
    deserializer: ValueDeserializer | None,
    handler: str,
    type_mapping: TypeMapping | None = None,
) -> Resolver:
    if deserializer is None:
        convert = converter(_without_none(annotation))
    else:

        def convert(raw: bytes | None) -> Any:
            try:
                return deserializer(raw)
            except DeserializationError:
                raise
            except Exception as exc:
                # The deserializer could not read it: a poison pill, as for the default one.
                raise DeserializationError(f"{handler}: {type(exc).__name__}: {exc}", raw) from exc

    if type_mapping is None:

        def payload(record: Record) -> Any:
            return convert(record.value)

        return payload
    typed = {token: converter(kind) for token, kind in type_mapping.types.items()}
    known = ", ".join(sorted(typed))

    def typed_payload(record: Record) -> Any:
        token, _ = type_mapping.type_of(record.headers)
        if token is None:
            return convert(record.value)  # no type header: the annotation decides
        parse = typed.get(token)
        if parse is None:
            raise DeserializationError(
                f"{handler}: no type is mapped to __TypeId__ {token!r} (mapped: {known})",
                record.value,
            )
        return parse(record.value)

    return typed_payload


class UnreadableRecordError(BatchListenerFailedError):
    """Record ``index`` of a batch could not be converted: the handler was not called at all."""


class HandlerInvoker:
    """Resolves a handler's parameters once, then invokes it per record (or per batch).

    Args:
        handler: The listener function.
        batch: It takes a poll's records as a list.
        value_deserializer: Turns raw values into the payload (JSON/pydantic by the annotation when
            omitted).
        type_mapping: ``__TypeId__`` token → payload model.
    """

    def __init__(
        self,
        handler: Callable[..., Any],
        *,
        batch: bool = False,
        value_deserializer: ValueDeserializer | None = None,
        type_mapping: TypeMapping | None = None,
    ) -> None:
        self.handler = handler
        self.batch = batch
        self.is_async = inspect.iscoroutinefunction(handler)
        self._resolvers: list[tuple[str, Resolver]] = []
        self._ack_parameters: list[str] = []
        self.acknowledgment_type: type[Acknowledgment] = Acknowledgment
        """The acknowledgment class the handler asks for (or ``ShareAcknowledgment``)."""
        self.payload_type: Any = None  # what the value is taken as (a batch: one element's)
        self._dependencies: list[tuple[str, type]] = []
        self._calls: list[tuple[str, DependencyCall]] = []
        hints = type_hints(handler)
        parameters = inspect.signature(handler).parameters
        payload: str | None = None
        for name, parameter in parameters.items():
            depends = depends_of(hints.get(name, Any), parameter.default)
            if depends is not None:
                self._calls.append((name, DependencyCall(depends, where=handler.__qualname__)))
                continue
            annotation, marker = _marker(hints.get(name, Any))
            element = self._element_type(name, annotation) if batch else annotation
            resolver = self._resolver(name, element, marker)
            if resolver is _PAYLOAD:
                if payload is not None:
                    raise TypeError(
                        f"{handler.__qualname__}: cannot inject parameter {name!r}: "
                        f"{payload!r} already takes the payload (one per handler)"
                    )
                payload, self.payload_type = name, element
                resolver = _payload_resolver(
                    element, value_deserializer, handler.__qualname__, type_mapping
                )
            if resolver is _ACK:
                self._ack_parameters.append(name)
            elif resolver is _DEPENDENCY:
                self._dependencies.append((name, _without_none(annotation)))
            else:
                self._resolvers.append((name, resolver))
        self._only_argument = self._single_positional(parameters)

    def _resolver(self, name: str, annotation: Any, marker: RecordField | None) -> Resolver:
        # Batch listeners name their lists in the plural: keys, offsets, partitions…
        singular = name[:-1] if self.batch and name.endswith("s") and name != "headers" else name
        if marker is not None:
            if marker.name == "dependency":
                return _DEPENDENCY
            return self._field(marker.name, annotation)
        if _is_acknowledgment(annotation):
            self.acknowledgment_type = _without_none(annotation)
            return _ACK
        if _is_record_type(annotation):
            return lambda r: r
        if _is_template(annotation):
            return _DEPENDENCY  # the registry's template (a transaction's, when transactional)
        if singular in _FITS and _fits(singular, annotation):
            return self._field(singular, annotation)
        if _is_payload_type(annotation):
            return _PAYLOAD
        kind = getattr(_without_none(annotation), "__name__", repr(annotation))
        raise ListenerDeclarationError(
            f"{self.handler.__qualname__}: cannot inject parameter {name!r} annotated "
            f"{annotation!r}: it is no payload type (a pydantic model, dataclass, TypedDict, str, "
            "bytes, dict, list or JSON scalar), record field or ConsumerRecord. A dependency is "
            f"marked: {name}: Annotated[{kind}, Inject] (given to the registry's start as "
            f"dependencies={{{kind}: ...}}) or {name}: {kind} = Depends(a_function)"
        )

    @staticmethod
    def _field(field: str, annotation: Any) -> Resolver:
        if field == "payload":
            return _PAYLOAD
        if field == "key":
            return _key_resolver(annotation)
        return _FIELDS[field]

    def _element_type(self, name: str, annotation: Any) -> Any:
        base, _ = _marker(annotation)
        if base is Any or _is_acknowledgment(base):
            return annotation
        if typing.get_origin(base) in (list, Sequence, typing.Sequence):
            args = typing.get_args(base)
            return args[0] if args else Any
        if isinstance(base, type) and not _is_payload_type(base):
            return annotation  # a dependency is one object, not a list
        raise TypeError(
            f"{self.handler.__qualname__}: parameter {name!r} of a batch listener is a list, "
            f"not {annotation!r}"
        )

    def _single_positional(self, parameters: Mapping[str, inspect.Parameter]) -> Resolver | None:
        """The common handler — one argument per record, first and positional, nothing else
        injected — is called positionally, without building keyword arguments per record."""
        first = next(iter(parameters.values()), None)
        if (
            not self.batch
            and self.is_async
            and len(self._resolvers) == 1
            and not self._ack_parameters
            and not self._dependencies
            and not self._calls
            and first is not None
            and first.name == self._resolvers[0][0]
            and first.kind in (first.POSITIONAL_ONLY, first.POSITIONAL_OR_KEYWORD)
        ):
            return self._resolvers[0][1]
        return None

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
        records: Record | list[Any],
        acknowledgment: Acknowledgment | None = None,
        dependencies: Mapping[type, Any] | None = None,
    ) -> Awaitable[Any]:
        """Call the handler; a sync handler runs in a worker thread, off the event loop.

        Returns the handler's own awaitable, not a coroutine wrapping it: this runs once per
        record, and a frame fewer is a real part of a no-op handler's cost. Arguments are
        resolved (and payloads converted) at the call, so conversion errors raise there.

        Args:
            records: One record, or a batch's list.
            acknowledgment: For manual ack modes.
            dependencies: What ``Annotated[T, Inject]`` parameters receive, by type.
        """
        if self._only_argument is not None:
            awaitable: Awaitable[Any] = self.handler(self._only_argument(records))  # type: ignore[arg-type]
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
                    # Only this record is a poison pill; the handler has not seen any record yet.
                    raise UnreadableRecordError(index, exc) from exc
        else:
            assert not isinstance(records, list)
            kwargs = {name: resolve(records) for name, resolve in self._resolvers}
        for name in self._ack_parameters:
            kwargs[name] = acknowledgment
        for name, kind in self._dependencies:
            kwargs[name] = (dependencies or {})[kind]
        if self._calls:
            return self._call_with_depends(records, kwargs, dependencies or {})
        if self.is_async:
            return self.handler(**kwargs)  # type: ignore[no-any-return]
        return asyncio.to_thread(self.handler, **kwargs)

    async def _call_with_depends(
        self, records: Record | list[Any], kwargs: dict[str, Any], dependencies: Mapping[type, Any]
    ) -> Any:
        # One scope per call: each dependency runs once (cached, as in a request), and those
        # that yield are closed after the handler, in reverse order, seeing its exception.
        async with contextlib.AsyncExitStack() as scope:
            cache: dict[Any, Any] = {}
            for name, call in self._calls:
                kwargs[name] = await call.solve(records, dependencies, scope, cache)
            if self.is_async:
                return await self.handler(**kwargs)
            return await asyncio.to_thread(self.handler, **kwargs)


def _sentinel(what: str) -> Resolver:
    def never(record: Record) -> Any:
        raise AssertionError(f"{what} is not resolved from the record")

    return never


_PAYLOAD = _sentinel("the payload")
_ACK = _sentinel("an acknowledgment")
_DEPENDENCY = _sentinel("a dependency")
