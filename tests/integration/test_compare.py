"""``./dev compare``: Kafka, RabbitMQ and Redis Streams, each started here, asked the same
questions; what each system guarantees is what the table says."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from bench.compare.__main__ import main
from bench.compare.servers import missing
from kafka_kit.testing import ProvidedKafka


def test_the_comparison_runs_and_tells_the_systems_apart(
    kafka_broker: ProvidedKafka, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    lacking = missing()
    if lacking:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the comparison: install {' and '.join(lacking)}")
        pytest.skip(f"{' and '.join(lacking)} not installed here")
    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", kafka_broker.bootstrap_servers)
    assert main(["--events", "500", "--out", str(tmp_path)]) == 0
    (written,) = tmp_path.glob("compare-*.json")
    results = json.loads(written.read_text())
    kafka, rabbit, redis = results["Kafka"], results["RabbitMQ"], results["Redis Streams"]
    # Replay: Kafka and Redis keep what was read; a RabbitMQ queue made later gets nothing.
    assert kafka["replay"]["read_again"] == redis["replay"]["read_again"] == 100
    assert rabbit["replay"]["read_again"] == 0
    # Kafka keeps per-key order across a group's consumers (a key is one partition's).
    assert kafka["order"]["keys_out_of_order"] == 0
    for system in results.values():
        assert system["fan_out"]["group_a"] == system["fan_out"]["group_b"] == 100
    # A dead consumer's unacknowledged batch: redelivered by Kafka and RabbitMQ, left pending
    # with the dead consumer by Redis until someone claims it.
    assert kafka["death"]["survivor_got"] == rabbit["death"]["survivor_got"] == 100
    assert redis["death"]["survivor_got"] == 90 and redis["death"]["pending"] == 10
    assert all(s["speed"]["messages_per_s"] > 0 for s in results.values())
    assert "| per-key order" in next(tmp_path.glob("compare-*.md")).read_text()
