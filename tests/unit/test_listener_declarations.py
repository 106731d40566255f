import pytest

from kafka_kit import KafkaTemplate, ListenerRegistry, kafka_listener
from kafka_kit.errors import ListenerDeclarationError


async def handler(value: str, template: KafkaTemplate) -> None: ...


def test_a_transactional_listener_of_assigned_partitions_names_its_group() -> None:
    registry = ListenerRegistry()
    # Explicit partitions with a group: the transaction commits the offsets for that group.
    kafka_listener(partitions=[("t", 0)], group_id="g", transactional=True, registry=registry)(
        handler
    )
    assert registry.endpoints["handler"].transactional
    with pytest.raises(ListenerDeclarationError, match="assigned partitions: a group_id"):
        kafka_listener(partitions=[("t", 0)], id="no-group", transactional=True,
                       registry=registry)(handler)  # fmt: skip


def test_a_subscribed_transactional_listener_may_take_the_default_group() -> None:
    registry = ListenerRegistry()
    kafka_listener("t", transactional=True, registry=registry)(handler)  # group at start
    assert registry.endpoints["handler"].group_id is None
