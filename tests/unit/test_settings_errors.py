"""A bad environment variable is named in one line, and entry points exit 2 before starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kafka_kit import KafkaSettings
from kafka_kit._internal.environment import invalid_settings, setting_rows
from kafka_kit.settings import LagSettings
from scripts.service_settings import SERVICE_SETTINGS

ROOT = Path(__file__).resolve().parents[2]


def test_each_bad_variable_is_one_line_naming_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_PRODUCER_ACKS", "7")
    monkeypatch.setenv("KAFKA_REQUEST_TIMEOUT_MS", "-1")
    monkeypatch.setenv("KAFKA_CONSUMER_MAX_POLL_RECORDS", "many")
    monkeypatch.setenv("LAG_CLUSTERS", "{not json")
    lines = invalid_settings(KafkaSettings, LagSettings)
    assert lines[0] == "KAFKA_REQUEST_TIMEOUT_MS=-1: must be greater than 0"
    assert "KAFKA_PRODUCER_ACKS=7: must be 0, 1 or all" in lines
    assert any(line.startswith("KAFKA_CONSUMER_MAX_POLL_RECORDS=many: ") for line in lines)
    assert any(line.startswith("LAG_CLUSTERS={not json: not valid JSON") for line in lines)
    assert len(lines) == 4


def test_valid_settings_have_nothing_to_say() -> None:
    assert invalid_settings(*SERVICE_SETTINGS) == []


def test_every_setting_is_described() -> None:
    rows = setting_rows(*SERVICE_SETTINGS)
    assert [row.name for row in rows if not row.meaning] == []
    assert len({row.name for row in rows}) == len(rows)


@pytest.mark.parametrize("service", ["producer_service", "consumer_service"])
def test_a_service_refuses_to_start_with_one_line(service: str) -> None:
    env = {**os.environ, "KAFKA_PRODUCER_ACKS": "7", "LAG_WINDOW": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "uvicorn", f"{service}.main:app", "--port", "1"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    expected = ["KAFKA_PRODUCER_ACKS=7: must be 0, 1 or all"]
    if service == "consumer_service":
        expected.append("LAG_WINDOW=1: must be greater than or equal to 2")
    assert done.stderr.splitlines() == expected
