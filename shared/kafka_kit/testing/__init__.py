"""A real Apache Kafka for your tests, the way Spring's ``@EmbeddedKafka`` gives one to Java tests.

The pytest plugin (``kafka_kit.testing.plugin``, loaded automatically once kafka-kit is installed
with the ``testing`` extra) provides session fixtures: ``kafka_bootstrap_servers`` for one broker,
``kafka_cluster`` for three, and ``kafka_settings``. Each cluster starts once per test session:
``KAFKA_BOOTSTRAP_SERVERS`` if set (an existing cluster), else a testcontainers ``apache/kafka``
container when a Docker daemon answers, else the launcher (Kafka's jars from Maven Central, run
with Java 17+ in KRaft mode). The helpers read what tests need to check: records and offsets.
"""

from kafka_kit.local_kafka import KAFKA_VERSION, LocalKafkaCluster
from kafka_kit.testing.provider import ProvidedKafka, docker_available, provide_kafka
from kafka_kit.testing.records import (
    committed_offsets,
    read_records,
    wait_until,
    wait_until_sync,
)

__all__ = [
    "KAFKA_VERSION",
    "LocalKafkaCluster",
    "ProvidedKafka",
    "committed_offsets",
    "docker_available",
    "provide_kafka",
    "read_records",
    "wait_until",
    "wait_until_sync",
]
