"""Why a group has the status it has, in one sentence, from Burrow's rules."""

from __future__ import annotations

from kafka_kit.lag.evaluator import GroupStatus, PartitionStatus, Status

__all__ = ["status_reason"]


def status_reason(group: GroupStatus, now_ms: int) -> str:
    """The rule behind the group's status: the worst partition and what its window shows.

    Args:
        group: The group's evaluation.
        now_ms: The time it was made for (epoch ms), to say how old the last commit is.
    """
    if group.status == Status.NOTFOUND:
        return "no commit seen from this group (or it expired)"
    bad = [p for p in group.partitions if p.status > Status.OK]
    if not bad:
        total = group.totallag
        if total == 0:
            return "every partition is caught up"
        return f"lag {total} in total, but every partition is making progress"
    worst = max(bad, key=lambda p: (p.status, p.current_lag))
    share = f"{len(bad)} of {group.partition_count} partitions not OK"
    return f"{share}; {worst.topic}[{worst.partition}] {worst.status.name}: {_why(worst, now_ms)}"


def _why(partition: PartitionStatus, now_ms: int) -> str:
    start, end, lag = partition.start, partition.end, partition.current_lag
    if partition.status == Status.STOP and end is not None:
        age_s = (now_ms - end.timestamp) / 1000
        return f"no commit for {age_s:.0f} s, longer than its window spans, with lag {lag}"
    if partition.status == Status.STALL and end is not None:
        return f"commits keep offset {end.offset} while the lag is {lag}"
    if partition.status == Status.REWIND and start is not None and end is not None:
        return f"the committed offset went back (window {start.offset} … {end.offset})"
    if partition.status == Status.WARN and start is not None and end is not None:
        return f"lag not falling across the window ({start.lag} → {end.lag}, now {lag})"
    return f"lag {lag}"
