"""The launcher: a real Apache Kafka without Docker, from Maven Central jars, in KRaft mode."""

from kafka_kit.errors import KafkaArtifactsError, KafkaLaunchError
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.cluster import LocalKafkaCluster
from kafka_kit.local_kafka.connect import LocalConnect

__all__ = [
    "KAFKA_VERSION",
    "KafkaArtifactsError",
    "KafkaLaunchError",
    "LocalConnect",
    "LocalKafkaCluster",
    "resolve_classpath",
]
