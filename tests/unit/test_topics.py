import pytest

from kafka_kit.errors import TopicNotAllowedError
from kafka_kit.web.topic_policy import TopicPolicy, is_internal_topic


def test_default_and_allowed_topics() -> None:
    policy = TopicPolicy("events", ["audit"])
    assert policy.resolve(None) == "events"
    assert policy.resolve("events") == "events"
    assert policy.resolve("audit") == "audit"
    with pytest.raises(TopicNotAllowedError, match="allowed topics are"):
        policy.resolve("payments")


@pytest.mark.parametrize("topic", ["__consumer_offsets", "__transaction_state", "__anything"])
def test_internal_topics_are_refused_even_when_allow_listed(topic: str) -> None:
    assert is_internal_topic(topic)
    with pytest.raises(TopicNotAllowedError, match="internal"):
        TopicPolicy("events", [topic]).resolve(topic)
