"""Every rule of Burrow 1.9.5's evaluator, pinned with crafted windows.

Timestamps are milliseconds; ``NOW`` is a whole second, as Burrow's clock is. The situations
follow the kinds Burrow's own evaluator tests cover (written here as our own cases).
"""

from __future__ import annotations

from kafka_kit.lag.evaluator import (
    CommitSample,
    Status,
    evaluate_group,
    evaluate_partition,
    partition_rule,
)

NOW = 1_000_000


def window(*points: tuple[int, int, int | None]) -> list[CommitSample]:
    """(offset, timestamp, lag) triples, oldest first."""
    return [CommitSample(offset, ts, lag, order=i) for i, (offset, ts, lag) in enumerate(points)]


# Commits every 100 s from t=100 s to t=500 s, lag going up from 0.
CLIMBING = window((1000, 100_000, 0), (2000, 200_000, 50), (3000, 300_000, 100),
                  (4000, 400_000, 150), (5000, 500_000, 200))  # fmt: skip
# The same offsets, never caught up.
BEHIND = window((1000, 100_000, 50), (2000, 200_000, 100), (3000, 300_000, 150),
                (4000, 400_000, 200), (5000, 500_000, 250))  # fmt: skip


def rule(samples: list[CommitSample], current_lag: int, now_s: int, **kw: object) -> Status:
    ends = kw.pop("log_ends", [])
    return partition_rule(samples, ends, current_lag, now_s * 1000, **kw)  # type: ignore[arg-type]


def test_no_current_lag_is_ok_whatever_the_window() -> None:
    assert rule(BEHIND, current_lag=0, now_s=1000) is Status.OK  # would be STOP otherwise


def test_lag_zero_in_the_window_keeps_a_committing_group_ok() -> None:
    assert rule(CLIMBING, current_lag=200, now_s=600) is Status.OK


def test_silence_as_long_as_the_span_is_not_yet_stop() -> None:
    # 400 s since the last commit = the window's span (500 s - 100 s): not longer.
    assert rule(CLIMBING, current_lag=200, now_s=900) is Status.OK


def test_stop_comes_first_even_after_lag_zero() -> None:
    # A consumer that died while caught up: its window keeps the lag-0 commit for ever.
    assert rule(CLIMBING, current_lag=200, now_s=1000) is Status.STOP
    assert rule(BEHIND, current_lag=250, now_s=1000) is Status.STOP


def test_stop_waits_while_a_recent_log_end_was_at_the_last_commit() -> None:
    caught_up = window(*((5000 + n, 1_000_000 + 1000 * n, 0) for n in range(15)))
    now_s = 1_000 + 33
    behind = rule(caught_up, current_lag=931, now_s=now_s, log_ends=[5945, 5900, 5800])
    assert behind is Status.STOP
    # One of the recent log-end samples was at the last committed offset (5014).
    just_now = rule(caught_up, current_lag=1, now_s=now_s, log_ends=[5015, 5014, 5014])
    assert just_now is Status.OK


def test_stop_uses_whole_seconds_as_burrow_does() -> None:
    one = window((10, 5_000, 3))  # a single commit: the span is 0, and one offset is a stall
    assert rule(one, current_lag=3, now_s=5) is Status.STALL  # 5 000 - 5 000 is not > 0
    assert partition_rule(one, [], 3, 5_999) is Status.STALL  # 5.999 s is still second 5
    assert partition_rule(one, [], 3, 6_000) is Status.STOP


def test_same_offset_with_lag_is_stall_but_lag_zero_once_makes_it_ok() -> None:
    stuck = window(*((1000, 100_000 * n, 50 * n + 50) for n in range(1, 6)))
    assert rule(stuck, current_lag=300, now_s=600) is Status.STALL
    flat = window(*((1000, 100_000 * n, 100) for n in range(1, 6)))
    assert rule(flat, current_lag=100, now_s=600) is Status.STALL
    was_zero = window((1000, 100_000, 0), *((1000, 100_000 * n, 50) for n in range(2, 6)))
    assert rule(was_zero, current_lag=200, now_s=600) is Status.OK


def test_rewind_that_recovered_is_not_held_against_the_group() -> None:
    recovered = window((1000, 100_000, 100), (2000, 200_000, 150), (3000, 300_000, 200),
                       (2000, 400_000, 1250), (4000, 500_000, 300))  # fmt: skip
    assert rule(recovered, current_lag=300, now_s=600) is Status.OK


def test_rewind_not_yet_recovered_is_rewind() -> None:
    rewound = window((1000, 100_000, 100), (2000, 200_000, 150), (3000, 300_000, 200),
                     (2000, 400_000, 1250), (2500, 500_000, 300))  # fmt: skip
    assert rule(rewound, current_lag=300, now_s=600) is Status.REWIND


def test_rewind_is_reported_even_after_lag_zero() -> None:
    # Caught up, then reset to an early offset: lag 0 in the window must not hide it.
    reset = window((900, 100_000, 0), (1000, 200_000, 0), (10, 300_000, 990), (20, 400_000, 980))
    assert rule(reset, current_lag=980, now_s=450) is Status.REWIND


