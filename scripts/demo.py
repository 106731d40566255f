"""The local demo: a real Kafka cluster plus both services, until Ctrl-C.

Where a Docker daemon answers and Docker Compose (v2 `docker compose` or v1 `docker-compose`) is
installed, it runs the compose file instead; `--local` always uses the launcher.

Everything that can be wrong is checked before Kafka starts: the settings in the environment and
the two ports. The services are "ready" only when their `/health` answers with this run's token,
so a service of another demo on the same port is never mistaken for ours.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

import httpx

from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.local_kafka.processes import spawn, tied_to_parent
from kafka_kit.settings import exit_if_invalid
from kafka_kit.testing import docker_available
from kafka_kit.web.tokens import new_token
from scripts.demo_compose import compose_environment, write_override
from scripts.demo_connect import (
    CONNECTORS,
    REPLICA_TABLE,
    ConnectDemo,
    connect_roles,
    declare_sink,
)
from scripts.jaeger import JAEGER_VERSION, LocalJaeger
from scripts.service_settings import SERVICE_SETTINGS, service_acls

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_NODES = 3
DEFAULT_PORTS = {"producer": 8000, "consumer": 8001}


def say(line: str) -> None:
    """One line of progress for the person waiting."""
    print(line, flush=True)


def refuse(reason: str) -> SystemExit:
    """A usage error: the reason on stderr, exit status 2, nothing started."""
    print(f"./dev demo: {reason}", file=sys.stderr, flush=True)
    return SystemExit(2)


def compose_command() -> list[str] | None:
    """Docker Compose v2 (`docker compose`) or v1 (`docker-compose`), if installed."""
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
        if probe.returncode == 0:
            return ["docker", "compose"]
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    return None


def port_is_free(port: int) -> bool:
    """Whether a service could listen on 127.0.0.1:``port`` now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _start_service(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    # The producer runs as users run it: a worker per core (python -m producer_service).
    serving = [module] if module == "producer_service" else ["uvicorn", f"{module}.main:app"]
    command, preexec = tied_to_parent(
        [sys.executable, "-m", *serving, "--host", "127.0.0.1", "--port", str(port)]
    )
    return spawn(
        command,
        cwd=ROOT,
        env=env,
        # Own session: the Ctrl-C goes to this script, which stops services before Kafka.
        start_new_session=True,
        preexec_fn=preexec,
    )


def _wait_healthy(
    name: str, url: str, token: str, process: subprocess.Popen[bytes], timeout_s: float
) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the {name} exited with code {process.returncode} (see above)")
        try:
            answer = httpx.get(url, timeout=2)
            # Another process on this port answers too, but not with this run's token.
            if answer.status_code == 200 and answer.json().get("instance") == token:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.3)
    raise SystemExit(f"the {name} was not healthy at {url} within {timeout_s:.0f} s")


