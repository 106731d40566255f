"""The listener's periodic INFO summary, on a fake clock."""

from __future__ import annotations

import logging

import pytest

from kafka_kit.listener.observer import ProgressLog


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_interval_with_the_counts_and_the_rate(
    caplog: pytest.LogCaptureFixture,
) -> None:
    clock = Clock()
    progress = ProgressLog("orders", 10, clock)
    caplog.set_level(logging.INFO, "kafka_kit.listener")
    progress.count("handled", 400)
    progress.count("dead_lettered", 2)
    clock.now += 9.9
    progress.tick()
    assert caplog.messages == []  # not yet
    clock.now += 0.1
    progress.count("handled", 600)
    assert caplog.messages == [
        "listener orders: handled 1,000 records in 10 s (100/s); 2 dead-lettered"
    ]
    clock.now += 10
    progress.tick()
    assert len(caplog.messages) == 1  # an idle interval says nothing


def test_an_idle_interval_does_not_dilute_the_next_rate(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    progress = ProgressLog("orders", 10, clock)
    caplog.set_level(logging.INFO, "kafka_kit.listener")
    clock.now += 60
    progress.tick()  # idle: the interval restarts here
    progress.count("handled", 50)
    clock.now += 10
    progress.tick()
    assert caplog.messages == ["listener orders: handled 50 records in 10 s (5/s)"]


def test_zero_turns_it_off() -> None:
    assert ProgressLog.every("orders", 0) is None
    assert ProgressLog.every("orders", 5) is not None
