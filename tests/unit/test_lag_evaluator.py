"""Every rule of the Burrow model, pinned with crafted windows."""

from __future__ import annotations

from kafka_kit.lag.evaluator import (
    CommitSample,
    Status,
    evaluate_group,
    evaluate_partition,
    partition_rule,
)

NOW = 1_000_000


def window(*points: tuple[int, int, int]) -> list[CommitSample]:
    """(offset, timestamp, lag) triples, oldest first."""
    return [CommitSample(offset, timestamp, lag) for offset, timestamp, lag in points]


# A healthy window: commits every 10 s up to just now, the lag going down and up.
BUSY = window((100, NOW - 40_000, 5), (200, NOW - 30_000, 9), (300, NOW - 20_000, 4),
              (400, NOW - 10_000, 8), (500, NOW - 1_000, 6))  # fmt: skip


def test_empty_window_is_ok() -> None:
    assert partition_rule([], current_lag=50, now_ms=NOW) is Status.OK


def test_no_current_lag_is_ok_whatever_the_window() -> None:
    stalled = window((5, NOW - 20_000, 3), (5, NOW - 10_000, 3), (5, NOW - 1_000, 3))
    assert partition_rule(stalled, current_lag=0, now_ms=NOW) is Status.OK


def test_lag_that_touched_zero_in_the_window_is_ok() -> None:
    touched = window((5, NOW - 90_000, 3), (9, NOW - 80_000, 0), (9, NOW - 70_000, 4))
    assert partition_rule(touched, current_lag=4, now_ms=NOW) is Status.OK  # even if stopped


def test_allowed_lag_counts_as_caught_up() -> None:
    small = window((5, NOW - 20_000, 3), (6, NOW - 10_000, 3), (7, NOW - 1_000, 3))
    assert partition_rule(small, current_lag=3, now_ms=NOW, allowed_lag=3) is Status.OK
    assert partition_rule(small, current_lag=3, now_ms=NOW, allowed_lag=2) is Status.WARN


def test_offset_going_backwards_is_rewind() -> None:
    rewound = window((500, NOW - 20_000, 10), (100, NOW - 10_000, 410), (150, NOW - 1_000, 360))
    assert partition_rule(rewound, current_lag=360, now_ms=NOW) is Status.REWIND


def test_rewind_wins_over_stop() -> None:
    old_rewind = window((500, NOW - 90_000, 10), (100, NOW - 80_000, 410))
    assert partition_rule(old_rewind, current_lag=410, now_ms=NOW) is Status.REWIND


def test_no_commit_for_longer_than_the_window_spans_is_stop() -> None:
    stopped = window((100, NOW - 60_000, 5), (200, NOW - 50_000, 4), (300, NOW - 40_000, 3))
    # The window spans 20 s; the last commit is 40 s old.
    assert partition_rule(stopped, current_lag=30, now_ms=NOW) is Status.STOP


def test_a_single_old_commit_with_lag_is_stop() -> None:
    assert partition_rule(window((7, NOW - 5_000, 3)), current_lag=3, now_ms=NOW) is Status.STOP


def test_committing_the_same_offset_is_stall() -> None:
    stalled = window((42, NOW - 20_000, 10), (42, NOW - 10_000, 12), (42, NOW - 1_000, 15))
    assert partition_rule(stalled, current_lag=15, now_ms=NOW) is Status.STALL


def test_progress_with_lag_never_decreasing_is_warn() -> None:
    slow = window((100, NOW - 20_000, 10), (110, NOW - 10_000, 10), (120, NOW - 1_000, 25))
    assert partition_rule(slow, current_lag=25, now_ms=NOW) is Status.WARN


def test_progress_with_lag_decreasing_somewhere_is_ok() -> None:
    assert partition_rule(BUSY, current_lag=6, now_ms=NOW) is Status.OK


def test_partition_completeness_and_ends() -> None:
    status = evaluate_partition("t", 3, BUSY[:3], window=10, current_lag=4, now_ms=NOW)
    assert status.complete == 0.3
    assert status.start == BUSY[0] and status.end == BUSY[2]
    full = evaluate_partition("t", 3, BUSY * 2, window=10, current_lag=4, now_ms=NOW)
    assert full.complete == 1.0


def test_group_is_the_worst_partition_capped_at_err() -> None:
    ok = evaluate_partition("t", 0, BUSY, 5, current_lag=6, now_ms=NOW)
    warn = evaluate_partition(
        "t", 1, window((1, NOW - 2000, 5), (2, NOW - 1000, 6)), 5, current_lag=6, now_ms=NOW
    )
    stall = evaluate_partition(
        "t", 2, window((1, NOW - 2000, 5), (1, NOW - 1000, 6)), 5, current_lag=90, now_ms=NOW
    )
    assert evaluate_group("c", "g", [ok]).status is Status.OK
    assert evaluate_group("c", "g", [ok, warn]).status is Status.WARN
    group = evaluate_group("c", "g", [ok, warn, stall])
    assert stall.status is Status.STALL and group.status is Status.ERR
    assert group.maxlag is stall
    assert group.totallag == 6 + 6 + 90
    assert group.partition_count == 3
    assert group.complete == 1 / 3  # only the full window counts as complete


def test_group_without_partitions_is_ok_and_complete() -> None:
    group = evaluate_group("c", "g", [])
    assert (group.status, group.complete, group.maxlag, group.totallag) == (Status.OK, 1.0, None, 0)
