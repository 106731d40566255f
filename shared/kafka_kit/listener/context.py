"""What error handlers and recoverers know of the listener whose record failed."""

from __future__ import annotations

from typing import Protocol

from kafka_kit.listener.observer import Outcome

__all__ = ["ListenerContext"]


class ListenerContext(Protocol):
    """The listener a failed record belongs to; ``count`` reports outcomes to its observers."""

    @property
    def listener_id(self) -> str:
        """The listener's id (``@kafka_listener(id=...)``)."""
        ...

    @property
    def client_id(self) -> str:
        """The consumer's client id (one per container)."""
        ...

    @property
    def group_id(self) -> str | None:
        """The consumer group, or ``None`` for explicitly assigned partitions without one."""
        ...

    def count(self, outcome: Outcome, records: int = 1) -> None:
        """Report ``records`` records that ended with ``outcome`` (e.g. ``dead_lettered``).

        Args:
            outcome: How they ended (``dead_lettered``, ``recovered``…).
            records: How many.
        """
        ...
