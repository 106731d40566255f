"""The local demo: a real Kafka cluster plus both services, until Ctrl-C.

Where a Docker daemon answers it runs ``docker compose up --build`` instead.
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx

from kafka_kit.local_kafka import LocalKafkaCluster
from kafka_kit.local_kafka.processes import spawn, tied_to_parent
from kafka_kit.testing import docker_available

ROOT = Path(__file__).resolve().parent.parent


def _start_service(module: str, port: int, env: dict[str, str]) -> subprocess.Popen[bytes]:
    command, preexec = tied_to_parent(
        [
            sys.executable,
            "-m",
            "uvicorn",
            f"{module}:app",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ]
    )
    return spawn(
        command,
        cwd=ROOT,
        env=env,
        # Own session: the Ctrl-C goes to this script, which stops services before Kafka.
        start_new_session=True,
        preexec_fn=preexec,
    )


def _wait_healthy(name: str, url: str, process: subprocess.Popen[bytes], timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{name} exited with code {process.returncode}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"{name} was not healthy at {url} within {timeout_s:.0f} s")


def _stop_service(process: subprocess.Popen[bytes], timeout_s: float = 15.0) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)  # uvicorn's graceful shutdown: lifespan ends
        try:
            process.wait(timeout_s)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _run_local(args: argparse.Namespace) -> int:
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    print(f"starting a {args.nodes}-node Apache Kafka (KRaft) from Maven Central …", flush=True)
    services: list[subprocess.Popen[bytes]] = []
    with LocalKafkaCluster(args.nodes) as cluster:
        env = {
            **os.environ,
            "KAFKA_BOOTSTRAP_SERVERS": cluster.bootstrap_servers,
            # Safe defaults: three copies, acks=all needs two of them in sync.
            "EVENTS_REPLICATION_FACTOR": str(min(3, args.nodes)),
            "EVENTS_MIN_INSYNC_REPLICAS": "2" if args.nodes >= 3 else "1",
        }
        try:
            producer = _start_service("producer_service.main", args.producer_port, env)
            services.append(producer)
            consumer = _start_service("consumer_service.main", args.consumer_port, env)
            services.append(consumer)
            _wait_healthy("producer", f"http://127.0.0.1:{args.producer_port}/health", producer, 90)
            _wait_healthy("consumer", f"http://127.0.0.1:{args.consumer_port}/health", consumer, 90)
            print(
                f"\nKafka:    {cluster.bootstrap_servers}\n"
                f"producer: http://127.0.0.1:{args.producer_port}/docs\n"
                f"consumer: http://127.0.0.1:{args.consumer_port}/docs\n\n"
                "try:\n"
                f"  curl -s -X POST http://127.0.0.1:{args.producer_port}/events "
                "-H 'content-type: application/json' "
                '-d \'{"type":"order.created","source":"shop","key":"customer-42",'
                '"payload":{"order_id":1}}\'\n\n'
                "Ctrl-C stops everything.",
                flush=True,
            )
            while not stop.is_set():
                if any(p.poll() is not None for p in services):
                    print("a service exited; stopping the demo", flush=True)
                    return 1
                stop.wait(0.5)
        finally:
            print("\nstopping services …", flush=True)
            for process in services:
                _stop_service(process)
            print("stopping Kafka …", flush=True)
    print("stopped", flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse arguments and run the demo with Docker Compose or the local launcher."""
    parser = argparse.ArgumentParser(prog="./dev demo", description=__doc__)
    parser.add_argument("--nodes", type=int, default=3, choices=(1, 3))
    parser.add_argument("--producer-port", type=int, default=8000)
    parser.add_argument("--consumer-port", type=int, default=8001)
    parser.add_argument(
        "--local", action="store_true", help="use the local launcher even where Docker runs"
    )
    args = parser.parse_args(argv)
    if not args.local and shutil.which("docker") and docker_available():
        return subprocess.call(["docker", "compose", "up", "--build"], cwd=ROOT)
    return _run_local(args)


if __name__ == "__main__":
    sys.exit(main())
