"""Kafka's own Java command-line tools (console producer/consumer, perf tools) as real peers."""

from __future__ import annotations

import subprocess
from pathlib import Path

from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.jvm import java_executable

__all__ = [
    "CONSOLE_CONSUMER",
    "CONSOLE_PRODUCER",
    "CONSUMER_GROUPS",
    "CONSUMER_PERFORMANCE",
    "PRODUCER_PERFORMANCE",
    "kafka_tool_command",
    "run_kafka_tool",
]


CONSOLE_PRODUCER = "org.apache.kafka.tools.ConsoleProducer"
CONSOLE_CONSUMER = "org.apache.kafka.tools.consumer.ConsoleConsumer"
CONSUMER_GROUPS = "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand"
"""``kafka-consumer-groups.sh``: describe, reset, delete groups and their offsets."""
PRODUCER_PERFORMANCE = "org.apache.kafka.tools.ProducerPerformance"
CONSUMER_PERFORMANCE = "org.apache.kafka.tools.ConsumerPerformance"

_QUIET_LOG4J2 = """\
Configuration:
  Appenders:
    Console:
      name: STDERR
      target: SYSTEM_ERR
      PatternLayout:
        pattern: "[%d] %p %m (%c)%n"
  Loggers:
    Root:
      level: WARN
      AppenderRef:
        - ref: STDERR
"""


def kafka_tool_command(main_class: str, *args: str, version: str = KAFKA_VERSION) -> list[str]:
    """The ``java`` command line that runs one of Kafka's tools, logging warnings only.

    Args:
        main_class: The tool's class (``CONSOLE_PRODUCER``…).
        version: The Kafka version whose jars run it.
    """
    libs = resolve_classpath(version)
    log_config = libs.parent / "tools-log4j2.yaml"
    if not log_config.exists():
        log_config.write_text(_QUIET_LOG4J2)
    return [
        java_executable(),
        "-Xms64m",
        "-Xmx512m",
        f"-Dlog4j2.configurationFile={log_config}",
        "-cp",
        f"{libs}/*",
        main_class,
        *args,
    ]


def run_kafka_tool(
    main_class: str,
    *args: str,
    input_text: str | None = None,
    timeout_s: float = 120.0,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run a Kafka tool to completion; raises with its output when it fails.

    Args:
        main_class: The tool's class.
        input_text: Its standard input.
        timeout_s: How long it may run.
        cwd: Where it runs.
    """
    done = subprocess.run(
        kafka_tool_command(main_class, *args),
        input=input_text,
        capture_output=True,
        text=True,
        timeout=timeout_s,
        check=False,
        cwd=cwd,
    )
    if done.returncode != 0:
        output = done.stdout[-2000:] + done.stderr[-4000:]
        raise RuntimeError(f"{main_class} exited with {done.returncode}:\n{output}")
    return done