def test_stop_ranks_above_rewind() -> None:
    rewound = window((3000, 100_000, 100), (2000, 200_000, 1100))
    assert rule(rewound, current_lag=1100, now_s=1000) is Status.STOP
    assert rule(rewound, current_lag=1100, now_s=250) is Status.REWIND


def test_progress_with_lag_never_decreasing_is_warn() -> None:
    assert rule(BEHIND, current_lag=250, now_s=600) is Status.WARN


def test_lag_decreasing_somewhere_is_ok() -> None:
    busy = window((100, 100_000, 5), (200, 200_000, 9), (300, 300_000, 4), (400, 400_000, 8))
    assert rule(busy, current_lag=8, now_s=450) is Status.OK


def test_commits_of_unknown_lag_are_skipped_by_the_lag_rules() -> None:
    gaps = window((1000, 100_000, 0), (1500, 150_000, None), (2000, 200_000, 50),
                  (2500, 250_000, None), (3000, 300_000, 100))  # fmt: skip
    assert rule(gaps, current_lag=100, now_s=350) is Status.OK  # lag 0 is in the window
    unknown = window((1000, 100_000, None), (1500, 150_000, 30), (2000, 200_000, None),
                     (2500, 250_000, 20))  # fmt: skip
    assert rule(unknown, current_lag=20, now_s=300) is Status.OK  # 30 → 20 went down
    rising = window((1000, 100_000, None), (1500, 150_000, 20), (2000, 200_000, None),
                    (2500, 250_000, 30))  # fmt: skip
    assert rule(rising, current_lag=30, now_s=300) is Status.WARN


def test_allowed_lag_counts_as_caught_up() -> None:
    small = window((1000, 100_000, 2), (2000, 200_000, 1), (2000, 300_000, 1))
    # Stopped by the timestamps, but its lag is within the allowed lag.
    assert rule(small, current_lag=1, now_s=550, allowed_lag=1) is Status.OK
    stuck = window(*((1000, 100_000 * n, 50 * n + 50) for n in range(1, 6)))
    assert rule(stuck, current_lag=300, now_s=600, allowed_lag=99) is Status.STALL
    assert rule(stuck, current_lag=300, now_s=600, allowed_lag=100) is Status.OK


def test_a_partial_window_is_incomplete_and_still_judged() -> None:
    slots = [None] * 5 + BEHIND
    status = evaluate_partition("t", 3, slots, [], current_lag=250, now_ms=600_000)
    assert status.complete == 0.5
    assert status.start == BEHIND[0] and status.end == BEHIND[-1]
    assert status.status is Status.WARN


def test_minimum_complete_leaves_short_windows_unjudged() -> None:
    slots = [None] * 5 + BEHIND
    status = evaluate_partition(
        "t", 3, slots, [], current_lag=250, now_ms=600_000, minimum_complete=0.6
    )
    assert status.status is Status.OK and status.complete == 0.5


def test_partition_without_a_window_is_ok_and_not_complete() -> None:
    status = evaluate_partition("t", 1, [], [], current_lag=0, now_ms=NOW)
    assert (status.status, status.complete, status.start, status.end) == (
        Status.OK, 0.0, None, None,
    )  # fmt: skip


def test_empty_window_counts_one_slot_as_burrow_does() -> None:
    # A partition with an owner but no commit yet: Burrow reports 1/window complete.
    status = evaluate_partition("t", 1, [None] * 10, [], current_lag=0, now_ms=NOW)
    assert (status.status, status.complete, status.start, status.end) == (
        Status.OK, 0.1, None, None,
    )  # fmt: skip


def test_group_is_the_worst_partition_capped_at_err() -> None:
    def part(n: int, samples: list[CommitSample], lag: int) -> object:
        return evaluate_partition("t", n, samples, [], current_lag=lag, now_ms=600_000)

    ok = part(0, CLIMBING, 200)
    warn = part(1, BEHIND, 250)
    stall = part(2, window(*((7, 100_000 * n, 90) for n in range(1, 6))), 90)
    unread = evaluate_partition("t", 3, [], [], current_lag=0, now_ms=600_000)
    assert evaluate_group("c", "g", [ok]).status is Status.OK  # type: ignore[list-item]
    group = evaluate_group("c", "g", [ok, warn])  # type: ignore[list-item]
    assert group.status is Status.WARN
    group = evaluate_group("c", "g", [ok, warn, stall, unread])  # type: ignore[list-item]
    assert group.status is Status.ERR
    assert group.maxlag is warn  # the first partition with the largest lag
    assert group.totallag == 200 + 250 + 90
    assert group.partition_count == 4
    assert group.complete == 3 / 4  # the partition without commits is not complete


def test_group_without_partitions_is_ok_and_not_complete() -> None:
    group = evaluate_group("c", "g", [])
    assert (group.status, group.complete, group.maxlag, group.totallag) == (
        Status.OK, 0.0, None, 0,
    )  # fmt: skip
