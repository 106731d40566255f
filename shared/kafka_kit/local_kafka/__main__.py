"""Command line: ``python -m kafka_kit.local_kafka start|stop|status|run`` (see --help).

``--connect W`` adds a distributed Kafka Connect group of W workers.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
from pathlib import Path

from kafka_kit.local_kafka.artifacts import (
    DEBEZIUM_JDBC_SINK,
    DEBEZIUM_POSTGRES,
    KAFKA_VERSION,
    cache_root,
    resolve_classpath,
    resolve_connect_classpath,
    resolve_plugin,
)
from kafka_kit.local_kafka.cluster import LocalKafkaCluster
from kafka_kit.local_kafka.connect import LocalConnect, stop_detached
from kafka_kit.local_kafka.readiness import describe_cluster_sync


def _pointer() -> Path:
    # The CLI keeps one background cluster; its run directory is remembered here.
    configured = os.environ.get("KAFKA_LOCAL_STATE")
    return Path(configured) if configured else cache_root() / "cli-cluster"


def _attached() -> LocalKafkaCluster | None:
    pointer = _pointer()
    if not pointer.exists():
        return None
    directory = Path(pointer.read_text().strip())
    if not (directory / "cluster.json").exists():
        return None
    return LocalKafkaCluster.attach(directory)


def _start(args: argparse.Namespace) -> int:
    current = _attached()
    if current is not None and any(n.is_running() for n in current.nodes):
        print(f"already running: KAFKA_BOOTSTRAP_SERVERS={current.bootstrap_servers}")
        return 0
    cluster = LocalKafkaCluster(
        args.nodes,
        version=args.version,
        die_with_parent=False,
        progress=_progress,
        security=args.security,
    )
    cluster.start()
    assert cluster.directory is not None
    _pointer().parent.mkdir(parents=True, exist_ok=True)
    _pointer().write_text(str(cluster.directory))
    print(f"Kafka {cluster.version}, {args.nodes} node(s), KRaft, data in {cluster.directory}")
    _print_exports(cluster, args)
    if args.connect:
        connect = _connect(cluster, args.connect, die_with_parent=False)
        connect.start()
        # `stop` finds the workers here (they outlive this command).
        (cluster.directory / "connect.json").write_text(json.dumps(connect.pids()))
        print(f"export CONNECT_URL={connect.url}")
    return 0


def _connect(cluster: LocalKafkaCluster, workers: int, *, die_with_parent: bool) -> LocalConnect:
    """A distributed Connect group of ``workers`` beside ``cluster``, its files in the run's."""
    assert cluster.directory is not None
    if cluster.security is not None:
        raise SystemExit("--connect with --security is not supported yet")
    return LocalConnect(
        cluster.bootstrap_servers,
        workers=workers,
        group_id="connect-local",
        replication=min(3, len(cluster.nodes)),
        directory=cluster.directory / "connect",
        die_with_parent=die_with_parent,
    )


def _print_exports(cluster: LocalKafkaCluster, args: argparse.Namespace) -> None:
    """``export`` lines for a client of the cluster (``app``, for a secured one); on a secured
    cluster, ``app`` is first granted what a service with the ``--allow-*`` names needs."""
    if cluster.security is not None:
        if args.allow_topic or args.allow_group or args.allow_streams:
            _progress("granting User:app what a service with these names needs:")
            granted = cluster.grant_service_acls(
                "app",
                topics=args.allow_topic,
                groups=args.allow_group,
                streams_applications=args.allow_streams,
            )
            for line in granted:
                _progress(f"  {line}")
        else:
            _progress(
                "User:app has no ACLs yet: --allow-topic, --allow-group and --allow-streams "
                "grant what a service with those names needs"
            )
    for name, value in cluster.client_environment("app").items():
        print(f"export {name}={value}")


def _stop(_: argparse.Namespace) -> int:
    cluster = _attached()
    if cluster is None:
        print("no local Kafka started by this command")
        return 0
    assert cluster.directory is not None
    workers = cluster.directory / "connect.json"
    if workers.exists():
        stop_detached(json.loads(workers.read_text()))
    cluster.stop()
    _pointer().unlink(missing_ok=True)
    print("stopped")
    return 0


