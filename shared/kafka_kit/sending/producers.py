"""The template's one producer: started, replaced when a send broke it, retired, stopped."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from aiokafka import AIOKafkaProducer

from kafka_kit._internal.clients import start_bounded, stop_bounded
from kafka_kit.errors import TemplateNotStartedError
from kafka_kit.settings import KafkaSettings

__all__ = ["ProducerSlot"]

log = logging.getLogger("kafka_kit.template")


class ProducerSlot:
    """Holds the producer sends go to; a replacement takes the slot before the old one closes.

    Args:
        settings: How producers connect and produce.
        transactional_id: Makes each producer transactional.
        on_new: Called with each new producer (the template watches its metadata).
        retire_timeout_s: How long a replaced producer may take to flush and close.
    """

    def __init__(
        self,
        settings: KafkaSettings,
        transactional_id: str | None,
        on_new: Callable[[AIOKafkaProducer], None],
        retire_timeout_s: float,
    ) -> None:
        self.settings = settings
        self.transactional_id = transactional_id
        self._on_new = on_new
        self._retire_timeout_s = retire_timeout_s
        self.current: AIOKafkaProducer | None = None
        """The producer in the slot; ``None`` before start and after stop."""
        self.replacements = 0
        """How often a send broke the producer and it was replaced."""
        self._replacing = asyncio.Lock()
        self._retiring: set[asyncio.Task[None]] = set()

    def require(self) -> AIOKafkaProducer:
        """The producer; :class:`TemplateNotStartedError` before start or after stop."""
        if self.current is None:
            raise TemplateNotStartedError("the template is not started")
        return self.current

    async def start(self) -> None:
        """Connect a producer (bounded by the request timeout), unless one runs."""
        if self.current is None:
            self.current = await self._new()

    async def _new(self) -> AIOKafkaProducer:
        producer = AIOKafkaProducer(**self.settings.producer_config(self.transactional_id))
        await start_bounded(producer, self.settings, "the template's producer")
        self._on_new(producer)
        return producer

    def replaced_since(self, used: AIOKafkaProducer | None) -> bool:
        """Whether the slot holds another producer than ``used`` now (and may retry there).

        Args:
            used: The producer a send used.
        """
        return used is not None and self.current is not None and self.current is not used

    async def replace(self, broken: AIOKafkaProducer, cause: BaseException) -> None:
        """A new producer (id, epoch, sequences) in place of ``broken``, once however many sends
        saw it break. The old one finishes what it holds in the background, then closes.

        Args:
            broken: The producer a send broke.
            cause: What broke it, for the log line.
        """
        async with self._replacing:
            if self.current is not broken:
                return  # replaced already, or the template stopped
            log.warning(
                "the template's producer is replaced: a send left it unusable (%s: %s)",
                type(cause).__name__,
                cause,
            )
            # The new one first: a send the old one refuses as it closes finds a successor (and
            # a transactional one fences the old, whose open transaction the broker aborts).
            self.current = await self._new()
            task = asyncio.create_task(stop_bounded(broken, self._retire_timeout_s))
            self._retiring.add(task)
            task.add_done_callback(self._retiring.discard)
            self.replacements += 1

    async def try_replace(self, producer: AIOKafkaProducer, cause: BaseException) -> bool:
        """:meth:`replace`, or a warning if no new producer could start (the next try is at the
        next failure); whether it was replaced.

        Args:
            producer: The producer a send broke.
            cause: What broke it.
        """
        try:
            await self.replace(producer, cause)
        except Exception as exc:  # noqa: BLE001 - the next failure tries again
            log.warning("the template's producer could not be replaced yet: %r", exc)
            return False
        return True

    async def stop(self, flush_timeout_s: float) -> None:
        """Flush and close the producer (at most ``flush_timeout_s``), and every retired one.

        Args:
            flush_timeout_s: How long the producer may take to flush.
        """
        producer, self.current = self.current, None
        if producer is not None:
            await stop_bounded(producer, flush_timeout_s)
        if self._retiring:
            await asyncio.gather(*self._retiring, return_exceptions=True)
