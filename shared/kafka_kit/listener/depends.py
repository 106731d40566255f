"""``Depends(...)`` in listener parameters: FastAPI's dependencies, called per record.

A listener parameter declared as in a route — ``store: Store = Depends(get_store)`` or
``Annotated[Store, Depends(get_store)]`` — gets what the function returns, called for each record
(each batch, for batch listeners) the way FastAPI calls it for each request:

- a dependency's own parameters may be ``Depends(...)`` (sub-dependencies), the record
  (``ConsumerRecord``; a list of them for batch listeners), a registry dependency
  (``Annotated[T, Inject]``), or have a default;
- each runs once per record even when several parameters ask for it (``use_cache=False``: every
  time);
- sync functions run in a worker thread; a function that ``yield``\\ s is set up before the handler
  and closed after it, in reverse order, seeing the handler's exception;
- ``Depends()`` without a function calls the parameter's annotated class.

Works with FastAPI's ``Depends`` (and any object with ``dependency`` and ``use_cache``, such as
FastDepends'), without importing FastAPI. What only a request has — query and path parameters,
the ``Request``, security schemes — is no listener's, and the web app's ``dependency_overrides``
do not reach listeners: a test replaces a dependency by giving the listener a different function
or by ``Inject``-ing what varies.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import typing
from collections.abc import Callable, Mapping
from types import TracebackType
from typing import Annotated, Any

from aiokafka.structs import ConsumerRecord

from kafka_kit.errors import ListenerDeclarationError

__all__ = ["DependencyCall", "depends_of", "type_hints"]


def type_hints(function: Callable[..., Any]) -> dict[str, Any]:
    """``function``'s resolved annotations; a clear error when a name in them cannot be found.

    Args:
        function: A handler or dependency.
    """
    try:
        return typing.get_type_hints(function, include_extras=True)
    except NameError as exc:
        where = getattr(function, "__qualname__", repr(function))
        raise ListenerDeclarationError(
            f"{where}: its annotations cannot be resolved ({exc}); with `from __future__ "
            "import annotations` they are looked up in the module, so what they name must be "
            "defined (or imported) at module level"
        ) from exc


def _is_depends(value: object) -> bool:
    return hasattr(value, "dependency") and hasattr(value, "use_cache")


def depends_of(annotation: Any, default: object) -> Any | None:
    """The ``Depends(...)`` a parameter declares (its default, or in its ``Annotated``), if any.

    ``Depends()`` without a function gets the annotation's class as its function.

    Args:
        annotation: The parameter's annotation.
        default: Its default.
    """
    base = annotation
    found: Any = default if _is_depends(default) else None
    if typing.get_origin(annotation) is Annotated:
        base, *extras = typing.get_args(annotation)
        found = found or next((extra for extra in extras if _is_depends(extra)), None)
    if found is None:
        return None
    if found.dependency is None:
        return _Declared(base, found.use_cache)
    return found


class _Declared:
    """``Depends()`` with its function filled in from the annotation."""

    def __init__(self, dependency: Callable[..., Any], use_cache: bool) -> None:
        self.dependency = dependency
        self.use_cache = use_cache


_RECORD = object()


class DependencyCall:
    """One ``Depends(...)``: its function and where each of its parameters comes from.

    Args:
        depends: FastAPI's ``Depends(...)`` marker.
        where: The handler parameter it serves, for errors.
    """

    def __init__(self, depends: Any, *, where: str) -> None:
        self.function: Callable[..., Any] = depends.dependency
        self.use_cache: bool = bool(depends.use_cache)
        name = getattr(self.function, "__qualname__", repr(self.function))
        self._sources: list[tuple[str, Any]] = []
        target = self.function
        # A class is called through its __init__; its hints are there.
        hints = type_hints(target.__init__ if inspect.isclass(target) else target)
        for parameter_name, parameter in inspect.signature(target).parameters.items():
            annotation = hints.get(parameter_name, Any)
            sub = depends_of(annotation, parameter.default)
            if sub is not None:
                self._sources.append((parameter_name, DependencyCall(sub, where=where)))
                continue
            source = _source(annotation)
            if source is not None:
                self._sources.append((parameter_name, source))
            elif parameter.default is inspect.Parameter.empty and parameter.kind not in (
                parameter.VAR_POSITIONAL,
                parameter.VAR_KEYWORD,
            ):
                raise ListenerDeclarationError(
                    f"{where}: dependency {name} asks for {parameter_name!r} ({annotation!r}), "
                    "which a listener cannot give: a dependency's parameters are Depends(...), "
                    "the ConsumerRecord, Annotated[T, Inject] or have a default"
                )

    async def solve(
        self,
        records: Any,
        dependencies: Mapping[type, Any],
        scope: contextlib.AsyncExitStack,
        cache: dict[Any, Any],
    ) -> Any:
        """Call the function (once per ``cache`` when ``use_cache``); close it with ``scope``.

        Args:
            records: The record (or batch) being handled.
            dependencies: What ``Inject`` parameters receive.
            scope: Closes ``yield`` dependencies after the handler.
            cache: Results of this handler call so far.
        """
        if self.use_cache and self.function in cache:
            return cache[self.function]
        kwargs: dict[str, Any] = {}
        for name, source in self._sources:
            if isinstance(source, DependencyCall):
                kwargs[name] = await source.solve(records, dependencies, scope, cache)
            elif source is _RECORD:
                kwargs[name] = records
            else:
                kwargs[name] = dependencies[source]
        value = await _call(self.function, kwargs, scope)
        if self.use_cache:
            cache[self.function] = value
        return value


def _source(annotation: Any) -> Any | None:
    """Where a dependency function's parameter comes from: the record, a registry dependency."""
    base: Any = annotation
    extras: tuple[Any, ...] = ()
    if typing.get_origin(annotation) is Annotated:
        base, *rest = typing.get_args(annotation)
        extras = tuple(rest)
    plain = typing.get_origin(base) or base
    if plain is ConsumerRecord or (plain is list and _is_record_list(base)):
        return _RECORD
    if any(getattr(extra, "name", None) == "dependency" for extra in extras):
        return base
    return None


def _is_record_list(annotation: Any) -> bool:
    (element, *_) = typing.get_args(annotation) or (None,)
    return (typing.get_origin(element) or element) is ConsumerRecord


async def _call(
    function: Callable[..., Any], kwargs: dict[str, Any], scope: contextlib.AsyncExitStack
) -> Any:
    if inspect.isasyncgenfunction(function):
        manager = contextlib.asynccontextmanager(function)(**kwargs)
        return await scope.enter_async_context(manager)
    if inspect.isgeneratorfunction(function):
        # As FastAPI does: a sync generator's set-up and tear-down run in a worker thread.
        sync = contextlib.contextmanager(function)(**kwargs)
        value = await asyncio.to_thread(sync.__enter__)

        async def close(
            kind: type[BaseException] | None,
            error: BaseException | None,
            trace: TracebackType | None,
        ) -> bool:
            return bool(await asyncio.to_thread(sync.__exit__, kind, error, trace))

        scope.push_async_exit(close)
        return value
    if inspect.iscoroutinefunction(function):
        return await function(**kwargs)
    return await asyncio.to_thread(function, **kwargs)
