"""What a topic's broker accepts: the timestamp range and the record size, from its configs.

Kafka 4 refuses a ``CreateTime`` record whose timestamp is more than
``message.timestamp.after.max.ms`` (default one hour) ahead of the broker's clock or more than
``message.timestamp.before.max.ms`` behind it, and one larger than ``max.message.bytes``. Inside a
transaction such a refusal breaks the whole transaction, so a stream application checks before
it produces.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["TopicLimits"]

_NO_LIMIT = 2**63 - 1
_SKEW_MS = 60_000
"""Room for the difference between this machine's clock and the broker's."""


@dataclass(frozen=True)
class TopicLimits:
    """The limits one topic's broker applies to the records written to it."""

    after_max_ms: int = 3_600_000
    """How far ahead of the broker's clock a timestamp may be (Kafka 4's default: one hour)."""
    before_max_ms: int = _NO_LIMIT
    """How far behind it (Kafka's default: no limit)."""
    max_record_bytes: int = 1_048_588
    """The largest record batch the topic takes (``max.message.bytes``)."""
    log_append_time: bool = False
    """The broker stamps records itself: their own timestamps are never checked."""

    @classmethod
    def of(cls, configs: Mapping[str, str | None]) -> TopicLimits:
        """From a topic's ``DescribeConfigs`` answer; what is missing keeps Kafka's default.

        Args:
            configs: Config name to value, as ``DescribeConfigs`` answers.
        """
        defaults = cls()

        def number(name: str, default: int) -> int:
            value = configs.get(name)
            try:
                return int(value) if value is not None else default
            except ValueError:
                return default

        # Before Kafka 3.6 one setting bounded both directions.
        either = number("message.timestamp.difference.max.ms", _NO_LIMIT)
        after_default = min(either, defaults.after_max_ms)
        return cls(
            after_max_ms=number("message.timestamp.after.max.ms", after_default),
            before_max_ms=number("message.timestamp.before.max.ms", either),
            max_record_bytes=number("max.message.bytes", defaults.max_record_bytes),
            log_append_time=configs.get("message.timestamp.type") == "LogAppendTime",
        )

    def timestamp_problem(self, timestamp_ms: int, now_ms: int) -> str | None:
        """Why the broker would refuse ``timestamp_ms`` now; ``None`` if it would take it.

        Refused a minute before the broker's own limit: this clock and the broker's differ.

        Args:
            timestamp_ms: The record's timestamp (epoch ms).
            now_ms: The time now, as the broker would see it (epoch ms).
        """
        if self.log_append_time:
            return None
        if timestamp_ms < 0:
            return f"timestamp {timestamp_ms} is before 1970 (Kafka timestamps are not negative)"
        ahead = timestamp_ms - now_ms
        if ahead > max(self.after_max_ms - _SKEW_MS, 0):
            return (
                f"timestamp {timestamp_ms} is {ahead} ms ahead of now; the topic takes at most "
                f"{self.after_max_ms} ms (message.timestamp.after.max.ms)"
            )
        if -ahead > max(self.before_max_ms - _SKEW_MS, 0) and self.before_max_ms < _NO_LIMIT:
            return (
                f"timestamp {timestamp_ms} is {-ahead} ms behind now; the topic takes at most "
                f"{self.before_max_ms} ms (message.timestamp.before.max.ms)"
            )
        return None

    def size_problem(self, size: int) -> str | None:
        """Why a record of ``size`` bytes is too large for the topic; ``None`` if it fits.

        Args:
            size: The record's size as the producer writes it, in bytes.
        """
        if size > self.max_record_bytes:
            limit = self.max_record_bytes
            return f"{size} bytes, larger than the topic's max.message.bytes {limit}"
        return None
