import pytest

from kafka_kit._placeholders import resolve_placeholders
from kafka_kit.errors import UnresolvedPlaceholderError


def test_value_from_environment_wins_over_default() -> None:
    assert resolve_placeholders("${TOPIC:events}", {"TOPIC": "orders"}) == "orders"


def test_default_is_used_when_unset() -> None:
    assert resolve_placeholders("${TOPIC:events}", {}) == "events"
    assert resolve_placeholders("${TOPIC:}", {}) == ""


def test_several_placeholders_and_plain_text() -> None:
    env = {"APP": "shop", "ENV": "prod"}
    assert resolve_placeholders("${APP}-${ENV}-dlt", env) == "shop-prod-dlt"
    assert resolve_placeholders("plain", env) == "plain"


def test_missing_without_default_is_an_error() -> None:
    with pytest.raises(UnresolvedPlaceholderError, match="NOPE"):
        resolve_placeholders("${NOPE}", {})
