"""Resolve Apache Kafka's jars from Maven Central into a cache outside the repository."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from kafka_kit.errors import KafkaArtifactsError

__all__ = ["KAFKA_VERSION", "cache_root", "resolve_classpath"]


KAFKA_VERSION = "4.4.0"
"""The Kafka version the project pins: the newest 4.x aiokafka was checked against (see README)."""

LOG4J_VERSION = "2.24.3"

_POM_TEMPLATE = """<?xml version="1.0" encoding="UTF-8"?>
<!-- Written by kafka_kit.local_kafka: the classpath of a Kafka broker and its Java tools. -->
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>local.kafka</groupId>
  <artifactId>kafka-local-classpath</artifactId>
  <version>{kafka_version}</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_2.13</artifactId>
      <version>{kafka_version}</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>{kafka_version}</version>
    </dependency>
    <!-- Kafka logs through SLF4J 1.x; without a binding the broker prints nothing. -->
    <dependency>
      <groupId>org.apache.logging.log4j</groupId>
      <artifactId>log4j-slf4j-impl</artifactId>
      <version>{log4j_version}</version>
    </dependency>
  </dependencies>
</project>
"""

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
    """
    say = progress or _quiet
    home = (cache_dir or cache_root()) / f"kafka-{version}"
    libs = home / "libs"
    if not (libs / _COMPLETE_MARKER).exists():
        home.mkdir(parents=True, exist_ok=True)
        # Parallel test runs share the cache: one resolves, the others wait for it.
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            if not (libs / _COMPLETE_MARKER).exists():
                say(f"resolving Apache Kafka {version} from Maven Central into {home} (once) …")
                _run_maven(home, version, timeout_s)
    jars = (libs / _COMPLETE_MARKER).read_text().split()
    say(f"Kafka {version}: {len(jars)} jars in {libs}")
    return libs


def _quiet(_: str) -> None:
    """Progress nobody asked to hear."""


def _run_maven(home: Path, version: str, timeout_s: float) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise KafkaArtifactsError(
            "Maven ('mvn') is not on PATH: install Maven 3 and Java 17+ to run the local Kafka"
        )
    (home / "pom.xml").write_text(
        _POM_TEMPLATE.format(kafka_version=version, log4j_version=LOG4J_VERSION)
    )
    staging = home / "libs.partial"
    shutil.rmtree(staging, ignore_errors=True)
    command = [
        mvn,
        "-q",
        "-B",
        "-f",
        str(home / "pom.xml"),
        "dependency:copy-dependencies",
        f"-DoutputDirectory={staging}",
        "-DincludeScope=runtime",
    ]
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout_s, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise KafkaArtifactsError(f"Maven did not finish within {timeout_s:.0f} s") from exc
    jars = sorted(p.name for p in staging.glob("*.jar")) if staging.exists() else []
    if done.returncode != 0 or not any(j.startswith(f"kafka_2.13-{version}") for j in jars):
        tail = "\n".join((done.stdout + done.stderr).splitlines()[-30:])
        raise KafkaArtifactsError(
            f"Maven could not resolve Apache Kafka {version} (exit {done.returncode}):\n{tail}"
        )
    (staging / _COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
    libs = home / "libs"
    shutil.rmtree(libs, ignore_errors=True)
    staging.rename(libs)
