"""A Spring for Apache Kafka peer for the integration tests: ``tests/spring_peer``, built once.

The Java application is compiled with Maven (spring-kafka from Maven Central, Java 17) into the
same cache as the Kafka jars, keyed by a digest of its sources, so a second run starts at once.
Each command prints one JSON line per record it handled (see ``peer.Main``).
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import shutil
import subprocess
from functools import cache
from pathlib import Path
from typing import Any

from kafka_kit.local_kafka.artifacts import cache_root
from kafka_kit.local_kafka.cluster import java_executable

PEER = Path(__file__).parent / "spring_peer"


def _digest() -> str:
    files = [PEER / "pom.xml", *sorted((PEER / "src").rglob("*.java"))]
    sha = hashlib.sha256()
    for path in files:
        sha.update(path.relative_to(PEER).as_posix().encode())
        sha.update(path.read_bytes())
    return sha.hexdigest()[:16]


@cache
def peer_command() -> list[str]:
    """``java … peer.Main``, building the peer first if this version was never built."""
    home = cache_root() / "spring-peer" / _digest()
    classes, classpath = home / "classes", home / "classpath.txt"
    if not classpath.exists():
        home.mkdir(parents=True, exist_ok=True)
        with open(home / ".lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions: one builds, the rest wait
            if not classpath.exists():
                _build(home)
    return [
        java_executable(),
        "-Xmx256m",
        "-Dorg.slf4j.simpleLogger.defaultLogLevel=warn",
        "-cp",
        f"{classes}:{classpath.read_text().strip()}",
        "peer.Main",
    ]


def _build(home: Path) -> None:
    mvn = shutil.which("mvn")
    assert mvn is not None, "Maven is needed to build the Spring peer"
    partial = home / "classpath.partial"
    done = subprocess.run(
        [
            mvn, "-q", "-B", "-f", str(PEER / "pom.xml"), f"-Dpeer.build.dir={home}",
            "compile", "dependency:build-classpath", f"-Dmdep.outputFile={partial}",
        ],
        capture_output=True, text=True, timeout=900, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (
        f"building the Spring peer failed:\n{done.stdout[-3000:]}{done.stderr[-3000:]}"
    )
    partial.rename(home / "classpath.txt")  # last: its presence says the build is complete


class SpringPeer:
    """Runs the peer's commands against one cluster."""

    def __init__(self, bootstrap: str) -> None:
        self.env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": bootstrap}

    def run(self, *args: str, lines: list[Any] | None = None, timeout_s: float = 180) -> list[Any]:
        """Run a command to its end; its JSON lines (``lines`` go to its stdin, one per line)."""
        stdin = "".join(f"{json.dumps(x) if not isinstance(x, str) else x}\n" for x in lines or [])
        done = subprocess.run(
            [*peer_command(), *args],
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
            [*peer_command(), *args],
            env=self.env,
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
