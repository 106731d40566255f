"""Back-off policies: how long to wait before the next delivery attempt, and when to give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["BackOff", "ExponentialBackOff", "FixedBackOff"]


class BackOff(Protocol):
    """Delay before retry number ``attempt`` (1 after the first failure); ``None``: give up."""

    def delay_s(self, attempt: int) -> float | None:
        """Seconds to wait, or ``None`` when the retries are used up.

        Args:
            attempt: The retry about to be made: 1 after the first failed delivery.
        """
        ...


@dataclass(frozen=True)
class FixedBackOff:
    """The same delay each time; up to ``max_retries`` retries (``None``: no limit).

    As Spring's ``FixedBackOff(interval, maxAttempts)``, the limit counts retries, not
    deliveries: ``FixedBackOff(1.0, 3)`` delivers a failing record four times.
    """

    interval_s: float = 1.0
    """Seconds before each retry."""
    max_retries: int | None = 9
    """Retries after the first delivery; ``None``: retry without end."""

    def delay_s(self, attempt: int) -> float | None:
        """``interval_s`` while retries remain.

        Args:
            attempt: The retry about to be made: 1 after the first failed delivery.
        """
        if self.max_retries is not None and attempt > self.max_retries:
            return None
        return self.interval_s


@dataclass(frozen=True)
class ExponentialBackOff:
    """``initial_s``, then times ``multiplier`` each retry, capped at ``max_s``.

    ``max_retries`` counts retries after the first delivery, as Spring's ``maxAttempts`` does.
    """

    initial_s: float = 1.0
    """Seconds before the first retry."""
    multiplier: float = 2.0
    """Each delay is the one before times this."""
    max_s: float = 30.0
    """No delay is longer."""
    max_retries: int | None = 9
    """Retries after the first delivery; ``None``: retry without end."""

    def delay_s(self, attempt: int) -> float | None:
        """The growing delay while retries remain.

        Args:
            attempt: The retry about to be made: 1 after the first failed delivery.
        """
        if self.max_retries is not None and attempt > self.max_retries:
            return None
        try:
            delay = self.initial_s * self.multiplier ** (attempt - 1)
        except OverflowError:  # attempt 5000 of a retry-forever policy
            delay = self.max_s
        return min(delay, self.max_s)
