"""Jaeger, the trace backend of the demo and the tests: built from the Go module proxy, run locally.

``go get -tool github.com/jaegertracing/jaeger/cmd/jaeger@v1.75.0`` in a small module, then
``go build``: the binary is cached beside the Kafka jars (``~/.cache/kafka-local/jaeger-v1.75.0``),
so only the first run builds (a few minutes on two cores). :class:`LocalJaeger` runs it with an
in-memory store on free loopback ports: OTLP/HTTP in, the query API out
(``GET /api/traces/<trace id>``, Jaeger's HTTP JSON). Jaeger 1.75.0 is Jaeger v2 (2.12.0), an
OpenTelemetry Collector distribution; the Go module carries no UI assets, so its page at ``/`` is a
placeholder — the console draws a trace from the query API instead, and the compose file's
``jaegertracing/jaeger:2.12.0`` image serves the full UI.

    python -m scripts.jaeger build    # what CI runs first
    python -m scripts.jaeger run      # a backend until Ctrl-C; prints its endpoints
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

from kafka_kit.local_kafka.artifacts import cache_root
from kafka_kit.local_kafka.ports import free_ports
from kafka_kit.testing import wait_until_sync
from kafka_kit.web.console.traces import JaegerQuery

__all__ = ["JAEGER_MODULE", "JAEGER_VERSION", "LocalJaeger", "jaeger_binary"]

JAEGER_VERSION = "v1.75.0"
"""The Go module's version (Jaeger v2.12.0)."""
JAEGER_MODULE = "github.com/jaegertracing/jaeger/cmd/jaeger"
"""The program's package."""

_CONFIG = """\
service:
  extensions: [jaeger_storage, jaeger_query, healthcheckv2]
  pipelines:
    traces:
      receivers: [otlp]
      processors: [batch]
      exporters: [jaeger_storage_exporter]
  telemetry:
    metrics:
      level: none
    logs:
      level: warn
extensions:
  healthcheckv2:
    use_v2: true
    http:
      endpoint: 127.0.0.1:{health}
  jaeger_storage:
    backends:
      memstore:
        memory:
          max_traces: 100000
  jaeger_query:
    storage:
      traces: memstore
    http:
      endpoint: 127.0.0.1:{query}
    grpc:
      endpoint: 127.0.0.1:{query_grpc}
receivers:
  otlp:
    protocols:
      http:
        endpoint: 127.0.0.1:{otlp}
processors:
  batch:
    timeout: 200ms
exporters:
  jaeger_storage_exporter:
    trace_storage: memstore
"""


def _go() -> str:
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if found is None:
        raise RuntimeError("Go is needed to build Jaeger (https://go.dev/dl/, or /usr/local/go)")
    return found


