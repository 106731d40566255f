"""The example topology in the consumer service's own processes: kill -9, restore, two instances."""

from __future__ import annotations

import asyncio
import json
import os
import random
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx

from kafka_kit.local_kafka.cluster import free_ports
from kafka_kit.testing import wait_until
from tests.app_helpers import service_process
from tests.kafka_helpers import create_topic, read_to_end
from tests.streams_helpers import event, produce_events, recount

Report = Callable[[dict[str, object]], None]
PARTITIONS = 3


def _env(bootstrap: str, topic: str, port: int, state_dir: Path) -> dict[str, str]:
    return {
        **os.environ,
        "KAFKA_BOOTSTRAP_SERVERS": bootstrap,
        "EVENTS_TOPIC": topic,
        "EVENTS_PARTITIONS": str(PARTITIONS),
        "EVENT_LOG_GROUP_ID": f"store-{topic}",
        "EVENT_STORE_URL": f"sqlite:///{state_dir}/events.db",
        "EVENT_STATS_ENABLED": "true",
        "KAFKA_STREAMS_APPLICATION_ID": f"stats-{topic}",
        "KAFKA_STREAMS_APPLICATION_SERVER": f"http://127.0.0.1:{port}",
        "KAFKA_STREAMS_SESSION_TIMEOUT_S": "6",
        "KAFKA_STREAMS_STATE_DIR": str(state_dir / "state"),
    }


async def _get(url: str, **options: Any) -> httpx.Response | None:
    try:
        async with httpx.AsyncClient(timeout=5, **options) as client:
            return await client.get(url)
    except httpx.HTTPError:
        return None


async def _streams(base: str) -> dict[str, Any]:
    answer = await _get(f"{base}/streams")
    return answer.json() if answer is not None and answer.status_code == 200 else {}


async def _running(base: str) -> bool:
    streams = await _streams(base)
    return streams.get("state") == "RUNNING" and streams.get("restore") is not None


def _stop(process: subprocess.Popen[str]) -> None:
    process.kill()
    process.wait()


async def test_kill_9_mid_stream_restores_state_and_counts_each_event_once(
    kafka_bootstrap_servers: str, topic_name: str, tmp_path: Path, report: Report
) -> None:
    bootstrap = kafka_bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=PARTITIONS)
    (port,) = free_ports(1)
    base = f"http://127.0.0.1:{port}"
    env = _env(bootstrap, topic_name, port, tmp_path / "first")
    rng = random.Random(18)
    now = time.time()
    keys = 1000
    events = [event(f"c{n % keys}", f"t{n % 4}", now - rng.uniform(0, 20)) for n in range(6000)]
    sent = events + rng.sample(events, 300)  # redeliveries of the same events (same ids)
    rng.shuffle(sent)
    output = f"stats-{topic_name}-per-key"
    process = service_process("consumer_service.main", port, env)
    try:
        await wait_until(lambda: _running(base), 90, "the topology running")
        producing = asyncio.create_task(produce_events(bootstrap, topic_name, sent))

        async def processed_at_least(count: int) -> bool:
            done = (await _streams(base)).get("records_processed", {}).get(topic_name, 0)
            return bool(done >= count)

        await wait_until(lambda: processed_at_least(2000), 120, "2000 events processed")
        process.kill()  # SIGKILL, mid-stream: its open transaction is left to be aborted
        process.wait()
        await producing
        expected, ids = recount(await read_to_end(bootstrap, topic_name))
        process = service_process("consumer_service.main", port, env)
        await wait_until(lambda: _running(base), 120, "the topology running again")
        after_kill = (await _streams(base))["restore"]

        async def counted(wanted: dict[str, int]) -> bool:
            records = await read_to_end(bootstrap, output, isolation_level="read_committed")
            return {r.key.decode(): json.loads(r.value)["count"] for r in records} == wanted

        await wait_until(lambda: counted(dict(expected)), 180, "every key counted")
        records = await read_to_end(bootstrap, output, isolation_level="read_committed")
        _stop(process)
        # A new machine: no local state at all, every store rebuilt from its changelog.
        env = _env(bootstrap, topic_name, port, tmp_path / "second")
        process = service_process("consumer_service.main", port, env)
        await wait_until(lambda: _running(base), 180, "the topology running on empty state")
        from_changelog = (await _streams(base))["restore"]
        sample = rng.sample(sorted(expected), 25)
        answers = {key: await _get(f"{base}/streams/keys/{key}") for key in sample}
    finally:
        _stop(process)
    report(
        {
            "events": len(ids),
            "sent_with_duplicates": len(sent),
            "keys": keys,
            "running_after_kill_s": after_kill["seconds"],
            "running_on_empty_state_s": from_changelog["seconds"],
        }
    )
    # Exactly once: one committed output record per distinct event, counts equal the recount.
    assert len(records) == len(ids) == len(events)
    for key, answer in answers.items():
        assert answer is not None and answer.status_code == 200, key
        assert answer.json()["count"] == expected[key]
        assert answer.json()["source"]["store"] == "per-key"


