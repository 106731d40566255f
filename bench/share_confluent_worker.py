"""One confluent-kafka ``ShareConsumer`` reading N records of a share group; prints its rate.

Run by ``bench/share.py`` in a venv of its own (confluent-kafka 2.16 cannot be installed beside
Quix Streams 3.28, which needs < 2.13): ``python share_confluent_worker.py BOOTSTRAP TOPIC GROUP
N``.
It imports nothing of the kit: it stands for "librdkafka's share consumer, as is".
"""

import json
import sys
import time

from confluent_kafka import ShareConsumer  # type: ignore[attr-defined]


def main() -> None:
    bootstrap, topic, group, count = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    consumer = ShareConsumer({"bootstrap.servers": bootstrap, "group.id": group})
    consumer.subscribe([topic])
    seen, first = 0, 0.0
    deadline = time.monotonic() + 600
    try:
        while seen < count and time.monotonic() < deadline:
            for message in consumer.poll(1.0):
                if message.error() is not None:
                    continue
                if seen == 0:
                    first = time.perf_counter()
                seen += 1
        last = time.perf_counter()
    finally:
        consumer.close()
    print(json.dumps({"records": seen, "rate": seen / (last - first) if seen > 1 else 0.0}))


if __name__ == "__main__":
    main()
