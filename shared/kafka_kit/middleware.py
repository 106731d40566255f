"""Middlewares: code around every handle and every send (logging, metrics, tracing).

.. code-block:: python

    class Timing(Middleware):
        async def on_handle(self, records, call_next):
            started = time.perf_counter()
            try:
                return await call_next(records)
            finally:
                log.info("handled in %.3f s", time.perf_counter() - started)

A listener's middlewares (``middlewares=[...]``, also from a preset or the app) see what the
handler is given — a ``ConsumerRecord``, or the list of them for a batch listener — and return
what it returned or raise what it raised; a template's (``KafkaTemplate(middlewares=[...])``)
see each :class:`~kafka_kit.template.ProducerRecord` and its
:class:`~kafka_kit.template.SendResult`. The first in the list is the outermost. Both methods
pass through unless overridden (FastStream's ``BaseMiddleware`` consume and publish scopes).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from kafka_kit.records import ProducerRecord, SendResult

__all__ = ["Middleware", "around"]


class Middleware:
    """Around every handle (``on_handle``) and every send (``on_send``)."""

    async def on_handle(self, records: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        """Around one handler call: ``records`` is a ``ConsumerRecord`` or a batch's list.

        Args:
            records: A ``ConsumerRecord``, or a batch listener's list.
            call_next: Calls the next middleware, then the handler; returns its result.
        """
        return await call_next(records)

    async def on_send(
        self,
        record: ProducerRecord,
        call_next: Callable[[ProducerRecord], Awaitable[SendResult]],
    ) -> SendResult:
        """Around one send: the record as it goes to the producer, and its result.

        Args:
            record: The record as it goes to the producer.
            call_next: Sends it (through the next middleware); returns its result.
        """
        return await call_next(record)


Inner = Callable[[Any], Awaitable[Any]]


def around(inner: Inner, middlewares: Sequence[Middleware], method: str = "on_handle") -> Inner:
    """``inner`` wrapped by ``middlewares`` (the first outermost); ``inner`` itself if none.

    Args:
        inner: The call to wrap.
        middlewares: Outermost first.
        method: ``on_handle`` or ``on_send``.
    """
    call = inner
    for middleware in reversed(middlewares):
        call = _wrapped(getattr(middleware, method), call)
    return call


def _wrapped(step: Callable[[Any, Inner], Awaitable[Any]], call_next: Inner) -> Inner:
    async def call(value: Any) -> Any:
        return await step(value, call_next)

    return call
