"""The pinned Kafka works with aiokafka for every protocol feature the product relies on."""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewPartitions, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.structs import TopicPartition

from kafka_kit.testing import wait_until


async def test_produce_with_each_acks_setting(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    # The topic exists first: an acks=0 write racing topic auto-creation is lost unnoticed.
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic_name, 1, 1)])
    await admin.close()
    results = {}
    for acks in (0, 1, "all"):
        producer = AIOKafkaProducer(
            bootstrap_servers=kafka_bootstrap_servers,
            acks=acks,
            enable_idempotence=acks == "all",
            compression_type="gzip",
        )
        await producer.start()
        try:
            results[acks] = await producer.send_and_wait(topic_name, b"x", partition=0)
        finally:
            await producer.stop()
    assert results[0] is None  # acks=0: the producer never hears where the record went
    # Nor when: its request can be appended after a later producer's, so only the set is known.
    assert {results[1].offset, results["all"].offset} < {0, 1, 2}
    consumer = AIOKafkaConsumer(bootstrap_servers=kafka_bootstrap_servers)
    await consumer.start()
    try:
        tp = TopicPartition(topic_name, 0)

        async def arrived() -> bool:
            return bool((await consumer.end_offsets([tp]))[tp] >= 3)

        await wait_until(arrived, 10, "the acks=0 record")
    finally:
        await consumer.stop()


async def _read(consumer: AIOKafkaConsumer, wanted: int) -> list[bytes | None]:
    got: list[bytes | None] = []

    async def read_all() -> bool:
        batch = await consumer.getmany(timeout_ms=1000)
        got.extend(r.value for rs in batch.values() for r in rs)
        return len(got) >= wanted

    await wait_until(read_all, 15, lambda: f"{wanted} records, got {got}", 0)
    return got


async def test_transactions_hide_aborted_records(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=kafka_bootstrap_servers, transactional_id=topic_name
    )
    await producer.start()
    try:
        async with producer.transaction():
            await producer.send_and_wait(topic_name, b"committed")
        transaction = producer.transaction()
        await transaction.__aenter__()
        await producer.send_and_wait(topic_name, b"aborted")
        await transaction.__aexit__(RuntimeError, RuntimeError("abort"), None)
        async with producer.transaction():
            await producer.send_and_wait(topic_name, b"after")
    finally:
        await producer.stop()
    values = {}
    for isolation in ("read_committed", "read_uncommitted"):
        consumer = AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=kafka_bootstrap_servers,
            auto_offset_reset="earliest",
            isolation_level=isolation,
        )
        await consumer.start()
        try:
            values[isolation] = await _read(consumer, 2 if isolation == "read_committed" else 3)
        finally:
            await consumer.stop()
    assert values["read_committed"] == [b"committed", b"after"]
    assert values["read_uncommitted"] == [b"committed", b"aborted", b"after"]


async def test_admin_operations(kafka_bootstrap_servers: str, topic_name: str) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics(
            [NewTopic(topic_name, 2, 1, topic_configs={"retention.ms": "100000"})]
        )
        await admin.create_partitions({topic_name: NewPartitions(4)})

        async def grown() -> bool:
            # KRaft: the broker answering applies the change from the metadata log a moment after
            # the controller accepted it, so an immediate read may still show the old state.
            (described,) = await admin.describe_topics([topic_name])
            return len(described["partitions"]) == 4

        await wait_until(grown, 30, "four partitions")
        resource = ConfigResource(
            ConfigResourceType.TOPIC, topic_name, configs={"retention.ms": "200000"}
        )
        await admin.alter_configs([resource])

        async def altered() -> bool:
            # The same for configs.
            (response,) = await admin.describe_configs(
                [ConfigResource(ConfigResourceType.TOPIC, topic_name)]
            )
            configs = {entry[0]: entry[1] for entry in response.resources[0][4]}
            return configs["retention.ms"] == "200000"

        await wait_until(altered, 30, "retention.ms altered")

        consumer = AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=kafka_bootstrap_servers,
            group_id=topic_name,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            await consumer.getmany(timeout_ms=2000)
            tp = TopicPartition(topic_name, 0)
            await consumer.commit({tp: 0})
            assert await consumer.end_offsets([tp]) == {tp: 0}
            assert await consumer.offsets_for_times({tp: 0}) == {tp: None}
            (group,) = await admin.describe_consumer_groups([topic_name])
            assert group.groups[0][2] == "Stable"
        finally:
            await consumer.stop()
        offsets = await admin.list_consumer_group_offsets(topic_name)
        assert offsets[TopicPartition(topic_name, 0)].offset == 0
        assert (topic_name, "consumer") in await admin.list_consumer_groups()
    finally:
        await admin.delete_topics([topic_name])
        await admin.close()
