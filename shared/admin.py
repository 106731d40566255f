"""Topic administration: declare topics and have them exist when a service starts."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.admin import NewTopic as _AdminNewTopic
from aiokafka.errors import TopicAlreadyExistsError, for_code

from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class NewTopic:
    """A topic declaration: name, partitions, replication factor and topic configs."""

    name: str
    partitions: int = 1
    replication_factor: int = 1
    configs: dict[str, str] = field(default_factory=dict)


class KafkaAdmin:
    """A thin, bounded wrapper over aiokafka's admin client (Spring's ``KafkaAdmin``)."""

    def __init__(self, settings: KafkaSettings | None = None) -> None:
        self.settings = settings or KafkaSettings()

    @contextlib.asynccontextmanager
    async def _client(self):  # type: ignore[no-untyped-def]
        client = AIOKafkaAdminClient(
            bootstrap_servers=self.settings.bootstrap_servers,
            client_id=f"{self.settings.client_id}-admin",
            request_timeout_ms=self.settings.request_timeout_ms,
        )
        await asyncio.wait_for(client.start(), self.settings.request_timeout_ms / 1000)
        try:
            yield client
        finally:
            await client.close()

    async def topic_layout(self, topic: str) -> tuple[int, int]:
        """``(partitions, replication factor)`` of an existing topic."""
        async with self._client() as client:
            (described,) = await client.describe_topics([topic])
        if described["error_code"] or not described["partitions"]:
            raise for_code(described["error_code"] or 3)(f"topic {topic} does not exist")
        partitions = described["partitions"]
        return len(partitions), len(partitions[0]["replicas"])

    async def ensure_topics(self, topics: Iterable[NewTopic]) -> list[str]:
        """Create the declared topics that do not exist yet; return the names created."""
        wanted = list(topics)
        async with self._client() as client:
            existing = set(await client.list_topics())
            missing = [t for t in wanted if t.name not in existing]
            created = []
            if missing:
                response = await client.create_topics(
                    [
                        _AdminNewTopic(
                            t.name, t.partitions, t.replication_factor, topic_configs=t.configs
                        )
                        for t in missing
                    ]
                )
                for name, code, *rest in response.topic_errors:
                    error = for_code(code)
                    if code == 0:
                        created.append(name)
                    elif error is not TopicAlreadyExistsError:  # another service was first
                        detail = rest[0] if rest and rest[0] else error.description
                        raise error(f"creating topic {name} failed: {detail}")
        for name in created:
            log.info("created topic %s", name)
        return created
