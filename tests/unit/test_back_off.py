from kafka_kit.recovery.back_off import ExponentialBackOff, FixedBackOff


def test_fixed_back_off_counts_retries_as_spring_does() -> None:
    # Spring's FixedBackOff(500, 3): three retries, four deliveries in all.
    back_off = FixedBackOff(interval_s=0.5, max_retries=3)
    assert [back_off.delay_s(n) for n in (1, 2, 3, 4)] == [0.5, 0.5, 0.5, None]
    assert FixedBackOff(0, 0).delay_s(1) is None  # no retry: straight to the recoverer


def test_fixed_back_off_without_limit() -> None:
    assert FixedBackOff(2.0, None).delay_s(10_000) == 2.0


def test_exponential_back_off_grows_to_its_cap() -> None:
    back_off = ExponentialBackOff(initial_s=1, multiplier=3, max_s=10, max_retries=5)
    assert [back_off.delay_s(n) for n in range(1, 7)] == [1, 3, 9, 10, 10, None]
