"""A real Apache Kafka for tests and the demo, without Docker: jars from Maven Central, KRaft."""

from kafka_kit.errors import KafkaArtifactsError, KafkaLaunchError
from kafka_kit.local_kafka.artifacts import KAFKA_VERSION, resolve_classpath
from kafka_kit.local_kafka.cluster import LocalKafkaCluster
from kafka_kit.local_kafka.provider import ProvidedKafka, docker_available, provide_kafka

__all__ = [
    "KAFKA_VERSION",
    "KafkaArtifactsError",
    "KafkaLaunchError",
    "LocalKafkaCluster",
    "ProvidedKafka",
    "docker_available",
    "provide_kafka",
    "resolve_classpath",
]
