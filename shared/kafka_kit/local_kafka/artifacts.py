"""Resolve Apache Kafka's jars from Maven Central into a cache outside the repository."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from kafka_kit.errors import KafkaArtifactsError

__all__ = [
    "CONNECT_VERSION",
    "DEBEZIUM_JDBC_SINK",
    "DEBEZIUM_POSTGRES",
    "DEBEZIUM_VERSION",
    "KAFKA_VERSION",
    "ConnectPlugin",
    "cache_root",
    "resolve_classpath",
    "resolve_connect_classpath",
    "resolve_debezium_plugin",
    "resolve_plugin",
]


KAFKA_VERSION = "4.4.0"
"""The Kafka version the project pins: the newest 4.x aiokafka was checked against (see README)."""

LOG4J_VERSION = "2.24.3"

CONNECT_VERSION = "4.3.1"
"""Kafka Connect's version: Maven Central serves ``connect-file`` (the file connectors) up to
4.3.1, and those need their own ``kafka-clients`` (4.4 moved ``AppInfoParser`` into
``internals``). Connect workers are clients: a 4.3.1 worker runs against the 4.4.0 broker."""

DEBEZIUM_VERSION = "3.6.1.Final"
"""Debezium's PostgreSQL connector, as its plugin archive (its plain jar's dependencies do not
all resolve from Maven Central)."""

DEBEZIUM_JDBC_VERSION = "3.6.0.Final"
"""Debezium's JDBC sink: Maven Central lists it up to 3.6.0 (not 3.6.1). A plugin folder has its
own class loader, so the two Debezium versions do not meet."""


@dataclass(frozen=True)
class ConnectPlugin:
    """A Connect plugin that Maven Central serves as a plugin archive (``tar.gz:plugin``)."""

    title: str
    """What progress output calls it."""
    artifact: str
    """Its ``group:artifact``."""
    version: str
    """The version resolved."""
    folder: str
    """Its folder in the cache (``<folder>-<version>``)."""


DEBEZIUM_POSTGRES = ConnectPlugin(
    "Debezium's PostgreSQL connector",
    "io.debezium:debezium-connector-postgres",
    DEBEZIUM_VERSION,
    "debezium-postgres",
)
"""The source: PostgreSQL's changes, read from its write-ahead log."""

DEBEZIUM_JDBC_SINK = ConnectPlugin(
    "Debezium's JDBC sink connector",
    "io.debezium:debezium-connector-jdbc",
    DEBEZIUM_JDBC_VERSION,
    "debezium-jdbc",
)
"""The sink: rows upserted and deleted in a database over JDBC (PostgreSQL's driver inside)."""


def _pom(what: str, artifact_id: str, version: str, dependencies: list[tuple[str, str]]) -> str:
    """A POM whose runtime dependencies are ``dependencies`` (``group:artifact``, version), plus
    the SLF4J-to-log4j binding: Kafka logs through SLF4J 1.x and prints nothing without one."""
    entries = [*dependencies, ("org.apache.logging.log4j:log4j-slf4j-impl", LOG4J_VERSION)]
    listed = "".join(
        f"    <dependency><groupId>{coordinates.split(':')[0]}</groupId>"
        f"<artifactId>{coordinates.split(':')[1]}</artifactId>"
        f"<version>{dependency_version}</version></dependency>\n"
        for coordinates, dependency_version in entries
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f"<!-- Written by kafka_kit.local_kafka: {what}. -->\n"
        '<project xmlns="http://maven.apache.org/POM/4.0.0">\n'
        "  <modelVersion>4.0.0</modelVersion>\n"
        f"  <groupId>local.kafka</groupId><artifactId>{artifact_id}</artifactId>\n"
        f"  <version>{version}</version><packaging>pom</packaging>\n"
        f"  <dependencies>\n{listed}  </dependencies>\n"
        "</project>\n"
    )


_COMPLETE_MARKER = ".complete"


def cache_root() -> Path:
    """The folder that holds resolved Kafka classpaths (``KAFKA_LOCAL_CACHE`` overrides it)."""
    configured = os.environ.get("KAFKA_LOCAL_CACHE")
    if configured:
        return Path(configured).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "kafka-local"


