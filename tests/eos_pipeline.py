"""An exactly-once consume → transform → produce process, for tests that kill it.

``python -m tests.eos_pipeline BOOTSTRAP INPUT OUTPUT GROUP PARTITIONS``: reads INPUT's partitions
(explicitly assigned, so a restart resumes at once), writes ``{"n": n, "double": 2n}`` to OUTPUT,
and commits both in one transaction per poll.
"""

from __future__ import annotations

import asyncio
import sys

from pydantic import BaseModel

from kafka_kit import kafka_listener
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import ConsumerSettings, KafkaSettings
from kafka_kit.template import KafkaTemplate


class Number(BaseModel):
    n: int


async def main(bootstrap: str, source: str, target: str, group: str, partitions: int) -> None:
    registry = ListenerRegistry()

    @kafka_listener(
        partitions=[(source, p) for p in range(partitions)],
        group_id=group,
        transactional=True,
        max_poll_records=20,
        registry=registry,
    )
    async def double(number: Number, key: bytes | None, template: KafkaTemplate) -> None:
        await asyncio.sleep(0.002)  # some work, so a kill lands mid-batch
        await template.send(target, {"n": number.n, "double": 2 * number.n}, key=key)

    settings = KafkaSettings(
        bootstrap_servers=bootstrap,
        client_id=f"eos-{group}",
        consumer=ConsumerSettings(poll_timeout_ms=200),
    )
    await registry.start(settings)
    print("started", flush=True)
    await asyncio.Event().wait()


if __name__ == "__main__":
    bootstrap, source, target, group, partitions = sys.argv[1:6]
    asyncio.run(main(bootstrap, source, target, group, int(partitions)))
