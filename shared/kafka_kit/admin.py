"""Topic administration (Spring's ``KafkaAdmin`` + ``TopicBuilder``): declare topics, ensure them.

At service start-up every declared topic is created when missing, its partitions are raised when
there are fewer, and its configs are updated when they differ. Kafka cannot remove partitions, so
a declaration with fewer partitions than the topic has is an error, not a silent no-op.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Iterable, Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from aiokafka.admin import AIOKafkaAdminClient, NewPartitions
from aiokafka.admin import NewTopic as _AdminNewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import (
    ClusterAuthorizationFailedError,
    TopicAlreadyExistsError,
    TopicAuthorizationFailedError,
    for_code,
)
from aiokafka.protocol.metadata import MetadataRequest

from kafka_kit._internal.clients import start_bounded, stop_bounded
from kafka_kit.errors import KafkaAuthorizationError, TopicDeclarationError
from kafka_kit.settings import KafkaSettings

__all__ = ["KafkaAdmin", "NewTopic", "TopicChanges"]


log = logging.getLogger(__name__)

DYNAMIC_TOPIC_CONFIG = 1
"""``config_source`` of a config set on the topic itself (not a broker or default value)."""


@dataclass(frozen=True)
class NewTopic:
    """A topic declaration; the helpers return a new declaration (like Spring's ``TopicBuilder``).

    ``NewTopic("orders", 6, 3).retention(days=7).min_insync_replicas(2)``; partitions or
    replication factor left out (``None``) take the broker's ``num.partitions`` and
    ``default.replication.factor``, as Spring's ``NewTopic`` without them does.
    """

    name: str
    """The topic's name (Kafka's rules: 1 to 249 of ``a-zA-Z0-9._-``)."""
    partitions: int | None = None
    """How many partitions (ensuring raises them, never lowers them)."""
    replication_factor: int | None = None
    """Copies of each partition, on that many brokers."""
    configs: Mapping[str, str] = field(default_factory=dict)
    """Topic configs by Kafka's names (``retention.ms``, ``cleanup.policy``…)."""

    def config(self, name: str, value: str | int) -> NewTopic:
        """Any topic config.

        Args:
            name: Kafka's name of the config (``segment.bytes``).
            value: Its value; numbers are written as text.
        """
        return replace(self, configs={**self.configs, name: str(value)})

    def retention(self, *, ms: int = 0, hours: float = 0, days: float = 0) -> NewTopic:
        """``retention.ms``: how long records are kept (``ms=-1`` keeps them forever).

        Args:
            ms: Milliseconds, added to the rest.
            hours: Hours, added to the rest.
            days: Days, added to the rest.
        """
        total = ms + int(hours * 3_600_000) + int(days * 86_400_000)
        return self.config("retention.ms", total)

    def cleanup_policy(self, policy: Literal["delete", "compact", "compact,delete"]) -> NewTopic:
        """``cleanup.policy``: delete old segments, or keep the latest record per key.

        Args:
            policy: ``delete`` (by age or size), ``compact`` (the latest per key) or both.
        """
        return self.config("cleanup.policy", policy)

    def compacted(self) -> NewTopic:
        """``cleanup.policy=compact``."""
        return self.cleanup_policy("compact")

    def min_insync_replicas(self, count: int) -> NewTopic:
        """``min.insync.replicas``: replicas that must have a write for ``acks=all`` to succeed.

        Args:
            count: At least 1; at most the replication factor (else no ``acks=all`` write
                succeeds).
        """
        return self.config("min.insync.replicas", count)


@dataclass
class TopicChanges:
    """What :meth:`KafkaAdmin.ensure_topics` changed."""

    created: list[str] = field(default_factory=list)
    """Topics that did not exist."""
    partitions_increased: dict[str, tuple[int, int]] = field(default_factory=dict)
    """Per topic: partitions before and after."""
    configs_updated: dict[str, dict[str, tuple[str | None, str]]] = field(default_factory=dict)
    """Per topic and config: the value before (``None``: not set on the topic) and after."""


async def broker_topic_defaults(client: AIOKafkaAdminClient) -> tuple[int, int]:
    """A broker's ``num.partitions`` and ``default.replication.factor``.

    What CreateTopics v4+ applies to a topic sent without them; aiokafka speaks v3, which
    requires both, so they are read from a broker first.
    """
    cluster = await client.describe_cluster()
    broker = str(min(b["node_id"] for b in cluster["brokers"]))
    wanted = {"num.partitions": None, "default.replication.factor": None}
    responses: list[Any] = await client.describe_configs(
        [ConfigResource(ConfigResourceType.BROKER, broker, wanted)]
    )
    values: dict[str, str] = {}
    for response in responses:
        for code, message, _, name, entries in response.resources:
            if code:
                raise for_code(code)(f"describing broker {name} failed: {message}")
            values.update({entry[0]: entry[1] for entry in entries})
    return int(values.get("num.partitions", 1)), int(values.get("default.replication.factor", 1))


