"""The ACLs the two services need on a secured cluster, as Kafka's own ``kafka-acls`` grants them.

The secured launcher cluster has a super user (``admin``) and an application user (``app``) that
may do nothing until granted. What the services do, and so what ``app`` is granted:

- the producer creates and writes the events topic (and its dead-letter topic): the events
  topic's prefix, every operation;
- the consumer's listeners read their groups and write dead letters and retries (the events
  prefix again), the stream topology creates, reads and writes its outputs, changelogs and
  repartition topics (its application id's prefixes) under transactions (every transactional
  id), the lag monitor describes every topic and group and reads ``__consumer_offsets``;
- the cluster: create topics, describe it, idempotent writes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

__all__ = ["Acl", "service_acls"]

ResourceType = Literal["topic", "group", "transactional-id", "cluster"]

CLUSTER_OPERATIONS = ("Create", "Describe", "DescribeConfigs", "IdempotentWrite")


@dataclass(frozen=True)
class Acl:
    """Allow ``operations`` on a resource: one name, a prefix, or ``*`` (every name)."""

    resource_type: ResourceType
    name: str
    operations: tuple[str, ...]
    prefixed: bool = False

    def resource(self) -> list[str]:
        """``kafka-acls`` arguments naming the resource."""
        if self.resource_type == "cluster":
            return ["--cluster"]
        return [f"--{self.resource_type}", self.name]

    def rest(self) -> list[str]:
        """``kafka-acls`` arguments for the pattern type and the operations."""
        pattern = ["--resource-pattern-type", "prefixed"] if self.prefixed else []
        return [*pattern, *(a for op in self.operations for a in ("--operation", op))]

    def arguments(self) -> list[str]:
        """``kafka-acls`` arguments naming the resource and the operations (not the principal)."""
        return [*self.resource(), *self.rest()]

    def command(self, principal: str) -> str:
        """The whole ``kafka-acls`` line, to run by hand (as a super user)."""
        quoted = [f"'{a}'" if a == "*" else a for a in self.arguments()]
        return " ".join(
            ["kafka-acls --bootstrap-server … --command-config admin.properties --add",
             "--allow-principal", principal, *quoted]
        )  # fmt: skip


def service_acls(
    events_topic: str = "events",
    streams_application: str = "event-stats",
    groups: Iterable[str] = ("event-log", "order-changes"),
) -> list[Acl]:
    """What the producer and consumer services need, with these names of theirs."""
    everything = ("All",)
    own = [
        Acl("topic", events_topic, everything, prefixed=True),
        Acl("topic", streams_application, everything, prefixed=True),
        Acl("topic", f"changelog__{streams_application}", everything, prefixed=True),
        Acl("topic", f"repartition__{streams_application}", everything, prefixed=True),
    ]
    return [
        *own,
        Acl("topic", "*", ("Describe", "DescribeConfigs")),
        Acl("topic", "__consumer_offsets", ("Read",)),
        *(Acl("group", group, ("Read", "Describe")) for group in (*groups, streams_application)),
        Acl("group", "*", ("Describe",)),
        Acl("transactional-id", "*", ("Write", "Describe")),
        Acl(
            "cluster", "kafka-cluster", ("Create", "Describe", "DescribeConfigs", "IdempotentWrite")
        ),
    ]
