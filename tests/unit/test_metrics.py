from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram, generate_latest

from kafka_kit.metrics import BatchedCounter, BatchedObserver, KafkaMetrics


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


def test_batched_counter_adds_the_sum() -> None:
    registry = CollectorRegistry()
    child = Counter("c", "test", ["l"], registry=registry).labels("x")
    counter = BatchedCounter(child)
    for amount in (1, 2, 3):
        counter.add(amount)
    assert registry.get_sample_value("c_total", {"l": "x"}) == 0  # not yet added
    counter.flush()
    assert registry.get_sample_value("c_total", {"l": "x"}) == 6


def test_a_full_batch_is_added_without_a_flush() -> None:
    registry = CollectorRegistry()
    child = Counter("c", "test", registry=registry)
    counter = BatchedCounter(child)
    for _ in range(BatchedCounter.flush_at):
        counter.add(1)
    assert registry.get_sample_value("c_total") == BatchedCounter.flush_at


def test_scraping_a_registry_adds_what_waits() -> None:
    kit = KafkaMetrics.on(CollectorRegistry())
    counter = kit.batched_counter(kit.template_sends.labels("test-scrape-flush", "ok"))
    counter.add(5)
    text = generate_latest(kit.registry).decode()
    assert 'kafka_template_sends_total{result="ok",topic="test-scrape-flush"} 5.0' in text


def test_one_metrics_object_per_registry() -> None:
    registry = CollectorRegistry()
    assert KafkaMetrics.on(registry) is KafkaMetrics.on(registry)
    assert KafkaMetrics.on(registry) is not KafkaMetrics.on(CollectorRegistry())
    assert KafkaMetrics.on() is KafkaMetrics.on(REGISTRY)
