"""kafka_kit: Spring-for-Apache-Kafka-style messaging for asyncio, on aiokafka.

The public API is what ``__all__`` lists; every other name may change between versions. Optional
parts live in their own subpackages with their own extras: ``kafka_kit.web`` (FastAPI helpers,
extra ``web``), ``kafka_kit.outbox`` (extra ``outbox``) and ``kafka_kit.testing`` (a real Kafka
for tests, extra ``testing``). Importing kafka_kit starts nothing and registers nothing.
"""

from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit.ack import AckMode, Acknowledgment
from kafka_kit.admin import KafkaAdmin, NewTopic, TopicChanges
from kafka_kit.app import AppHealth, KafkaApp
from kafka_kit.back_off import BackOff, ExponentialBackOff, FixedBackOff
from kafka_kit.cluster_view import ClusterView, describe_cluster_view
from kafka_kit.dead_letter import DeadLetterPublishingRecoverer, dead_letter_topic
from kafka_kit.dead_letter_replay import DeadLetter, DeadLetterReplayer
from kafka_kit.decorator import kafka_listener
from kafka_kit.error_handler import (
    ConsumerRecordRecoverer,
    DefaultErrorHandler,
    ErrorHandler,
    ErrorOutcome,
    RetryListener,
)
from kafka_kit.errors import (
    AlreadyReplayedError,
    BatchListenerFailedError,
    ClusterUnreachableError,
    DeadLetterNotFoundError,
    DeadLetterTopicNotFoundError,
    DeliveryUnknownError,
    DeserializationError,
    KafkaArtifactsError,
    KafkaAuthorizationError,
    KafkaKitError,
    KafkaLaunchError,
    KafkaSendError,
    ListenerDeclarationError,
    RegistryStateError,
    TemplateNotStartedError,
    TopicDeclarationError,
    TopicNotAllowedError,
    TransactionStateError,
    UnknownListenerError,
    UnresolvedPlaceholderError,
)
from kafka_kit.lag.monitor import ClusterLagMonitor, LagMonitors
from kafka_kit.listener import (
    ConcurrentListenerContainer,
    ContainerState,
    Inject,
    ListenerContainer,
    ListenerContext,
    ListenerEndpoint,
    ListenerPreset,
    Payload,
    RebalanceListener,
    RecordHeaders,
    RecordKey,
    RecordOffset,
    RecordPartition,
    RecordTimestamp,
    RecordTopic,
    TopicPartitionOffset,
)
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.middleware import Middleware
from kafka_kit.partitioners import DefaultPartitioner, Partitioner
from kafka_kit.registry import ListenerRegistry, default_registry
from kafka_kit.replies import KafkaReplyTimeoutError, ReplyingKafkaTemplate
from kafka_kit.retry_topics import RetryTopics
from kafka_kit.seek import PartitionRef, SeekPosition, SeekRequest
from kafka_kit.settings import ConsumerSettings, KafkaSettings, LagSettings, ProducerSettings
from kafka_kit.status import ListenerStatus
from kafka_kit.template import (
    KafkaTemplate,
    LoggingProducerListener,
    ProducerListener,
    ProducerRecord,
    SendResult,
)
from kafka_kit.type_mapping import TypeMapping

__version__ = "0.6.0"

__all__ = [
    "AckMode",
    "Acknowledgment",
    "AlreadyReplayedError",
    "AppHealth",
    "BackOff",
    "BatchListenerFailedError",
    "ClusterLagMonitor",
    "ClusterUnreachableError",
    "ClusterView",
    "ConcurrentListenerContainer",
    "ConsumerRecord",
    "ConsumerRecordRecoverer",
    "ConsumerSettings",
    "ContainerState",
    "DeadLetter",
    "DeadLetterNotFoundError",
    "DeadLetterPublishingRecoverer",
    "DeadLetterReplayer",
    "DeadLetterTopicNotFoundError",
    "DefaultErrorHandler",
    "DefaultPartitioner",
    "DeliveryUnknownError",
    "DeserializationError",
    "ErrorHandler",
    "ErrorOutcome",
    "ExponentialBackOff",
    "FixedBackOff",
    "Inject",
    "KafkaAdmin",
    "KafkaApp",
    "KafkaArtifactsError",
    "KafkaAuthorizationError",
    "KafkaKitError",
    "KafkaLaunchError",
    "KafkaMetrics",
    "KafkaReplyTimeoutError",
    "KafkaSendError",
    "KafkaSettings",
    "KafkaTemplate",
    "LagMonitors",
    "LagSettings",
    "ListenerContainer",
    "ListenerContext",
    "ListenerDeclarationError",
    "ListenerEndpoint",
    "ListenerPreset",
    "ListenerRegistry",
    "ListenerStatus",
    "LoggingProducerListener",
    "Middleware",
    "NewTopic",
    "PartitionRef",
    "Partitioner",
    "Payload",
    "ProducerListener",
    "ProducerRecord",
    "ProducerSettings",
    "RebalanceListener",
    "RecordHeaders",
    "RecordKey",
    "RecordOffset",
    "RecordPartition",
    "RecordTimestamp",
    "RecordTopic",
    "RegistryStateError",
    "ReplyingKafkaTemplate",
    "RetryListener",
    "RetryTopics",
    "SeekPosition",
    "SeekRequest",
    "SendResult",
    "TemplateNotStartedError",
    "TopicChanges",
    "TopicDeclarationError",
    "TopicNotAllowedError",
    "TopicPartition",
    "TopicPartitionOffset",
    "TransactionStateError",
    "TypeMapping",
    "UnknownListenerError",
    "UnresolvedPlaceholderError",
    "__version__",
    "dead_letter_topic",
    "default_registry",
    "describe_cluster_view",
    "kafka_listener",
]