def _status(_: argparse.Namespace) -> int:
    cluster = _attached()
    if cluster is None:
        print("not started")
        return 3
    for node in cluster.nodes:
        state = "running" if node.is_running() else "stopped"
        print(f"node {node.node_id}: {state}  pid={node.pid}  {node.address}  log={node.log_file}")
    try:
        seen = describe_cluster_sync(
            cluster.bootstrap_servers, client=cluster.admin_client_config()
        )
    except Exception as exc:  # noqa: BLE001 - the answer is the status
        print(f"metadata: no answer ({exc})")
        return 1
    print(f"metadata: cluster {seen.cluster_id}, brokers {list(seen.broker_ids)}")
    print(f"KAFKA_BOOTSTRAP_SERVERS={cluster.bootstrap_servers}")
    return 0 if len(seen.broker_ids) == len(cluster.nodes) else 1


def _run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with (
        LocalKafkaCluster(
            args.nodes, version=args.version, progress=_progress, security=args.security
        ) as cluster,
        contextlib.ExitStack() as extras,
    ):
        _print_exports(cluster, args)
        if args.connect:
            connect = extras.enter_context(_connect(cluster, args.connect, die_with_parent=True))
            print(f"export CONNECT_URL={connect.url}")
        print("(Ctrl-C stops)", flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            stop.wait()
    return 0


def _resolve(args: argparse.Namespace) -> int:
    print(resolve_classpath(args.version, progress=_progress))
    # Kafka Connect and its plugins are cached too: tests and the demo start workers offline.
    print(resolve_connect_classpath(progress=_progress))
    for plugin in (DEBEZIUM_POSTGRES, DEBEZIUM_JDBC_SINK):
        print(resolve_plugin(plugin, progress=_progress))
    return 0


def _progress(line: str) -> None:
    # On stderr: `start` prints the export line on stdout for `eval "$(…)"`.
    print(line, file=sys.stderr, flush=True)


def _cluster_options(command: argparse.ArgumentParser) -> None:
    """What ``start`` and ``run`` take: the cluster's size, security and Connect workers."""
    command.add_argument(
        "--nodes", type=int, default=1, choices=(1, 3), help="KRaft nodes (broker + controller)"
    )
    command.add_argument(
        "--security",
        choices=("sasl_ssl",),
        default=None,
        help="clients connect with SASL_SSL (throwaway CA, SCRAM users admin and app, ACLs)",
    )
    for flag, what in (
        ("--allow-topic", "a topic (prefix) app may create, write and read"),
        ("--allow-group", "a consumer group app may read as"),
        ("--allow-streams", "a stream application id app may run"),
    ):
        command.add_argument(
            flag,
            action="append",
            default=[],
            metavar="NAME",
            help=f"with --security: {what} (repeatable)",
        )
    command.add_argument(
        "--connect",
        type=int,
        default=0,
        metavar="WORKERS",
        help="also run a distributed Kafka Connect group of WORKERS workers",
    )


def parser(prog: str = "python -m kafka_kit.local_kafka") -> argparse.ArgumentParser:
    """The launcher's command line: ``start``, ``run``, ``stop``, ``status``, ``resolve``.

    Args:
        prog: The program's name in its usage line.
    """
    top = argparse.ArgumentParser(
        prog=prog,
        description="Apache Kafka from Maven Central in KRaft mode on loopback ports.",
    )
    commands = top.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("start", _start, "start a cluster in the background"),
        ("run", _run, "start a cluster in the foreground until Ctrl-C"),
        ("stop", _stop, "stop the background cluster"),
        ("status", _status, "show the background cluster's nodes and metadata"),
        ("resolve", _resolve, "only resolve the Kafka jars with Maven"),
    ):
        command = commands.add_parser(name, help=text)
        command.set_defaults(handler=handler)
        if name in ("start", "run", "resolve"):
            command.add_argument(
                "--version", default=KAFKA_VERSION, help="the Apache Kafka version from Maven"
            )
        if name in ("start", "run"):
            _cluster_options(command)
    return top


def main(argv: list[str] | None = None, prog: str = "python -m kafka_kit.local_kafka") -> int:
    """Entry point of the local Kafka launcher's command line."""
    args = parser(prog).parse_args(argv)
    return int(args.handler(args))


if __name__ == "__main__":
    sys.exit(main())