def jaeger_binary() -> Path:
    """The cached Jaeger binary, built from the Go module proxy the first time."""
    home = cache_root() / f"jaeger-{JAEGER_VERSION}"
    binary = home / "jaeger"
    if binary.exists():
        return binary
    home.mkdir(parents=True, exist_ok=True)
    with open(home / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # parallel sessions: one builds, the others wait
        if not binary.exists():
            _build(home, binary)
    return binary


def _build(home: Path, binary: Path) -> None:
    go = _go()
    print(
        f"building Jaeger {JAEGER_VERSION} from the Go module proxy (first run only; a few "
        "minutes) …",
        file=sys.stderr,
        flush=True,
    )
    started = time.monotonic()
    with tempfile.TemporaryDirectory(dir=home) as module:
        partial = Path(module) / "jaeger"
        steps = (
            [go, "mod", "init", "kafka-kit-jaeger"],
            [go, "get", "-tool", f"{JAEGER_MODULE}@{JAEGER_VERSION}"],
            [go, "build", "-o", str(partial), JAEGER_MODULE],
        )
        for step in steps:
            done = subprocess.run(
                step, cwd=module, capture_output=True, text=True, timeout=1800, check=False
            )
            if done.returncode != 0:
                raise RuntimeError(f"{' '.join(step[1:3])} failed:\n{done.stderr[-3000:]}")
        partial.rename(binary)  # last: its presence says the build is complete
    print(f"built Jaeger in {time.monotonic() - started:.0f} s: {binary}", file=sys.stderr)


class LocalJaeger:
    """A Jaeger process with an in-memory store on free loopback ports (a context manager)."""

    def __init__(self) -> None:
        self.otlp_port, self.query_port, self._grpc_port, self._health_port = free_ports(4)
        self._dir = tempfile.TemporaryDirectory(prefix="jaeger-")
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def otlp_endpoint(self) -> str:
        """Where OTLP/HTTP exporters send (``OTEL_EXPORTER_OTLP_ENDPOINT``)."""
        return f"http://127.0.0.1:{self.otlp_port}"

    @property
    def query_url(self) -> str:
        """Jaeger's query service: ``/api/traces/<id>``, ``/api/services``."""
        return f"http://127.0.0.1:{self.query_port}"

    def start(self, timeout_s: float = 60) -> LocalJaeger:
        """Start it and wait until its health check answers.

        Args:
            timeout_s: How long it may take to become healthy.
        """
        config = Path(self._dir.name) / "config.yaml"
        config.write_text(
            _CONFIG.format(
                health=self._health_port,
                query=self.query_port,
                query_grpc=self._grpc_port,
                otlp=self.otlp_port,
            )
        )
        log = open(Path(self._dir.name) / "jaeger.log", "wb")  # noqa: SIM115 - the process's
        self._process = subprocess.Popen(
            [str(jaeger_binary()), "--config", str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env={**os.environ, "JAEGER_LISTEN_HOST": "127.0.0.1"},
        )

        def healthy() -> bool:
            if self._process is not None and self._process.poll() is not None:
                raise RuntimeError(f"Jaeger exited {self._process.returncode}:\n{self.log()}")
            return self._get(f"http://127.0.0.1:{self._health_port}/status") is not None

        wait_until_sync(healthy, timeout_s, "Jaeger's health check")
        return self

    def log(self) -> str:
        """The process's output so far."""
        path = Path(self._dir.name) / "jaeger.log"
        return path.read_text(errors="replace")[-4000:] if path.exists() else ""

    def stop(self) -> None:
        """Stop the process and remove its folder."""
        if self._process is not None and self._process.poll() is None:
            self._process.terminate()
            try:
                self._process.wait(10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._dir.cleanup()

    def __enter__(self) -> LocalJaeger:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---------------------------------------------------------------- the query API
    def trace(self, trace_id: str) -> dict[str, Any] | None:
        """The trace as Jaeger's HTTP API gives it (``spans``, ``processes``); ``None`` if unknown.

        Args:
            trace_id: 32 hex digits.
        """
        return JaegerQuery(self.query_url).trace_sync(trace_id)

    def services(self) -> list[str]:
        """The service names Jaeger has spans from."""
        return list((self._get(f"{self.query_url}/api/services") or {}).get("data") or [])

    @staticmethod
    def _get(url: str) -> Any:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.loads(response.read())
        except (urllib.error.URLError, ConnectionError, TimeoutError, json.JSONDecodeError):
            return None


def main(argv: list[str]) -> int:
    """``build`` (the binary into the cache) or ``run`` (a backend until Ctrl-C)."""
    command = argv[0] if argv else "run"
    if command == "build":
        print(jaeger_binary())
        return 0
    if command != "run":
        print(__doc__, file=sys.stderr)
        return 2
    with LocalJaeger() as jaeger:
        print(f"Jaeger: OTLP/HTTP {jaeger.otlp_endpoint}, query API {jaeger.query_url}/api")
        try:
            while True:
                time.sleep(3600)
        except KeyboardInterrupt:
            return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
