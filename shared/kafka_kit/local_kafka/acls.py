"""ACLs on a secured cluster, granted with Kafka's own ``kafka-acls``.

The secured launcher cluster has a super user (``admin``) and an application user (``app``) that
may do nothing until granted. :func:`service_acls` is what a service on the kit needs, given its
names (the kit assumes none):

- writing its topics and their dead-letter and retry topics: each topic name as a prefix, every
  operation (creating them included);
- listeners reading their groups (share groups: also setting their configs, which the kit does
  at start); stream applications creating, reading and writing their
  outputs, changelogs and repartition topics (the application id's prefixes) under transactions
  (every transactional id); the lag monitor describing every topic and group and reading
  ``__consumer_offsets``;
- the cluster: create topics, describe it, idempotent writes.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from kafka_kit.errors import KafkaLaunchError

__all__ = ["Acl", "grant_acls", "service_acls"]

ACL_COMMAND = "org.apache.kafka.tools.AclCommand"

ResourceType = Literal["topic", "group", "transactional-id", "cluster"]

CLUSTER_OPERATIONS = ("Create", "Describe", "DescribeConfigs", "IdempotentWrite")


@dataclass(frozen=True)
class Acl:
    """Allow ``operations`` on a resource: one name, a prefix, or ``*`` (every name)."""

    resource_type: ResourceType
    """``topic``, ``group``, ``transactional-id`` or ``cluster``."""
    name: str
    """The resource's name, a prefix, or ``*``."""
    operations: tuple[str, ...]
    """Kafka's operation names (``Read``, ``Write``, ``All``…)."""
    prefixed: bool = False
    """``name`` is a prefix."""

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
        """The whole ``kafka-acls`` line, to run by hand (as a super user).

        Args:
            principal: ``User:<name>``.
        """
        quoted = [f"'{a}'" if a == "*" else a for a in self.arguments()]
        return " ".join(
            ["kafka-acls --bootstrap-server … --command-config admin.properties --add",
             "--allow-principal", principal, *quoted]
        )  # fmt: skip


def service_acls(
    *,
    topics: Iterable[str],
    groups: Iterable[str],
    streams_applications: Iterable[str] = (),
    share_groups: Iterable[str] = (),
) -> list[Acl]:
    """What a service on the kit needs to write ``topics`` (each a prefix: its DLT and retry
    topics too), read as ``groups`` and run ``streams_applications``.

    Args:
        topics: Topics the service writes (each a prefix).
        groups: Consumer groups it reads as.
        streams_applications: Stream application ids it runs (their output, changelog and
            repartition topics, and their groups).
        share_groups: Share groups it reads as (KIP-932).
    """
    everything = ("All",)
    applications = list(streams_applications)
    own = [
        *(Acl("topic", topic, everything, prefixed=True) for topic in topics),
        *(
            Acl("topic", f"{prefix}{application}", everything, prefixed=True)
            for application in applications
            for prefix in ("", "changelog__", "repartition__")
        ),
    ]
    return [
        *own,
        Acl("topic", "*", ("Describe", "DescribeConfigs")),
        Acl("topic", "__consumer_offsets", ("Read",)),
        *(Acl("group", group, ("Read", "Describe")) for group in (*groups, *applications)),
        *(
            Acl("group", group, ("Read", "Describe", "DescribeConfigs", "AlterConfigs"))
            for group in share_groups
        ),
        Acl("group", "*", ("Describe",)),
        Acl("transactional-id", "*", ("Write", "Describe")),
        Acl(
            "cluster", "kafka-cluster", ("Create", "Describe", "DescribeConfigs", "IdempotentWrite")
        ),
    ]


def grant_acls(
    java: Callable[..., list[str]],
    bootstrap_servers: str,
    admin_config: Path,
    user: str,
    acls: Iterable[Acl],
) -> list[str]:
    """Allow ``user`` everything ``acls`` name, as the admin whose client properties are in
    ``admin_config``; the ``kafka-acls`` lines that did it, to show or to run elsewhere.

    One ``kafka-acls`` run per pattern type and set of operations (each run starts a JVM).

    Args:
        java: Builds a Java command line (:class:`~kafka_kit.local_kafka.jvm.JavaCommand`).
        bootstrap_servers: The cluster.
        admin_config: The admin's client properties (``--command-config``).
        user: The SCRAM user to allow.
        acls: What to allow.
    """
    given = list(acls)
    runs: dict[tuple[bool, tuple[str, ...]], list[Acl]] = {}
    for acl in given:
        runs.setdefault((acl.prefixed, acl.operations), []).append(acl)
    for together in runs.values():
        arguments = [
            "--bootstrap-server", bootstrap_servers, "--command-config", str(admin_config),
            "--add", "--allow-principal", f"User:{user}",
            *(a for acl in together for a in acl.resource()), *together[0].rest(),
        ]  # fmt: skip
        done = subprocess.run(
            java(ACL_COMMAND, *arguments), capture_output=True, text=True, timeout=120, check=False
        )
        if done.returncode != 0:
            raise KafkaLaunchError(f"kafka-acls failed: {done.stdout[-2000:]}{done.stderr[-2000:]}")
    return [acl.command(f"User:{user}") for acl in given]
