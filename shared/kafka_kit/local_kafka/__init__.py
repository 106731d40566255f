"""The launcher: a real Apache Kafka without Docker, from Maven Central jars, in KRaft mode."""

from kafka_kit.errors import KafkaArtifactsError, KafkaLaunchError
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.cluster import LocalKafkaCluster

__all__ = [
    "KAFKA_VERSION",
    "KafkaArtifactsError",
    "KafkaLaunchError",
    "LocalKafkaCluster",
    "resolve_classpath",
]