def _stop_service(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # a graceful shutdown: every lifespan ends
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _service_env(cluster: LocalKafkaCluster, nodes: int) -> dict[str, str]:
    assert cluster.directory is not None
    env = {
        **os.environ,
        # As `app` on a secured cluster: the settings the launcher prints.
        **cluster.client_environment("app"),
        # Safe defaults: three copies, acks=all needs two of them in sync.
        "EVENTS_REPLICATION_FACTOR": str(min(3, nodes)),
        "EVENTS_MIN_INSYNC_REPLICAS": "2" if nodes >= 3 else "1",
    }
    # Each run's Kafka is new: so are its stored events and outbox, unless a place is configured.
    env.setdefault("EVENT_STORE_URL", f"sqlite:///{cluster.directory / 'events.db'}")
    env.setdefault("PRODUCER_OUTBOX_PATH", str(cluster.directory / "outbox.db"))
    env.setdefault("KAFKA_STREAMS_STATE_DIR", str(cluster.directory / "streams-state"))
    # The events read twice: stored in order by the event log, worked through by a share group.
    env.setdefault("WORK_QUEUE_ENABLED", "true")
    return env


def demo_access(env: dict[str, str]) -> tuple[dict[str, str], str | None]:
    """The consumer's access settings for this run, and its admin token if one was made.

    Unless the environment says otherwise, the admin routes (listener control, seeks, replays,
    connectors) get a token of this run's, and reads stay open: the README's reads work as
    printed, changes need the token. Open admin routes need API_ADMIN_OPEN=true, said out loud.
    """
    configured = any(
        env.get(name) for name in ("API_ADMIN_TOKEN", "API_ADMIN_TOKEN_FILE", "API_READ_TOKEN")
    )
    if configured or env.get("API_ADMIN_OPEN", "").lower() in ("1", "true", "yes", "on"):
        return {}, None
    token = new_token()
    return {"API_ADMIN_TOKEN": token, "API_READ_OPEN": env.get("API_READ_OPEN", "true")}, token


def _run_local(
    nodes: int,
    ports: dict[str, int],
    *,
    connect: bool = False,
    security: str | None = None,
    tracing: bool = False,
) -> int:
    if ports["producer"] == ports["consumer"]:
        raise refuse("the producer and the consumer need two different ports")
    taken = [f"{name} port {port}" for name, port in ports.items() if not port_is_free(port)]
    if taken:
        raise refuse(
            f"{' and '.join(taken)} already in use (another demo?): stop it, or choose "
            "--producer-port / --consumer-port"
        )
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    token = uuid.uuid4().hex
    secured = " secured with SASL_SSL" if security else ""
    say(f"starting a {nodes}-node Apache Kafka (KRaft){secured} from Maven Central …")
    services: list[subprocess.Popen[bytes]] = []
    with (
        LocalKafkaCluster(
            nodes, progress=say, security="sasl_ssl" if security else None
        ) as cluster,
        contextlib.ExitStack() as extras,
    ):
        if cluster.security is not None:
            say("granting User:app what the two services need:")
            for line in cluster.grant_acls("app", service_acls()):
                say(f"  {line}")
        env = _service_env(cluster, nodes)
        consumer_access, admin_token = demo_access(env)
        connect_demo = None
        if connect:
            connect_demo = extras.enter_context(connect_roles(cluster, say))
            env.update(connect_demo.service_env())
        jaeger = None
        if tracing:
            say(f"starting Jaeger {JAEGER_VERSION} (built from the Go module proxy on first use) …")
            jaeger = extras.enter_context(LocalJaeger())
            env.update(_tracing_env(jaeger))
        try:
            for name, port in ports.items():
                say(f"starting the {name} on 127.0.0.1:{port} …")
                instance = {
                    "SERVICE_INSTANCE_ID": f"{token}-{name}",
                    # Where the stream topology's other instances would send a key's query.
                    "KAFKA_STREAMS_APPLICATION_SERVER": f"http://127.0.0.1:{port}",
                    **(consumer_access if name == "consumer" else {}),
                }
                services.append(_start_service(f"{name}_service", port, {**env, **instance}))
            for (name, port), process in zip(ports.items(), services, strict=True):
                url = f"http://127.0.0.1:{port}/health"
                _wait_healthy(name, url, f"{token}-{name}", process, 90)
            if connect_demo is not None:
                declare_sink(connect_demo, env.get("EVENTS_TOPIC", "events"))
            say(
                f"\nKafka:    {cluster.bootstrap_servers}{_client_lines(cluster)}\n"
                f"producer: http://127.0.0.1:{ports['producer']}/docs\n"
                f"consumer: http://127.0.0.1:{ports['consumer']}/docs\n"
                f"console:  http://127.0.0.1:{ports['consumer']}/console\n"
                f"events stored in {env['EVENT_STORE_URL']}\n"
                f"{_access_lines(admin_token)}\n"
                "try:\n"
                f"  curl -s -X POST http://127.0.0.1:{ports['producer']}/events "
                "-H 'content-type: application/json' "
                '-d \'{"type":"order.created","source":"shop","key":"customer-42",'
                '"payload":{"order_id":1}}\'\n\n'
                f"{_connect_lines(connect_demo)}"
                f"{_tracing_lines(jaeger, ports['consumer'])}"
                "Ctrl-C stops everything."
            )
            while not stop.is_set():
                if any(p.poll() is not None for p in services):
                    say("a service exited; stopping the demo")
                    return 1
                stop.wait(0.5)
        finally:
            say("\nstopping services …")
            for process in services:
                _stop_service(process)
            say("stopping Kafka …")
    say("stopped")
    return 0


def _client_lines(cluster: LocalKafkaCluster) -> str:
    if cluster.security is None:
        return ""
    shown = {k: v for k, v in cluster.client_environment("app").items() if "PASSWORD" not in k}
    secret = cluster.client_environment("app")["KAFKA_SASL_PASSWORD"]
    return (
        "\n  as User:app: "
        + " ".join(f"{k}={v}" for k, v in shown.items())
        + (f" KAFKA_SASL_PASSWORD={secret}")
    )


def _access_lines(token: str | None) -> str:
    if token is None:
        return (
            "admin routes: as configured (API_ADMIN_TOKEN / API_ADMIN_OPEN from the environment)\n"
        )
    return (
        f"admin token: {token}\n"
        "  (this run's: reads are open; pausing listeners, seeks, replays and connector changes "
        "need it — the console's 'log in' takes it, curl takes "
        f"-H 'Authorization: Bearer {token}')\n"
    )


def _connect_lines(demo: ConnectDemo | None) -> str:
    if demo is None:
        return ""
    return (
        f"PostgreSQL: {demo.dsn}\n"
        f"Kafka Connect: {demo.connect_url} (connectors: {', '.join(CONNECTORS)})\n"
        f"  export DEMO_DATABASE_URL={demo.dsn}\n"
        '  psql "$DEMO_DATABASE_URL" -c "INSERT INTO orders (item, qty) VALUES (\'book\', 1)"   → '
        f"GET /orders/changes on the consumer, and a row in {REPLICA_TABLE}\n"
        f"  events posted to the producer are written to {demo.sink_file}\n\n"
    )


def _tracing_env(jaeger: LocalJaeger) -> dict[str, str]:
    return {
        "TRACING_ENABLED": "true",
        "TRACING_OTLP_ENDPOINT": jaeger.otlp_endpoint,
        "TRACING_UI_URL": jaeger.query_url,
        "TRACING_EXPORT_INTERVAL_S": "0.5",
    }


def _tracing_lines(jaeger: LocalJaeger | None, consumer_port: int) -> str:
    if jaeger is None:
        return ""
    return (
        f"traces:   http://127.0.0.1:{consumer_port}/console/events → an event's trace link "
        f"(/console/traces/<trace id>, drawn from Jaeger)\n"
        f"  Jaeger: OTLP/HTTP {jaeger.otlp_endpoint}, query API "
        f"{jaeger.query_url}/api/traces/<trace id> (GET /events/<id> on the consumer gives "
        "the trace id; the Go build serves no UI page — docker compose's Jaeger image does, "
        "at :16686)\n\n"
    )


def _run_compose(command: list[str], args: argparse.Namespace) -> int:
    given = [
        flag
        for flag, value in (
            ("--nodes", args.nodes),
            ("--producer-port", args.producer_port),
            ("--consumer-port", args.consumer_port),
            ("--connect", args.connect or None),
            ("--security", args.security),
        )
        if value is not None
    ]
    if given:
        raise refuse(
            f"{', '.join(given)} apply to the local launcher only; Docker Compose runs "
            "docker-compose.yml as written (three brokers, ports 8000 and 8001). Add --local to "
            "use the launcher with them."
        )
    say(f"Docker answers: {' '.join(command)} up --build (--local uses the launcher instead)")
    env = {**os.environ, **({"TRACING_ENABLED": "true"} if args.tracing else {})}
    if args.tracing:
        say("tracing on: Jaeger's UI at http://127.0.0.1:16686 (the compose file's jaeger)")
    environment, left_out = compose_environment(os.environ)
    if left_out:
        say(f"not passed to the services (the compose cluster sets its own): {', '.join(left_out)}")
    files = ["-f", "docker-compose.yml"]
    with tempfile.TemporaryDirectory(prefix="kafka-kit-demo-") as folder:
        if environment:
            names = sorted({name for values in environment.values() for name in values})
            say(f"passed to the services, as checked: {', '.join(names)}")
            files += ["-f", str(write_override(environment, Path(folder)))]
        return subprocess.call([*command, *files, "up", "--build"], cwd=ROOT, env=env)


def main(argv: list[str] | None = None) -> int:
    """Check the settings, then run the demo with Docker Compose or the local launcher."""
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument(
        "--nodes", type=int, choices=(1, 3), help=f"brokers (default {DEFAULT_NODES})"
    )
    parser.add_argument("--producer-port", type=int, help=f"default {DEFAULT_PORTS['producer']}")
    parser.add_argument("--consumer-port", type=int, help=f"default {DEFAULT_PORTS['consumer']}")
    parser.add_argument(
        "--local", action="store_true", help="use the local launcher even where Docker runs"
    )
    parser.add_argument(
        "--security",
        choices=("sasl_ssl",),
        help="a secured cluster: SASL_SSL with a throwaway CA, the services as user `app` with "
        "the ACLs they need (local launcher only)",
    )
    parser.add_argument(
        "--connect",
        action="store_true",
        help="also PostgreSQL and a Kafka Connect worker: Debezium capturing an orders table, "
        "its JDBC sink writing the changes back as a replica table, Debezium's outbox router, "
        "a file sink of the events (local launcher only)",
    )
    parser.add_argument(
        "--tracing",
        action="store_true",
        help="also Jaeger: the services trace every request, send, listener call and store "
        "write (OpenTelemetry, W3C trace context in the records' headers)",
    )
    args = parser.parse_args(argv)
    # Both services read these; a bad one ends here, before anything starts.
    exit_if_invalid(*SERVICE_SETTINGS)
    if not args.local and shutil.which("docker") and docker_available():
        command = compose_command()
        if command is not None:
            return _run_compose(command, args)
        say(
            "Docker answers but neither `docker compose` nor `docker-compose` is installed: "
            "using the local launcher"
        )
    ports = {
        "producer": args.producer_port or DEFAULT_PORTS["producer"],
        "consumer": args.consumer_port or DEFAULT_PORTS["consumer"],
    }
    if args.connect and args.security:
        raise refuse("--connect with --security is not offered yet: the Connect worker is plain")
    return _run_local(
        args.nodes or DEFAULT_NODES,
        ports,
        connect=args.connect,
        security=args.security,
        tracing=args.tracing,
    )


if __name__ == "__main__":
    sys.exit(main())
