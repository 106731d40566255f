"""Which topics a client may write to: an allow-list, and never Kafka's internal topics."""

from __future__ import annotations

from collections.abc import Iterable

from kafka_kit.errors import TopicNotAllowedError

__all__ = ["INTERNAL_TOPIC_PREFIX", "TopicPolicy", "is_internal_topic"]


INTERNAL_TOPIC_PREFIX = "__"


def is_internal_topic(topic: str) -> bool:
    """Kafka's own topics (``__consumer_offsets``, ``__transaction_state``…) start with ``__``.

    Args:
        topic: A topic name.
    """
    return topic.startswith(INTERNAL_TOPIC_PREFIX)


class TopicPolicy:
    """Resolves the topic of a write request: the default, or an allowed one.

    Args:
        default_topic: Where writes go without ``?topic=``.
        allowed: Other topics a request may name (``PRODUCER_ALLOWED_TOPICS``).
    """

    def __init__(self, default_topic: str, allowed: Iterable[str] = ()) -> None:
        self.default_topic = default_topic
        self.allowed = frozenset({default_topic, *allowed})

    def resolve(self, requested: str | None) -> str:
        """The topic to write to; raises :class:`TopicNotAllowedError`.

        Args:
            requested: The ``?topic=`` of the request (``None``: the default).
        """
        topic = self.default_topic if requested is None else requested
        # Checked first: an allow-list entry cannot open an internal topic.
        if is_internal_topic(topic):
            raise TopicNotAllowedError(topic, "internal Kafka topics are never writable")
        if topic not in self.allowed:
            raise TopicNotAllowedError(topic, f"allowed topics are {sorted(self.allowed)}")
        return topic
