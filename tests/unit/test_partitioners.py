import random
from collections import Counter
from itertools import groupby, pairwise

import pytest
from aiokafka.partitioner import murmur2

from event_contract.events import EventDto
from kafka_kit.partitioners import (
    DefaultPartitioner,
    PriorityPartitioner,
    StickyPartitioner,
    key_partition,
    load_partitioner,
)
from kafka_kit.template import ProducerRecord

# Test vectors of org.apache.kafka.common.utils.UtilsTest#testMurmur2 (signed Java ints).
JAVA_MURMUR2 = {
    b"21": -973932308,
    b"foobar": -790332482,
    b"a-little-bit-long-string": -985981536,
    b"a-little-bit-longer-string": -1486304829,
    b"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8": -58897971,
    b"abc": 479470107,
}


def test_murmur2_matches_the_java_client() -> None:
    for data, java in JAVA_MURMUR2.items():
        assert murmur2(data) & 0xFFFFFFFF == java & 0xFFFFFFFF


def test_key_partition_is_to_positive_modulo_count() -> None:
    partitions = list(range(7))
    for data, java in JAVA_MURMUR2.items():
        assert key_partition(data, partitions) == (java & 0x7FFFFFFF) % 7


def test_sticky_stays_for_a_batch_then_moves() -> None:
    sticky = StickyPartitioner(batch_size=1000, rng=random.Random(1))
    chosen = [sticky.partition("t", 100, [0, 1, 2, 3, 4, 5]) for _ in range(200)]
    runs = [(p, len(list(g))) for p, g in groupby(chosen)]
    # 100-byte records, 1000-byte batches: exactly ten records per partition visit.
    assert all(length == 10 for _, length in runs)
    assert all(a != b for (a, _), (b, _) in pairwise(runs))


def test_sticky_spreads_evenly_over_time() -> None:
    sticky = StickyPartitioner(batch_size=1000, rng=random.Random(7))
    chosen = [sticky.partition("t", 1000, list(range(6))) for _ in range(6000)]
    counts = Counter(chosen)
    assert set(counts) == set(range(6))
    assert all(800 <= n <= 1200 for n in counts.values()), counts


def test_sticky_is_per_topic_and_avoids_unavailable_partitions() -> None:
    sticky = StickyPartitioner(batch_size=10_000, rng=random.Random(3))
    a = sticky.partition("a", 10, [0, 1, 2])
    assert sticky.partition("a", 10, [0, 1, 2]) == a
    other = [p for p in (0, 1, 2) if p != a]
    assert sticky.partition("a", 10, other) in other  # its leader went away: move on
    assert {sticky.partition("b", 1, [5]) for _ in range(5)} == {5}


def test_default_partitioner_hashes_keys_over_all_partitions() -> None:
    default = DefaultPartitioner()
    record = ProducerRecord("t", b"v", key=b"foobar")
    # Partition 3 has no leader now; the key still maps to it (Java does the same).
    expected = key_partition(b"foobar", [0, 1, 2, 3, 4, 5])
    assert default(record, None, [0, 1, 2, 3, 4, 5], [0, 1, 2, 4, 5]) == expected


def _event(priority: str | None) -> EventDto:
    return EventDto(type="t", source="s", payload={"priority": priority} if priority else {})


def test_priority_partitioner_reserves_a_range() -> None:
    partitioner = PriorityPartitioner(high_partitions=2, rng=random.Random(0))
    partitions = list(range(6))
    for n in range(200):
        high = _event("high")
        low = _event(None if n % 2 else "low")
        assert partitioner(ProducerRecord("t", b"{}"), high, partitions, partitions) in (0, 1)
        assert partitioner(ProducerRecord("t", b"{}"), low, partitions, partitions) in (2, 3, 4, 5)
    header = ProducerRecord("t", b"x", headers=(("priority", b"HIGH"),))
    assert partitioner(header, b"x", partitions, partitions) in (0, 1)


def test_priority_partitioner_keeps_key_order_within_its_range() -> None:
    partitioner = PriorityPartitioner(high_partitions=1)
    record = ProducerRecord("t", b"{}", key=b"customer-1")
    first = partitioner(record, _event(None), list(range(6)), list(range(6)))
    assert first == key_partition(b"customer-1", [1, 2, 3, 4, 5])
    assert {partitioner(record, _event(None), list(range(6)), []) for _ in range(10)} == {first}


def test_priority_partitioner_needs_enough_partitions() -> None:
    with pytest.raises(ValueError, match="too few"):
        PriorityPartitioner(high_partitions=1)(ProducerRecord("t", b""), None, [0], [0])


def test_load_partitioner_from_a_spec() -> None:
    assert isinstance(
        load_partitioner("kafka_kit.partitioners:PriorityPartitioner"), PriorityPartitioner
    )
    assert load_partitioner("kafka_kit.partitioners:key_partition") is key_partition
    with pytest.raises(ValueError, match=r"package\.module:name"):
        load_partitioner("kafka_kit.partitioners.PriorityPartitioner")
