"""Burrow 1.9.5's storage rules for commits, windows, owners and log-end samples."""

from __future__ import annotations

from kafka_kit.lag.evaluator import Status
from kafka_kit.lag.store import LagStore

DAY_MS = 86_400_000


def store_with_topic(partitions: int = 1, end: int = 100, **kw: int) -> LagStore:
    store = LagStore(**kw)
    for p in range(partitions):
        store.set_log_end("t", p, end, partitions)
    return store


def commit(store: LagStore, offset: int, ts: int, order: int, *, group: str = "g",
           partition: int = 0, observed: int = 0) -> bool:  # fmt: skip
    return store.add_commit(group, "t", partition, offset=offset, timestamp=ts, order=order,
                            observed_at=observed or ts)  # fmt: skip


def test_commits_form_a_window_with_lag_against_the_latest_log_end() -> None:
    store = store_with_topic(window=3)
    for n, offset in enumerate((10, 20, 30, 40), start=1):
        commit(store, offset, 1000 * n, n)
    assert [s.offset for s in store.slots("g", "t", 0)] == [20, 30, 40]  # type: ignore[union-attr]
    assert [s.lag for s in store.slots("g", "t", 0)] == [80, 70, 60]  # type: ignore[union-attr]
    store.set_log_end("t", 0, 150, 1)
    assert store.current_lag("g", "t", 0) == 110
    assert store.slots("g", "t", 0)[-1].lag == 60  # type: ignore[union-attr]  # lag then


def test_frequent_commits_merge_into_the_previous_sample_keeping_its_timestamp() -> None:
    store = store_with_topic(window=5, min_distance_ms=1000)
    commit(store, 1, 10_000, 1)
    commit(store, 2, 10_400, 2)  # 400 ms later: merged
    commit(store, 3, 10_900, 3)  # 900 ms after the kept timestamp: merged again
    commit(store, 4, 11_000, 4)  # 1 000 ms after it: a new sample
    samples = [s for s in store.slots("g", "t", 0) if s is not None]
    assert [(s.offset, s.timestamp) for s in samples] == [(3, 10_000), (4, 11_000)]


def test_a_group_committing_many_times_a_second_keeps_a_moving_window() -> None:
    # Burrow's default minimum distance is 0: every commit is a sample, the window moves, and a
    # steadily consuming group with small lag is OK (not STOP because one sample never ages).
    store = store_with_topic(window=10)
    for n in range(50):
        store.set_log_end("t", 0, 100 + 5 * n + 2 + n % 3, 1)  # lag 2, 3, 4, 2, …
        commit(store, 100 + 5 * n, 1_000_000 + 200 * n, n + 1)
    samples = [s for s in store.slots("g", "t", 0) if s is not None]
    assert len(samples) == 10 and samples[0].timestamp == 1_000_000 + 200 * 40
    assert store.evaluate("c", "g", 1_000_000 + 200 * 50).status is Status.OK


def test_commits_before_the_topic_was_sampled_are_dropped() -> None:
    store = LagStore()
    assert not store.add_commit("g", "t", 1, offset=7, timestamp=1, order=1, observed_at=1)
    assert store.groups == {}
    store.set_log_end("t", 1, 12, 2)
    assert store.add_commit("g", "t", 1, offset=7, timestamp=1, order=2, observed_at=1)
    assert store.current_lag("g", "t", 1) == 5


def test_commits_read_twice_or_older_than_the_expiry_are_dropped() -> None:
    store = store_with_topic()
    assert commit(store, 5, 1000, 7)
    assert not commit(store, 5, 1000, 7)  # the reader resumed from the start
    assert not commit(store, 4, 900, 6)
    assert not commit(store, 9, 1000, 8, observed=1000 + 8 * DAY_MS)  # a week and more old
    assert len([s for s in store.slots("g", "t", 0) if s]) == 1


def test_a_commit_gives_the_group_every_partition_of_the_topic() -> None:
    store = store_with_topic(partitions=3, window=4)
    commit(store, 40, 1000, 1, partition=1)
    assert [(t, p) for t, p, _ in store.partitions("g")] == [("t", 0), ("t", 1), ("t", 2)]
    assert store.slots("g", "t", 0) == [] and store.slots("g", "t", 2) == []
    assert store.slots("g", "t", 1)[:3] == [None, None, None]
    status = store.evaluate("c", "g", 2000)
    assert status.partition_count == 3
    assert [p.complete for p in status.partitions] == [0.0, 0.25, 0.0]
    assert status.complete == 0.0


