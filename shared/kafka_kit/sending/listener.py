"""Spring's ``ProducerListener``: hooks the template calls after each send."""

from __future__ import annotations

import logging
from typing import Protocol

from kafka_kit.records import ProducerRecord, SendResult

__all__ = ["LoggingProducerListener", "Notifier", "ProducerListener"]

log = logging.getLogger("kafka_kit.template")


class ProducerListener(Protocol):
    """Hooks called after each send (Spring's ``ProducerListener``)."""

    def on_success(self, record: ProducerRecord, result: SendResult) -> None:
        """The broker acknowledged ``record``.

        Args:
            record: The record as sent.
            result: Where it landed.
        """

    def on_error(self, record: ProducerRecord, exc: BaseException) -> None:
        """``record`` was not (known to be) written.

        Args:
            record: The record that failed.
            exc: Why (the cause of the ``KafkaSendError``).
        """


class LoggingProducerListener:
    """The default listener: logs failed sends, ignores successes."""

    def on_success(self, record: ProducerRecord, result: SendResult) -> None:
        """Nothing to do.

        Args:
            record: The record as sent.
            result: Where it landed.
        """

    def on_error(self, record: ProducerRecord, exc: BaseException) -> None:
        """Log the failed record's coordinates and the cause.

        Args:
            record: The record that failed.
            exc: Why.
        """
        log.error(
            "send failed: topic=%s partition=%s key=%r: %s: %s",
            record.topic,
            record.partition,
            record.key,
            type(exc).__name__,
            exc,
        )


class Notifier:
    """Calls a listener's hooks; a hook that raises is logged, never fails the send.

    Args:
        listener: The template's producer listener.
    """

    def __init__(self, listener: ProducerListener) -> None:
        self.listener = listener
        # The default listener ignores successes: do not call it a million times for nothing
        # (a subclass that overrides on_success is called).
        self.hears_successes = type(listener).on_success is not LoggingProducerListener.on_success

    def success(self, record: ProducerRecord, result: SendResult) -> None:
        """``on_success``, when the listener has one of its own.

        Args:
            record: The record as sent.
            result: Where it landed.
        """
        if not self.hears_successes:
            return
        try:
            self.listener.on_success(record, result)
        except Exception:
            log.exception("ProducerListener.on_success raised")

    def error(self, record: ProducerRecord, exc: BaseException) -> None:
        """``on_error``.

        Args:
            record: The record that failed.
            exc: Why.
        """
        try:
            self.listener.on_error(record, exc)
        except Exception:
            log.exception("ProducerListener.on_error raised")
