import logging

from kafka_kit._internal.client_logs import CondensingFilter


def record(message: str, *args: object, level: int = logging.ERROR) -> logging.LogRecord:
    return logging.LogRecord("aiokafka", level, "client.py", 1, message, args, None)


def test_repeats_are_dropped_then_counted() -> None:
    condensing = CondensingFilter(window_s=60)
    failure = "Unable connect to node with id %s: [Errno 111] Connect call failed (%r, %s)"
    kept = [
        condensing.filter(record(failure, 1, "127.0.0.1", 9092))
        for _ in range(40)  # forty reconnect attempts to the same broker
    ]
    assert kept == [True] + [False] * 39
    # Another broker is another line.
    assert condensing.filter(record(failure, 2, "127.0.0.1", 9093))
    # After the window the next one passes, with the count of those dropped.
    condensing.window_s = 0
    again = record(failure, 1, "127.0.0.1", 9092)
    assert condensing.filter(again)
    assert "(and 39 more like it" in again.getMessage()


def test_info_and_debug_pass_untouched() -> None:
    condensing = CondensingFilter()
    assert all(condensing.filter(record("joined group", level=logging.INFO)) for _ in range(3))
