"""The console's pure parts: why a group has its status, the lag history and its chart."""

from __future__ import annotations

from kafka_kit.lag.evaluator import CommitSample, GroupStatus, PartitionStatus, Status
from kafka_kit.lag.history import LagHistory
from kafka_kit.lag.reasons import status_reason
from kafka_kit.lag.store import GroupLag, PartitionLag
from kafka_kit.web.console.chart import lag_chart


def _partition(status: Status, lag: int, start: CommitSample, end: CommitSample) -> PartitionStatus:
    return PartitionStatus("orders", 2, status, start, end, lag, 1.0)


def _group(*partitions: PartitionStatus) -> GroupStatus:
    worst = max((p.status for p in partitions), default=Status.OK)
    return GroupStatus("local", "g", min(worst, Status.ERR), 1.0, list(partitions), None)


def test_a_stopped_partition_is_named_with_how_long_it_has_not_committed() -> None:
    stopped = _partition(Status.STOP, 7, CommitSample(10, 1_000, 0), CommitSample(12, 3_000, 2))
    fine = PartitionStatus("orders", 0, Status.OK, None, None, 0, 1.0)
    reason = status_reason(_group(fine, stopped), now_ms=63_000)
    assert reason == (
        "1 of 2 partitions not OK; orders[2] STOP: no commit for 60 s, longer than its window "
        "spans, with lag 7"
    )


def test_each_rule_says_what_the_window_shows() -> None:
    start, end = CommitSample(10, 1_000, 5), CommitSample(10, 3_000, 9)
    assert "commits keep offset 10 while the lag is 9" in status_reason(
        _group(_partition(Status.STALL, 9, start, end)), 4_000
    )
    assert "lag not falling across the window (5 → 9, now 9)" in status_reason(
        _group(_partition(Status.WARN, 9, start, end)), 4_000
    )
    back = CommitSample(4, 3_000, 9)
    assert "the committed offset went back (window 10 … 4)" in status_reason(
        _group(_partition(Status.REWIND, 9, start, back)), 4_000
    )


def test_a_group_without_trouble_says_whether_it_is_caught_up() -> None:
    caught_up = PartitionStatus("orders", 0, Status.OK, None, None, 0, 1.0)
    behind = PartitionStatus("orders", 1, Status.OK, None, None, 5, 1.0)
    assert status_reason(_group(caught_up), 0) == "every partition is caught up"
    assert status_reason(_group(caught_up, behind), 0) == (
        "lag 5 in total, but every partition is making progress"
    )
    assert "no commit seen" in status_reason(GroupStatus.not_found("local", "g"), 0)


def _lag(group: str, *lags: int) -> GroupLag:
    return GroupLag(
        group, [PartitionLag("t", p, 100, 100 - lag, lag) for p, lag in enumerate(lags)]
    )


def test_the_history_keeps_the_last_points_per_group_and_forgets_gone_groups() -> None:
    history = LagHistory(points=3)
    for second in range(5):
        history.record(second * 1000, [_lag("a", second, 1), _lag("b", 0)])
    assert [(p.at_ms, p.total) for p in history.series("a")] == [(2000, 3), (3000, 4), (4000, 5)]
    assert history.series("a")[-1].partitions == {("t", 0): 4, ("t", 1): 1}
    history.record(5000, [_lag("a", 0)])
    assert history.series("b") == []
    assert history.series("never") == []


def test_the_chart_scales_time_left_to_right_and_lag_bottom_to_top() -> None:
    history = LagHistory()
    for at_ms, lag in ((0, 0), (1000, 5), (2000, 10)):
        history.record(at_ms, [_lag("a", lag)])
    chart = lag_chart(history.series("a"), width=104, height=54)
    assert chart.points == "2.0,52.0 52.0,27.0 102.0,2.0"
    assert chart.area == "2.0,54 2.0,52.0 52.0,27.0 102.0,2.0 102.0,54"
    assert (chart.max_lag, chart.latest, chart.samples, chart.span_s) == (10, 10, 3, 2.0)
    assert lag_chart([]).points == ""
