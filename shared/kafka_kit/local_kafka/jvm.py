"""Running Kafka's Java classes: which ``java``, its heap and GC options, the class path."""

from __future__ import annotations

import os
import shlex
import shutil
from dataclasses import dataclass
from pathlib import Path

from kafka_kit.errors import KafkaLaunchError

__all__ = ["DEFAULT_HEAP_OPTS", "DEFAULT_JVM_OPTS", "LOG4J2_YAML", "JavaCommand", "java_executable"]

DEFAULT_HEAP_OPTS = "-Xms256m -Xmx512m"
DEFAULT_JVM_OPTS = "-XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true"

LOG4J2_YAML = """\
Configuration:
  Appenders:
    Console:
      name: STDOUT
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Logger:
      - name: org.apache.kafka.common.config.AbstractConfig
        level: WARN
      - name: state.change.logger
        level: WARN
    Root:
      level: INFO
      AppenderRef:
        - ref: STDOUT
"""
"""A broker's logging: INFO, without the config dumps and per-partition state changes."""


def java_executable() -> str:
    """The ``java`` to run Kafka with: ``$JAVA_HOME/bin/java`` or the one on PATH."""
    java_home = os.environ.get("JAVA_HOME")
    if java_home and (Path(java_home) / "bin" / "java").exists():
        return str(Path(java_home) / "bin" / "java")
    found = shutil.which("java")
    if found is None:
        raise KafkaLaunchError("Java 17+ is needed to run the local Kafka: no 'java' on PATH")
    return found


@dataclass(frozen=True)
class JavaCommand:
    """The command line of a Kafka class: its jars (``classpath``) and its log configuration.

    Heap and GC options come from ``KAFKA_HEAP_OPTS`` and ``KAFKA_JVM_PERFORMANCE_OPTS`` (as in
    Kafka's own scripts), else :data:`DEFAULT_HEAP_OPTS` and :data:`DEFAULT_JVM_OPTS`.
    """

    classpath: Path
    """The folder of jars."""
    log_config: Path
    """The log4j2 configuration file."""

    def __call__(self, main_class: str, *args: str) -> list[str]:
        """``java … -cp <classpath>/* main_class args``."""
        heap = os.environ.get("KAFKA_HEAP_OPTS", DEFAULT_HEAP_OPTS)
        jvm = os.environ.get("KAFKA_JVM_PERFORMANCE_OPTS", DEFAULT_JVM_OPTS)
        return [
            java_executable(),
            *shlex.split(heap),
            *shlex.split(jvm),
            f"-Dlog4j2.configurationFile={self.log_config}",
            "-cp",
            f"{self.classpath}/*",
            main_class,
            *args,
        ]
