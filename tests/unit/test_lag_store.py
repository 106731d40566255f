from kafka_kit.lag.evaluator import Status
from kafka_kit.lag.store import UNKNOWN_LAG, LagStore


def test_commits_form_a_window_and_lag_follows_the_log_end() -> None:
    store = LagStore(window=3, min_distance_ms=0)
    store.set_log_end("t", 0, 100)
    for n, offset in enumerate((10, 20, 30, 40)):
        store.add_commit("g", "t", 0, offset=offset, timestamp=1000 * n, observed_at=0)
    samples = list(store.groups["g"][("t", 0)].samples)
    assert [s.offset for s in samples] == [20, 30, 40]  # the oldest fell out
    assert [s.lag for s in samples] == [80, 70, 60]
    assert store.current_lag("g", "t", 0) == 60
    store.set_log_end("t", 0, 150)
    assert store.current_lag("g", "t", 0) == 110


def test_close_commits_replace_the_last_sample() -> None:
    store = LagStore(window=5, min_distance_ms=1000)
    store.add_commit("g", "t", 0, offset=1, timestamp=10_000, observed_at=0)
    store.add_commit("g", "t", 0, offset=2, timestamp=10_400, observed_at=0)
    store.add_commit("g", "t", 0, offset=3, timestamp=11_500, observed_at=0)
    assert [s.offset for s in store.groups["g"][("t", 0)].samples] == [2, 3]


def test_lag_unknown_until_the_first_log_end_then_backfilled() -> None:
    store = LagStore(window=5, min_distance_ms=0)
    store.add_commit("g", "t", 1, offset=7, timestamp=1, observed_at=0)
    assert store.groups["g"][("t", 1)].samples[0].lag == UNKNOWN_LAG
    store.set_log_end("t", 1, 12)
    assert store.groups["g"][("t", 1)].samples[0].lag == 5


def test_group_lag_report_and_totals() -> None:
    store = LagStore(window=5, min_distance_ms=0)
    for topic, partition, end, committed in (("a", 0, 10, 4), ("a", 1, 8, 8), ("b", 0, 30, 10)):
        store.set_log_end(topic, partition, end)
        store.add_commit("g", topic, partition, offset=committed, timestamp=1, observed_at=0)
    report = store.group_lag("g")
    assert [
        (p.topic, p.partition, p.log_end_offset, p.committed_offset, p.lag)
        for p in report.partitions
    ] == [
        ("a", 0, 10, 4, 6),
        ("a", 1, 8, 8, 0),
        ("b", 0, 30, 10, 20),
    ]
    assert report.total_lag == 26
    assert report.lag_by_topic == {"a": 6, "b": 20}


def test_tombstones_expiry_owners_and_evaluation() -> None:
    store = LagStore(window=2, min_distance_ms=0)
    store.set_log_end("t", 0, 50)
    store.add_commit("g", "t", 0, offset=10, timestamp=1_000, observed_at=0)
    store.add_commit("g", "t", 0, offset=10, timestamp=2_000, observed_at=0)
    store.set_owners("g", {("t", 0): ("10.0.0.1", "client-1")})
    assert store.groups["g"][("t", 0)].owner == "10.0.0.1"
    status = store.evaluate("c", "g", now_ms=2_500)
    assert status.partitions[0].status is Status.STALL and status.status is Status.ERR
    assert store.expire(older_than_ms=1_500) == []
    assert store.expire(older_than_ms=3_000) == ["g"]
    store.add_commit("h", "t", 0, offset=1, timestamp=1, observed_at=0)
    store.delete_commit("h", "t", 0)
    assert "h" not in store.groups
