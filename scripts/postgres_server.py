"""A private PostgreSQL server (tests, `./dev demo --connect`): initdb in a scratch folder, a free
port, stopped after."""

from __future__ import annotations

import contextlib
import glob
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

from kafka_kit.local_kafka.cluster import free_ports


def _binary(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    return candidates[-1] if candidates else None


def available() -> bool:
    """Whether PostgreSQL's server programs are installed (Debian: package postgresql)."""
    return _binary("initdb") is not None and _binary("pg_ctl") is not None


@contextlib.contextmanager
def postgres_server(*, fsync: bool = False) -> Iterator[str]:
    """Yield the DSN of a fresh server; PostgreSQL refuses to run as root, so root runs it as
    the ``postgres`` user. Tests run it with ``fsync`` off; benchmarks that compare stores on
    durability keep it on."""
    initdb, pg_ctl = _binary("initdb"), _binary("pg_ctl")
    assert initdb and pg_ctl, "PostgreSQL server programs not found (apt-get install postgresql)"
    prefix: list[str] = []
    directory = Path(tempfile.mkdtemp(prefix="kafka-kit-pg-"))
    if os.geteuid() == 0:
        prefix = ["runuser", "-u", "postgres", "--"]
        shutil.chown(directory, "postgres", "postgres")
    data, socket_dir, log = directory / "data", directory, directory / "server.log"
    (port,) = free_ports(1)

    def run(*args: str) -> None:
        subprocess.run([*prefix, *args], check=True, capture_output=True, timeout=120)

    run(initdb, "-D", str(data), "-A", "trust", "-U", "postgres", "--no-sync")
    # wal_level=logical: Debezium reads changes through a logical replication slot; a slot
    # whose reader was killed is freed after wal_sender_timeout (so a moved task can take it).
    sync = "on" if fsync else "off"
    options = (
        f"-p {port} -k {socket_dir} -c listen_addresses=127.0.0.1 -c fsync={sync} "
        "-c wal_level=logical -c max_replication_slots=10 -c max_wal_senders=10 "
        "-c wal_sender_timeout=5s"
    )
    run(pg_ctl, "-D", str(data), "-o", options, "-l", str(log), "-w", "start")
    try:
        yield f"postgresql://postgres@127.0.0.1:{port}/postgres"
    finally:
        with contextlib.suppress(Exception):
            run(pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(directory, ignore_errors=True)
