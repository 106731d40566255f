from prometheus_client import CollectorRegistry, Histogram, generate_latest

from shared.metrics import BatchedObserver


def _exposition(values: list[float], batched: bool) -> str:
    registry = CollectorRegistry()
    histogram = Histogram("h_seconds", "test", ["l"], registry=registry, buckets=(0.1, 1, 10))
    child = histogram.labels("x")
    if batched:
        observer = BatchedObserver(child)
        for value in values:
            observer.add(value)
        observer.flush()
    else:
        for value in values:
            child.observe(value)
    lines = generate_latest(registry).decode().splitlines()
    return "\n".join(line for line in lines if "_created" not in line)  # creation time differs


def test_batched_observations_equal_one_by_one() -> None:
    values = [0.05, 0.1, 0.100001, 0.5, 1.0, 3.0, 10.0, 12.0, 0.0]
    assert _exposition(values, batched=True) == _exposition(values, batched=False)


def test_flush_without_observations_changes_nothing() -> None:
    assert _exposition([], batched=True) == _exposition([], batched=False)