def test_owners_make_a_group_known_and_change_on_each_sample() -> None:
    store = store_with_topic(partitions=2)
    store.set_owners("members-only", {("t", 0): ("/127.0.0.1", "c-1")})
    assert "members-only" in store.groups
    # Members but no commit: listed, but Burrow has no status for it.
    assert store.evaluate("c", "members-only", 1000).status is Status.NOTFOUND
    assert store.slots("members-only", "t", 0) == [None] * 10
    commit(store, 100, 1000, 1, group="members-only")  # caught up
    status = store.evaluate("c", "members-only", 1000)
    assert status.status is Status.OK
    assert [p.owner for p in status.partitions] == ["/127.0.0.1", ""]
    store.set_owners("members-only", {("t", 1): ("/10.0.0.2", "c-2")})
    assert [(e.owner, e.client_id) for _, _, e in store.partitions("members-only")] == [
        ("", ""), ("/10.0.0.2", "c-2"),
    ]  # fmt: skip
    store.set_owners("x", {("unsampled", 0): ("/h", "c")})
    assert store.partitions("x") == []
    assert "x" in store.groups  # as Burrow: the group is made before its partition is looked up


def test_a_group_whose_members_own_nothing_is_listed_while_it_has_members() -> None:
    store = store_with_topic()
    store.set_owners("idle", {}, members=2)  # e.g. a pattern that matches no topic yet
    assert "idle" in store.groups
    assert store.expire(8 * DAY_MS) == []
    assert store.evaluate("c", "idle", 1000).status is Status.NOTFOUND  # listed, not judged
    store.set_owners("idle", {}, members=0)  # the members left
    assert store.expire(8 * DAY_MS) == ["idle"]


def test_a_deleted_group_and_a_deleted_topic_are_forgotten() -> None:
    store = store_with_topic()
    commit(store, 1, 1000, 1)
    commit(store, 1, 1000, 2, group="h")
    store.delete_group("h")
    assert "h" not in store.groups
    store.delete_topic("t")
    assert store.topics() == [] and store.partitions("g") == []
    status = store.evaluate("c", "g", 2000)  # known, committed recently, no partitions left
    assert (status.status, status.partition_count, status.complete) == (Status.OK, 0, 0.0)


def test_expiry_forgets_groups_without_recent_commits_or_members() -> None:
    store = store_with_topic()
    commit(store, 1, 1000, 1, group="old")
    commit(store, 1, 5 * DAY_MS, 2, group="recent")
    store.set_owners("consuming", {("t", 0): ("/h", "c")})
    now = 8 * DAY_MS
    assert store.evaluate("c", "old", now).status is Status.NOTFOUND
    assert store.expire(now) == ["old"]
    assert sorted(store.groups) == ["consuming", "recent"]


def test_group_lag_report_and_totals() -> None:
    store = LagStore()
    for topic, partition, end, committed in (("a", 0, 100, 90), ("a", 1, 50, 50), ("b", 0, 9, 4)):
        store.set_log_end(topic, partition, end, 2 if topic == "a" else 1)
        store.add_commit("g", topic, partition, offset=committed, timestamp=1, order=partition,
                         observed_at=1)  # fmt: skip
    report = store.group_lag("g")
    assert [(p.topic, p.partition, p.lag) for p in report.partitions] == [
        ("a", 0, 10), ("a", 1, 0), ("b", 0, 5),
    ]  # fmt: skip
    assert report.total_lag == 15 and report.lag_by_topic == {"a": 10, "b": 5}


def test_log_end_history_is_a_ring_of_the_window_length() -> None:
    store = LagStore(window=3)
    for end in (1, 2, 3, 4):
        store.set_log_end("t", 0, end, 2)
    assert store.log_end_history("t", 0) == [2, 3, 4]
    assert store.latest_log_ends("t") == [4]  # partition 1 was never sampled
    assert store.latest_log_ends("nope") is None