def _led(topic: Mapping[str, Any]) -> bool:
    # A topic's metadata with every partition led: the broker that answered can serve it.
    parts = topic["partitions"]
    return not topic["error_code"] and bool(parts) and all(p["leader"] >= 0 for p in parts)


class KafkaAdmin:
    """Bounded topic administration over aiokafka's admin client.

    Args:
        settings: How to reach the cluster (``KAFKA_*`` when omitted); every call is bounded by
            its request timeout.
    """

    def __init__(self, settings: KafkaSettings | None = None) -> None:
        self.settings = settings or KafkaSettings()

    @property
    def _timeout_s(self) -> float:
        return self.settings.request_timeout_ms / 1000

    @contextlib.asynccontextmanager
    async def client(self) -> AsyncIterator[AIOKafkaAdminClient]:
        """A started admin client; a clear error when no broker answers in time."""
        client = AIOKafkaAdminClient(**self.settings.admin_config())
        await start_bounded(client, self.settings, "topic admin")
        try:
            yield client
        finally:
            await stop_bounded(client, self._timeout_s)

    async def topic_layout(self, topic: str) -> tuple[int, int]:
        """``(partitions, replication factor)`` of an existing topic (never creates it).

        Args:
            topic: The topic's name.
        """
        async with self.client() as client, asyncio.timeout(self._timeout_s):
            while True:
                # Asked for by name, a missing topic would be auto-created by the broker's
                # default (auto.create.topics.enable): look it up in the full list first.
                if topic not in await client.list_topics():
                    raise for_code(3)(f"topic {topic} does not exist")
                (described,) = await client.describe_topics([topic])
                if not described["error_code"] and described["partitions"]:
                    partitions = described["partitions"]
                    return len(partitions), len(partitions[0]["replicas"])
                # Listed by one broker, not yet known to the next one asked: a new topic.
                await asyncio.sleep(0.05)

    async def ensure_topics(self, topics: Iterable[NewTopic]) -> list[str]:
        """Make the declared topics exist as declared; return the names created.

        Args:
            topics: The declarations; missing topics are created, partitions and configs raised.
        """
        return (await self.reconcile_topics(topics)).created

    async def reconcile_topics(self, topics: Iterable[NewTopic]) -> TopicChanges:
        """Create missing topics, raise partition counts, update differing configs.

        Args:
            topics: The declarations to reconcile the cluster with.
        """
        wanted = {topic.name: topic for topic in topics}
        changes = TopicChanges()
        if not wanted:
            return changes
        async with self.client() as client:
            existing = set(await client.list_topics())
            await self._create(client, [t for n, t in wanted.items() if n not in existing], changes)
            present = [t for n, t in wanted.items() if n in existing]
            if present:
                await self._raise_partitions(client, present, changes)
                await self._update_configs(client, present, changes)
        for name in changes.created:
            log.info("created topic %s", name)
        for name, (old, new) in changes.partitions_increased.items():
            log.info("topic %s: partitions %d -> %d", name, old, new)
        for name, updated in changes.configs_updated.items():
            log.info("topic %s: configs updated %s", name, updated)
        return changes

    async def _create(
        self, client: AIOKafkaAdminClient, missing: list[NewTopic], changes: TopicChanges
    ) -> None:
        if not missing:
            return
        if any(t.partitions is None or t.replication_factor is None for t in missing):
            partitions, replication = await broker_topic_defaults(client)
            missing = [
                replace(
                    t,
                    partitions=t.partitions or partitions,
                    replication_factor=t.replication_factor or replication,
                )
                for t in missing
            ]
        # aiokafka's protocol responses declare their fields at run time: typed as Any here.
        response: Any = await client.create_topics(
            [
                _AdminNewTopic(
                    t.name, t.partitions, t.replication_factor, topic_configs=dict(t.configs)
                )
                for t in missing
            ]
        )
        for name, code, *rest in response.topic_errors:
            error = for_code(code)
            if code == 0:
                changes.created.append(name)
            elif error is not TopicAlreadyExistsError:  # another service was first: fine
                detail = rest[0] if rest and rest[0] else error.description
                if error in (TopicAuthorizationFailedError, ClusterAuthorizationFailedError):
                    raise KafkaAuthorizationError(
                        self.settings.principal, "Create", "Topic", name, "to create it"
                    )
                raise error(f"creating topic {name} failed: {detail}")
        await self._wait_for_leaders(client, changes.created)

    async def _wait_for_leaders(self, client: AIOKafkaAdminClient, names: list[str]) -> None:
        # Created is not yet usable: a topic is, once every partition has a leader that every
        # broker knows of. Each broker learns it from the controller in its own time, and a
        # client asks whichever broker it likes: without this, the next one may be told the
        # topic does not exist.
        if not names:
            return
        nodes = [broker["node_id"] for broker in (await client.describe_cluster())["brokers"]]
        async with asyncio.timeout(self._timeout_s):
            for node in nodes:
                pending = set(names)
                while pending:
                    response = await client._send_request_to_node(
                        node, MetadataRequest(sorted(pending))
                    )
                    for topic in response.to_object()["topics"]:
                        if _led(topic):
                            pending.discard(topic["topic"])
                    if pending:
                        await asyncio.sleep(0.05)

    async def _raise_partitions(
        self, client: AIOKafkaAdminClient, topics: list[NewTopic], changes: TopicChanges
    ) -> None:
        described = {d["topic"]: d for d in await client.describe_topics([t.name for t in topics])}
        grow: dict[str, NewPartitions] = {}
        for topic in topics:
            current = len(described[topic.name]["partitions"])
            if topic.partitions is None:
                continue  # the broker's default when created: nothing declared to reach
            if topic.partitions < current:
                raise TopicDeclarationError(
                    f"topic {topic.name} has {current} partitions but is declared with "
                    f"{topic.partitions}: Kafka cannot remove partitions. Declare {current} or "
                    "more, or create a new topic."
                )
            if topic.partitions > current:
                grow[topic.name] = NewPartitions(topic.partitions)
                changes.partitions_increased[topic.name] = (current, topic.partitions)
        if grow:
            response: Any = await client.create_partitions(grow)
            for name, code, message in response.topic_errors:
                if code:
                    raise for_code(code)(f"adding partitions to {name} failed: {message}")

    async def _update_configs(
        self, client: AIOKafkaAdminClient, topics: list[NewTopic], changes: TopicChanges
    ) -> None:
        declared = [t for t in topics if t.configs]
        if not declared:
            return
        current = await self.topic_configs(client, [t.name for t in declared])
        updates = []
        for topic in declared:
            values, dynamic = current[topic.name]
            differing = {
                key: (values.get(key), value)
                for key, value in topic.configs.items()
                if values.get(key) != value
            }
            if differing:
                changes.configs_updated[topic.name] = differing
                # AlterConfigs replaces the topic's whole dynamic config: keep what was set.
                updates.append(
                    ConfigResource(
                        ConfigResourceType.TOPIC, topic.name, {**dynamic, **topic.configs}
                    )
                )
        if updates:
            altered: list[Any] = await client.alter_configs(updates)
            for answer in altered:
                for code, message, _, name in answer.resources:
                    if code:
                        raise for_code(code)(f"updating configs of {name} failed: {message}")

    @staticmethod
    async def topic_configs(
        client: AIOKafkaAdminClient, names: list[str]
    ) -> dict[str, tuple[dict[str, str], dict[str, str]]]:
        """Per topic: every config value, and the ones set on the topic itself.

        Args:
            client: A started admin client (:meth:`client`).
            names: The topics.
        """
        responses: list[Any] = await client.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
        result: dict[str, tuple[dict[str, str], dict[str, str]]] = {}
        for response in responses:
            for code, message, _, name, entries in response.resources:
                if code:
                    raise for_code(code)(f"describing configs of {name} failed: {message}")
                values = {entry[0]: entry[1] for entry in entries}
                dynamic = {e[0]: e[1] for e in entries if e[3] == DYNAMIC_TOPIC_CONFIG}
                result[name] = (values, dynamic)
        return result

    async def exists(self, topic: str) -> bool:
        """Whether ``topic`` exists (asking does not create it).

        Args:
            topic: The topic's name.
        """
        async with self.client() as client:
            return topic in await client.list_topics()

    async def describe_topics(self, names: list[str] | None = None) -> list[dict[str, Any]]:
        """Topics with partitions: leader, replicas, in-sync replicas (all topics by default).

        Args:
            names: The topics; every topic when omitted.
        """
        async with self.client() as client:
            return list(await client.describe_topics(names))
