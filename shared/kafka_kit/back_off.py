"""Back-off policies: how long to wait before the next delivery attempt, and when to give up."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

__all__ = ["BackOff", "ExponentialBackOff", "FixedBackOff"]


class BackOff(Protocol):
    """Delay before retry number ``attempt`` (1 after the first failure); ``None``: give up."""

    def delay_s(self, attempt: int) -> float | None:
        """Seconds to wait, or ``None`` when the attempts are used up."""
        ...


@dataclass(frozen=True)
class FixedBackOff:
    """The same delay each time; ``max_attempts`` deliveries in all (``None``: no limit)."""

    interval_s: float = 1.0
    max_attempts: int | None = 10

    def delay_s(self, attempt: int) -> float | None:
        """``interval_s`` while attempts remain."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        return self.interval_s


@dataclass(frozen=True)
class ExponentialBackOff:
    """``initial_s``, then times ``multiplier`` each attempt, capped at ``max_s``."""

    initial_s: float = 1.0
    multiplier: float = 2.0
    max_s: float = 30.0
    max_attempts: int | None = 10

    def delay_s(self, attempt: int) -> float | None:
        """The growing delay while attempts remain."""
        if self.max_attempts is not None and attempt >= self.max_attempts:
            return None
        try:
            delay = self.initial_s * self.multiplier ** (attempt - 1)
        except OverflowError:  # attempt 5000 of a retry-forever policy
            delay = self.max_s
        return min(delay, self.max_s)
