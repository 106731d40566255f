import logging

import pytest

from consumer_service.event_stats import LateLog


def test_late_events_are_one_warning_per_interval(caplog: pytest.LogCaptureFixture) -> None:
    now = [100.0]
    late = LateLog(interval_s=10, clock=lambda: now[0])
    caplog.set_level(logging.WARNING, "consumer_service.event_stats")
    late.note("order.created", 500)  # the first: said at once
    for _ in range(999):
        late.note("order.paid", 700)
    assert len(caplog.records) == 1
    now[0] += 10
    late.note("order.created", 900)
    assert len(caplog.records) == 2
    assert "1000 event(s) of type(s) order.created, order.paid" in caplog.records[1].getMessage()
    assert "900 ms late" in caplog.records[1].getMessage()
