"""A real Apache Kafka for tests and the demo, without Docker: jars from Maven Central, KRaft."""

from shared.local_kafka.artifacts import KAFKA_VERSION, KafkaArtifactsError, resolve_classpath
from shared.local_kafka.cluster import KafkaLaunchError, LocalKafkaCluster
from shared.local_kafka.provider import ProvidedKafka, docker_available, provide_kafka

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
