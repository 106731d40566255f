"""The services' garbage-collector tuning: applied while open, restored after, cycles freed."""

from __future__ import annotations

import gc
import weakref

import pytest

from kafka_kit.web.gc_tuning import GcSettings, tuned_garbage_collector


class _Node:
    def __init__(self) -> None:
        self.other: _Node | None = None


def test_tuning_applies_and_restores() -> None:
    before = gc.get_threshold()
    with tuned_garbage_collector(GcSettings(young_threshold=12_345)):
        assert gc.get_threshold() == (12_345, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


def test_the_last_user_restores_even_out_of_order() -> None:
    before = gc.get_threshold()
    first = tuned_garbage_collector(GcSettings(young_threshold=9_000))
    second = tuned_garbage_collector(GcSettings(young_threshold=9_000))
    first.__enter__()
    second.__enter__()
    first.__exit__(None, None, None)
    assert gc.get_threshold()[0] == 9_000  # the second service still runs
    second.__exit__(None, None, None)
    assert gc.get_threshold() == before


def test_switched_off_changes_nothing() -> None:
    before = gc.get_threshold()
    with tuned_garbage_collector(GcSettings(tune=False)):
        assert gc.get_threshold() == before
        assert gc.get_freeze_count() == 0


def test_cycles_are_still_collected_while_tuned() -> None:
    with tuned_garbage_collector(GcSettings(young_threshold=2_000)):
        a, b = _Node(), _Node()
        a.other, b.other = b, a
        gone = weakref.ref(a)
        del a, b
        assert gone() is not None  # a cycle: reference counting alone cannot free it
        # Allocation alone, no explicit gc.collect(): the raised threshold still triggers it.
        keep = [[] for _ in range(20_000)]
        assert gone() is None
        del keep


def test_settings_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_GC_YOUNG_THRESHOLD", "50000")
    monkeypatch.setenv("SERVICE_GC_TUNE", "false")
    settings = GcSettings()
    assert (settings.tune, settings.young_threshold) == (False, 50_000)
