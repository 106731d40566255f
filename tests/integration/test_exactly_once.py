"""Exactly-once consume → transform → produce with a transactional listener, on a real broker."""

from __future__ import annotations

import json
from collections import Counter

from pydantic import BaseModel

from kafka_kit import kafka_listener
from kafka_kit.recovery.back_off import FixedBackOff
from kafka_kit.recovery.dead_letter import DeadLetterPublishingRecoverer
from kafka_kit.recovery.error_handler import DefaultErrorHandler
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate
from kafka_kit.testing import committed_offsets, wait_until
from tests.app_helpers import started
from tests.kafka_helpers import create_topic, produce, read_to_end


class Number(BaseModel):
    n: int


async def test_output_and_input_offsets_commit_together(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    source, target, group = f"{topic_name}-in", f"{topic_name}-out", f"g-{topic_name}"
    await create_topic(bootstrap, source, partitions=2)
    await create_topic(bootstrap, target, partitions=2)
    await produce(bootstrap, source, [json.dumps({"n": n}).encode() for n in range(40)])
    registry = ListenerRegistry()
    failed_once: set[int] = set()

    @kafka_listener(
        source,
        group_id=group,
        transactional=True,
        max_poll_records=10,
        error_handler=DefaultErrorHandler(back_off=FixedBackOff(0.1, None)),
        registry=registry,
    )
    async def double(number: Number, template: KafkaTemplate) -> None:
        await template.send(target, {"n": number.n, "double": 2 * number.n})
        if number.n % 7 == 3 and number.n not in failed_once:
            failed_once.add(number.n)  # fail after sending: that output must be aborted
            raise RuntimeError("transform failed after writing")

    async with started(registry, listener_settings):

        async def all_committed() -> bool:
            offsets = await committed_offsets(bootstrap, group)
            return sum(offsets.get((source, p), 0) for p in (0, 1)) == 40

        await wait_until(all_committed, 60, "every input offset committed")
    committed = await read_to_end(bootstrap, target, isolation_level="read_committed")
    everything = await read_to_end(bootstrap, target, isolation_level="read_uncommitted")
    outputs = Counter(json.loads(r.value)["n"] for r in committed)
    assert outputs == Counter(range(40))  # each input exactly once, aborted attempts invisible
    assert all(json.loads(r.value)["double"] == 2 * json.loads(r.value)["n"] for r in committed)
    assert len(everything) > len(committed)  # the aborted writes are in the log, not visible
    metrics = registry.container("double").children[0].metrics
    assert metrics.retries >= len(failed_once) > 0


async def test_a_transactional_listener_recovers_the_failing_record_once(
    listener_settings: KafkaSettings, topic_name: str
) -> None:
    bootstrap = listener_settings.bootstrap_servers
    source, target, group = f"{topic_name}-in", f"{topic_name}-out", f"g-{topic_name}"
    for topic in (source, target, f"{source}-dlt"):
        await create_topic(bootstrap, topic)
    await produce(bootstrap, source, [json.dumps({"n": n}).encode() for n in range(6)])
    registry = ListenerRegistry()
    attempts: list[int] = []

    async with KafkaTemplate(listener_settings) as dead_letters:

        @kafka_listener(
            source,
            group_id=group,
            transactional=True,
            error_handler=DefaultErrorHandler(
                DeadLetterPublishingRecoverer(dead_letters), FixedBackOff(0.1, 1)
            ),
            registry=registry,
        )
        async def double(number: Number, template: KafkaTemplate) -> None:
            await template.send(target, {"n": number.n, "double": 2 * number.n})
            if number.n == 3:
                attempts.append(number.n)
                raise ValueError("three cannot be doubled")

        async with started(registry, listener_settings):

            async def all_committed() -> bool:
                return (await committed_offsets(bootstrap, group)).get((source, 0)) == 6

            await wait_until(all_committed, 60, "every input committed, the failed one too")
    letters = await read_to_end(bootstrap, f"{source}-dlt")
    committed = await read_to_end(bootstrap, target, isolation_level="read_committed")
    # Two deliveries (FixedBackOff(0.1, 1): one retry), then the failing record — not the
    # poll's first — goes to the dead-letter topic once; every other input's output is visible
    # exactly once.
    assert attempts == [3, 3]
    assert [json.loads(r.value) for r in letters] == [{"n": 3}]
    assert sorted(json.loads(r.value)["n"] for r in committed) == [0, 1, 2, 4, 5]
