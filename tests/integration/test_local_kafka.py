"""The launcher: a real Apache Kafka in KRaft mode, ready when it says so, gone when stopped."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic

from kafka_kit.errors import KafkaLaunchError
from kafka_kit.local_kafka import KAFKA_VERSION, LocalKafkaCluster
from kafka_kit.local_kafka.cluster import remove_stale_runs
from kafka_kit.local_kafka.processes import cmdline, pid_alive
from kafka_kit.local_kafka.readiness import describe_cluster
from kafka_kit.testing import ProvidedKafka, wait_until_sync

ROOT = Path(__file__).resolve().parents[2]


async def test_single_broker_answers_metadata(kafka_broker: ProvidedKafka) -> None:
    seen = await describe_cluster(kafka_broker.bootstrap_servers)
    assert len(seen.broker_ids) == 1
    assert seen.controller_id in seen.broker_ids
    if kafka_broker.cluster is not None:
        node = kafka_broker.cluster.nodes[0]
        config = node.config_file.read_text()
        assert "process.roles=broker,controller" in config
        assert "zookeeper" not in config
        assert "kafka.Kafka" in cmdline(node.pid or 0)
        assert f"kafka_2.13-{KAFKA_VERSION}.jar" in "".join(
            os.listdir(kafka_broker.cluster._classpath or ".")
        )


async def test_offsets_start_at_zero_and_records_stay_after_reading(
    kafka_bootstrap_servers: str, topic_name: str
) -> None:
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_bootstrap_servers)
    await admin.start()
    await admin.create_topics([NewTopic(topic_name, 1, 1)])
    await admin.close()
    producer = AIOKafkaProducer(bootstrap_servers=kafka_bootstrap_servers)
    await producer.start()
    offsets = [
        (await producer.send_and_wait(topic_name, f"v{i}".encode())).offset for i in range(3)
    ]
    await producer.stop()
    assert offsets == [0, 1, 2]

    async def read_all(group: str) -> list[tuple[int, bytes]]:
        consumer = AIOKafkaConsumer(
            topic_name,
            bootstrap_servers=kafka_bootstrap_servers,
            group_id=group,
            auto_offset_reset="earliest",
            enable_auto_commit=False,
        )
        await consumer.start()
        got: list[tuple[int, bytes]] = []
        try:
            while len(got) < 3:
                batch = await consumer.getmany(timeout_ms=5000)
                assert batch, "no records within 5 s"
                got += [(r.offset, r.value) for rs in batch.values() for r in rs]
            await consumer.commit()
        finally:
            await consumer.stop()
        return got

    first = await read_all("reader-a")
    # Reading does not remove: a second group reads the same records from offset 0.
    assert await read_all("reader-b") == first == [(0, b"v0"), (1, b"v1"), (2, b"v2")]


@pytest.mark.cluster
async def test_three_nodes_replicate_every_partition(kafka_cluster: ProvidedKafka) -> None:
    seen = await describe_cluster(kafka_cluster.bootstrap_servers)
    assert len(seen.broker_ids) == 3
    admin = AIOKafkaAdminClient(bootstrap_servers=kafka_cluster.bootstrap_servers)
    await admin.start()
    try:
        await admin.create_topics([NewTopic("replicated-check", 3, 3)])
        topic = None
        for _ in range(50):
            (topic,) = await admin.describe_topics(["replicated-check"])
            if topic["partitions"] and all(len(p["isr"]) == 3 for p in topic["partitions"]):
                break
            await asyncio.sleep(0.1)
        assert topic is not None
        leaders = set()
        for partition in topic["partitions"]:
            assert sorted(partition["replicas"]) == list(seen.broker_ids)
            assert sorted(partition["isr"]) == list(seen.broker_ids)
            assert partition["leader"] in partition["replicas"]
            leaders.add(partition["leader"])
        # Kafka spreads leadership: three partitions, three different leaders.
        assert len(leaders) == 3
    finally:
        await admin.delete_topics(["replicated-check"])
        await admin.close()


def test_broker_that_dies_at_start_raises_with_its_log_and_leaves_nothing() -> None:
    cluster = LocalKafkaCluster(1, broker_config={"authorizer.class.name": "no.such.Authorizer"})
    with pytest.raises(KafkaLaunchError) as raised:
        cluster.start()
    assert "no.such.Authorizer" in str(raised.value)
    assert all(not node.is_running() for node in cluster.nodes)


def test_readiness_is_bounded_and_reports_the_log_tail() -> None:
    cluster = LocalKafkaCluster(1, startup_timeout_s=0.5)
    with pytest.raises(KafkaLaunchError) as raised:
        cluster.start()
    message = str(raised.value)
    assert "not ready within" in message
    assert f"--- node 1 ({cluster.nodes[0].log_file}) ---" in message
    assert all(not node.is_running() for node in cluster.nodes)


def test_stop_is_graceful_then_removes_the_data() -> None:
    cluster = LocalKafkaCluster(1).start()
    node = cluster.nodes[0]
    pid = node.pid
    assert pid is not None and pid_alive(pid)
    cluster.stop(keep_data=True)
    assert not pid_alive(pid)
    # SIGTERM, not SIGKILL: the broker ran its controlled shutdown to the end.
    assert f"[BrokerServer id={node.node_id}] shut down completed" in node.log_tail(400)
    cluster.stop()
    assert cluster.directory is not None and not cluster.directory.exists()


def test_a_run_whose_owner_lives_is_not_stale_while_its_brokers_are_stopped() -> None:
    # Another launcher starting meanwhile (a second test session, ./dev demo) must not delete
    # the run of a test that stopped its broker to restart it.
    cluster = LocalKafkaCluster(1).start()
    try:
        cluster.stop_node(1)
        remove_stale_runs()
        assert cluster.directory is not None and cluster.nodes[0].directory.exists()
        cluster.start_node(1)
        assert cluster.nodes[0].is_running()
    finally:
        cluster.stop()


def test_killing_the_owner_kills_its_brokers(tmp_path: Path) -> None:
    script = (
        "import json, sys, time\n"
        "from kafka_kit.local_kafka import LocalKafkaCluster\n"
        "c = LocalKafkaCluster(1).start()\n"
        "print(json.dumps([n.pid for n in c.nodes]), flush=True)\n"
        "time.sleep(600)\n"
    )
    owner = subprocess.Popen(
        [sys.executable, "-c", script], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert owner.stdout is not None
        pids = json.loads(owner.stdout.readline())
        assert pids and all(pid_alive(p) for p in pids)
    finally:
        owner.send_signal(signal.SIGKILL)  # no atexit, no finally: only the kernel can help
        owner.wait()
    wait_until_sync(lambda: not any(pid_alive(p) for p in pids), 15, "the orphaned JVM to die")


def test_command_line_start_status_stop_with_a_connect_worker(tmp_path: Path) -> None:
    env = {**os.environ, "KAFKA_LOCAL_STATE": str(tmp_path / "state")}

    def cli(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "kafka_kit.local_kafka", *args],
            cwd=ROOT,
            env=env,
            check=False,
            capture_output=True,
            text=True,
            timeout=180,
        )

    assert cli("status").returncode == 3
    started = cli("start", "--connect", "1")
    assert started.returncode == 0, started.stderr
    assert "export KAFKA_BOOTSTRAP_SERVERS=127.0.0.1:" in started.stdout
    connect_url = started.stdout.split("export CONNECT_URL=")[1].split()[0]
    try:
        status = cli("status")
        assert status.returncode == 0, status.stdout + status.stderr
        assert "node 1: running" in status.stdout
        assert "brokers [1]" in status.stdout
        run_dir = Path((tmp_path / "state").read_text())
        pid = json.loads((run_dir / "cluster.json").read_text())["nodes"][0]["pid"]
        # The Connect worker outlived the command that started it, and answers.
        (worker_pid,) = json.loads((run_dir / "connect.json").read_text()).values()
        assert httpx.get(f"{connect_url}/connectors", timeout=10).json() == []
    finally:
        stopped = cli("stop")
    assert stopped.returncode == 0
    assert not pid_alive(pid) and not pid_alive(worker_pid)
    assert not run_dir.exists()  # nothing left behind
    assert cli("status").returncode == 3


def test_a_node_restarted_from_a_short_lived_thread_survives_the_thread() -> None:
    # The parent-death signal is tied to the thread that started the JVM, not the process.
    with LocalKafkaCluster(1) as cluster:
        cluster.stop_node(1)
        starter = threading.Thread(target=cluster.start_node, args=(1,))
        starter.start()
        starter.join()
        node = cluster.nodes[0]
        deadline = time.monotonic() + 3
        while time.monotonic() < deadline:  # watch for a kill that would follow the thread
            assert node.is_running(), "the JVM died with the thread that started it"
            time.sleep(0.1)
        cluster.wait_until_ready(30)