def resolve_classpath(
    version: str = KAFKA_VERSION,
    *,
    cache_dir: Path | None = None,
    timeout_s: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Return a folder holding every jar Kafka ``version`` needs, resolving it with Maven once.

    ``progress`` hears what is going on (a first run downloads for a minute or more).

    Args:
        version: The Kafka version.
        cache_dir: Where jars are kept (``KAFKA_LOCAL_CACHE`` or ``~/.cache/kafka-local`` when
            omitted).
        timeout_s: How long Maven may take.
        progress: Hears each step (a first run downloads for a minute or more).
    """
    pom = _pom(
        "the classpath of a Kafka broker and its Java tools",
        "kafka-local-classpath",
        version,
        [("org.apache.kafka:kafka_2.13", version), ("org.apache.kafka:kafka-tools", version)],
    )
    home = (cache_dir or cache_root()) / f"kafka-{version}"
    return _resolved(
        home, pom, f"kafka_2.13-{version}", f"Apache Kafka {version}", timeout_s, progress
    )


def resolve_connect_classpath(
    version: str = CONNECT_VERSION,
    *,
    cache_dir: Path | None = None,
    timeout_s: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """A folder with Kafka Connect's runtime, the JSON converter and the file connectors.

    Args:
        version: Kafka Connect's version.
        cache_dir: Where jars are kept.
        timeout_s: How long Maven may take.
        progress: Hears each step.
    """
    pom = _pom(
        "the classpath of a Kafka Connect worker",
        "kafka-connect-classpath",
        version,
        [
            ("org.apache.kafka:connect-runtime", version),
            ("org.apache.kafka:connect-json", version),
            ("org.apache.kafka:connect-file", version),
        ],
    )
    home = (cache_dir or cache_root()) / f"connect-{version}"
    return _resolved(
        home, pom, f"connect-runtime-{version}", f"Kafka Connect {version}", timeout_s, progress
    )


def resolve_plugin(
    plugin: ConnectPlugin,
    *,
    cache_dir: Path | None = None,
    timeout_s: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """A folder for Connect's ``plugin.path`` holding ``plugin``, unpacked once and cached.

    Args:
        plugin: What to resolve.
        cache_dir: Where jars are kept.
        timeout_s: How long Maven may take.
        progress: Hears each step.
    """
    say = progress or _quiet
    home = (cache_dir or cache_root()) / f"{plugin.folder}-{plugin.version}"
    unpacked = home / "plugins"
    if not (unpacked / _COMPLETE_MARKER).exists():
        home.mkdir(parents=True, exist_ok=True)
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (unpacked / _COMPLETE_MARKER).exists():
                say(f"fetching {plugin.title} {plugin.version} (once) …")
                artifact = f"{plugin.artifact}:{plugin.version}:tar.gz:plugin"
                _maven(
                    ["dependency:copy", f"-Dartifact={artifact}", f"-DoutputDirectory={home}"],
                    home,
                    timeout_s,
                    f"{plugin.title} {plugin.version}",
                )
                (archive,) = home.glob("*.tar.gz")
                staging = home / "plugins.partial"
                shutil.rmtree(staging, ignore_errors=True)
                staging.mkdir()
                with tarfile.open(archive) as tar:
                    tar.extractall(staging, filter="data")
                archive.unlink()
                (staging / _COMPLETE_MARKER).write_text(plugin.version + "\n")
                shutil.rmtree(unpacked, ignore_errors=True)
                staging.rename(unpacked)
    return unpacked


def resolve_debezium_plugin(
    *,
    cache_dir: Path | None = None,
    timeout_s: float = 900.0,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """A plugin folder holding Debezium's PostgreSQL connector (for Connect's ``plugin.path``).

    Args:
        cache_dir: Where jars are kept.
        timeout_s: How long Maven may take.
        progress: Hears each step.
    """
    return resolve_plugin(
        DEBEZIUM_POSTGRES, cache_dir=cache_dir, timeout_s=timeout_s, progress=progress
    )


def _resolved(  # noqa: PLR0917  # private: one call per artifact set
    home: Path,
    pom: str,
    required_prefix: str,
    what: str,
    timeout_s: float,
    progress: Callable[[str], None] | None,
) -> Path:
    say = progress or _quiet
    libs = home / "libs"
    if not (libs / _COMPLETE_MARKER).exists():
        home.mkdir(parents=True, exist_ok=True)
        # Parallel test runs share the cache: one resolves, the others wait for it.
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (libs / _COMPLETE_MARKER).exists():
                say(f"resolving {what} from Maven Central into {home} (once) …")
                _run_maven(home, pom, required_prefix, what, timeout_s)
    jars = (libs / _COMPLETE_MARKER).read_text().split()
    say(f"{what}: {len(jars)} jars in {libs}")
    return libs


def _quiet(_: str) -> None:
    """Progress nobody asked to hear."""


def _maven(goal: list[str], home: Path, timeout_s: float, what: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaArtifactsError(
            "Maven ('mvn') is not on PATH: install Maven 3 and Java 17+ to run the local Kafka"
        )
    try:
        done = subprocess.run(
            [mvn, "-q", "-B", *goal],
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
            cwd=home,
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaArtifactsError(f"Maven did not finish within {timeout_s:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise KafkaArtifactsError(
            f"Maven could not resolve {what} (exit {done.returncode}):\n{tail}"
        )


def _run_maven(home: Path, pom: str, required_prefix: str, what: str, timeout_s: float) -> None:
    (home / "pom.xml").write_text(pom)
    staging = home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    _maven(
        [
            "-f",
            str(home / "pom.xml"),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={staging}",
            "-DincludeScope=runtime",
        ],
        home,
        timeout_s,
        what,
    )
    jars = sorted(p.name for p in staging.glob("*.jar")) if staging.exists() else []
    if not any(j.startswith(required_prefix) for j in jars):
        raise KafkaArtifactsError(f"Maven's answer for {what} holds no {required_prefix} jar")
    (staging / _COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
    libs = home / "libs"
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
