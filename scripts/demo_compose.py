"""What ``./dev demo`` hands to Docker Compose: the settings it checked, for the services that read
them.

The compose file's services see only the variables it names. ``./dev demo`` checks the settings
in the shell's environment before anything starts, so it passes those on to the services that
read them, through an override file given after ``docker-compose.yml``. Where the compose
cluster's own wiring must win (its brokers, its listeners' security), a variable is left out and
the demo says so.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path

from consumer_service.app import SETTINGS as CONSUMER_SETTINGS
from kafka_kit.settings import setting_rows
from producer_service.app import SETTINGS as PRODUCER_SETTINGS

SERVICES = {"producer": PRODUCER_SETTINGS, "consumer": CONSUMER_SETTINGS}
"""The compose file's services, each with the settings classes it reads."""

CLUSTER_OWN = ("KAFKA_BOOTSTRAP_SERVERS", "KAFKA_SECURITY_PROTOCOL", "KAFKA_SSL_", "KAFKA_SASL_")
"""Prefixes of what the compose cluster decides itself: its brokers and how they are reached."""


def compose_environment(
    environ: Mapping[str, str],
) -> tuple[dict[str, dict[str, str]], list[str]]:
    """Per service, the settings of ``environ`` it reads; and the names left out for the cluster.

    Args:
        environ: The shell's environment (already checked).
    """
    given: dict[str, dict[str, str]] = {}
    left_out: set[str] = set()
    for service, classes in SERVICES.items():
        for row in setting_rows(*classes):
            if row.name not in environ:
                continue
            if row.name.startswith(CLUSTER_OWN):
                left_out.add(row.name)
                continue
            given.setdefault(service, {})[row.name] = environ[row.name]
    return given, sorted(left_out)


def write_override(environment: dict[str, dict[str, str]], folder: Path) -> Path:
    """A compose file that adds ``environment`` to its services (JSON is YAML).

    Args:
        environment: Per service, the variables to add.
        folder: Where to write it.
    """
    override = {"services": {name: {"environment": values} for name, values in environment.items()}}
    path = folder / "docker-compose.demo.json"
    path.write_text(json.dumps(override, indent=2))
    return path
