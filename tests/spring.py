"""Spring for Apache Kafka peers for the integration tests, each built once: ``tests/spring_peer``
(Spring Kafka 3.x) and ``tests/spring_share_peer`` (4.x, a share consumer).

The Java application is compiled with Maven (spring-kafka from Maven Central, Java 17) into the
same cache as the Kafka jars, keyed by a digest of its sources, so a second run starts at once.
Each command prints one JSON line per record it handled (see ``peer.Main``).
"""

from __future__ import annotations

import json
import os
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from kafka_kit.local_kafka.cluster import java_executable
from scripts.java_app import built_classpath

PEER = Path(__file__).parent / "spring_peer"
SHARE_PEER = Path(__file__).parent / "spring_share_peer"


@cache
def peer_command(project: Path = PEER) -> list[str]:
    """``java … <package>.Main``, building the peer first if this version was never built."""
    name, package = (
        ("spring-peer", "peer") if project == PEER else ("spring-share-peer", "sharepeer")
    )
    return [
        java_executable(),
        "-Xmx256m",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        built_classpath(project, name, "peer.build.dir"),
        f"{package}.Main",
    ]


class SpringPeer:
    """Runs the peer's commands against one cluster."""

    def __init__(self, bootstrap: str, project: Path = PEER, **env: str) -> None:
        self.project = project
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap, **env}

    def run(self, *args: str, lines: list[Any] | None = None, timeout_s: float = 180) -> list[Any]:
        """Run a command to its end; its JSON lines (``lines`` go to its stdin, one per line)."""
        stdin = "".join(f"{json.dumps(x) if not isinstance(x, str) else x}\n" for x in lines or [])
        done = subprocess.run(
            [*peer_command(self.project), *args],
            input=stdin,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=timeout_s,
            check=False,
        )
        assert done.returncode == 0, f"peer {args} exited {done.returncode}:\n{done.stderr[-4000:]}"
        return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]

    def start(self, *args: str) -> subprocess.Popen[str]:
        """Start a long-running command (a listener); read its lines with :meth:`finish`."""
        return subprocess.Popen(
            [*peer_command(self.project), *args],
            env=self.env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )

    @staticmethod
    def finish(process: subprocess.Popen[str], timeout_s: float = 180) -> list[Any]:
        """Wait for a started command to end; its JSON lines."""
        out, err = process.communicate(timeout=timeout_s)
        assert process.returncode == 0, f"peer exited {process.returncode}:\n{err[-4000:]}"
        return [json.loads(line) for line in out.splitlines() if line.startswith("{")]