async def test_two_instances_share_the_partitions_and_route_queries_to_the_owner(
    kafka_bootstrap_servers: str, topic_name: str, tmp_path: Path, report: Report
) -> None:
    bootstrap = kafka_bootstrap_servers
    await create_topic(bootstrap, topic_name, partitions=PARTITIONS)
    ports = free_ports(2)
    bases = [f"http://127.0.0.1:{port}" for port in ports]
    processes = [
        service_process(
            "consumer_service.main", port, _env(bootstrap, topic_name, port, tmp_path / str(port))
        )
        for port in ports
    ]
    try:

        async def shared() -> bool:
            states = [await _streams(base) for base in bases]
            if not all(state.get("state") == "RUNNING" for state in states):
                return False
            owned = [
                {p for p in state["assigned_partitions"] if p.startswith(f"{topic_name}-")}
                for state in states
            ]
            return all(owned) and not owned[0] & owned[1] and len(owned[0] | owned[1]) == 3

        await wait_until(shared, 120, "both instances running, each with its own partitions")
        now = time.time()
        events = [event(f"c{n % 40}", "order", now) for n in range(400)]
        await produce_events(bootstrap, topic_name, events)
        expected, _ = recount(await read_to_end(bootstrap, topic_name))

        async def all_counted() -> bool:
            for key, count in expected.items():
                answer = await _get(f"{bases[0]}/streams/keys/{key}", follow_redirects=True)
                if answer is None or answer.status_code != 200 or answer.json()["count"] != count:
                    return False
            return True

        await wait_until(all_counted, 120, "every key counted, asked of the first instance")
        served_by: dict[str, int] = {}
        for key in expected:
            direct = [await _get(f"{base}/streams/keys/{key}") for base in bases]
            assert all(answer is not None for answer in direct)
            codes = sorted(answer.status_code for answer in direct if answer is not None)
            assert codes == [200, 307], (key, codes)
            owner = next(i for i, a in enumerate(direct) if a is not None and a.status_code == 200)
            other = direct[1 - owner]
            assert other is not None
            assert other.headers["location"] == f"{bases[owner]}/streams/keys/{key}"
            assert direct[owner].json()["source"]["instance"] == bases[owner]  # type: ignore[union-attr]
            served_by[key] = owner
        # A type's windows, asked of either instance: the window store of its partition's owner.
        windows = await _get(f"{bases[1]}/streams/types/order", follow_redirects=True)
        assert windows is not None and windows.status_code == 200
        assert sum(w["count"] for w in windows.json()["windows"]) == len(events)
        group = f"stats-{topic_name}"

        async def lag_monitored() -> bool:
            answer = await _get(f"{bases[0]}/v3/kafka/local/consumer/{group}/status")
            return answer is not None and answer.status_code == 200

        # Its consumer group is watched like any other (offsets committed in transactions).
        await wait_until(lag_monitored, 120, "the streams group in the lag monitor")
        metrics = await _get(f"{bases[1]}/metrics")
        assert metrics is not None
        assert (
            f'kafka_streams_state{{application_id="{group}",state="RUNNING"}} 1.0' in metrics.text
        )
    finally:
        for process in processes:
            _stop(process)
    report({"keys": len(expected), "served_by_first": sum(1 for o in served_by.values() if o == 0)})
    assert 0 < sum(served_by.values()) < len(served_by)  # both instances own some keys
