"""kafka_kit: Spring-for-Apache-Kafka-style messaging for asyncio, on aiokafka.

The root exports what a service writes against: the app object (``KafkaApp``), its settings, the
template and its records, ``@kafka_listener`` with the registry and acknowledgments, the admin
and the root error. The rest lives in subpackages that export their own names:
``kafka_kit.listener`` (containers, handler parameters, presets), ``kafka_kit.recovery`` (back-off,
error handlers, retry topics, dead letters and their replay), ``kafka_kit.errors`` (every error),
``kafka_kit.lag`` (Burrow-style lag), ``kafka_kit.replies`` (request/reply), ``kafka_kit.settings``,
``kafka_kit.partitioners``, ``kafka_kit.seek``, ``kafka_kit.metrics``; and, each with its extra,
``kafka_kit.web`` (FastAPI), ``kafka_kit.outbox``, ``kafka_kit.streams``, ``kafka_kit.connect`` and
``kafka_kit.testing``. ``kafka_kit._internal`` is client plumbing, not API.

Importing kafka_kit starts nothing and registers nothing.
"""

from aiokafka.structs import ConsumerRecord, TopicPartition

from kafka_kit._deprecation import moved_names
from kafka_kit.ack import AckMode, Acknowledgment
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.app import KafkaApp
from kafka_kit.decorator import kafka_listener
from kafka_kit.errors import KafkaKitError, KafkaSendError
from kafka_kit.records import ProducerRecord, SendResult
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate

__version__ = "0.6.0"

__all__ = [
    "AckMode",
    "Acknowledgment",
    "ConsumerRecord",
    "KafkaAdmin",
    "KafkaApp",
    "KafkaKitError",
    "KafkaSendError",
    "KafkaSettings",
    "KafkaTemplate",
    "ListenerRegistry",
    "NewTopic",
    "ProducerRecord",
    "SendResult",
    "TopicPartition",
    "__version__",
    "kafka_listener",
]

# Deprecated aliases (0.6): names the root exported up to 0.5, served from their subpackage with a
# warning until 0.7. Only asked-for names are imported, so the root imports no more than it lists.
__getattr__ = moved_names(
    __name__,
    {
        "TopicChanges": "kafka_kit.admin",
        "AppHealth": "kafka_kit.app",
        "ClusterView": "kafka_kit.cluster_view",
        "describe_cluster_view": "kafka_kit.cluster_view",
        "AlreadyReplayedError": "kafka_kit.errors",
        "BatchListenerFailedError": "kafka_kit.errors",
        "ClusterUnreachableError": "kafka_kit.errors",
        "DeadLetterNotFoundError": "kafka_kit.errors",
        "DeadLetterTopicNotFoundError": "kafka_kit.errors",
        "DeliveryUnknownError": "kafka_kit.errors",
        "DeserializationError": "kafka_kit.errors",
        "KafkaArtifactsError": "kafka_kit.errors",
        "KafkaAuthorizationError": "kafka_kit.errors",
        "KafkaLaunchError": "kafka_kit.errors",
        "ListenerDeclarationError": "kafka_kit.errors",
        "RegistryStateError": "kafka_kit.errors",
        "TemplateNotStartedError": "kafka_kit.errors",
        "TopicDeclarationError": "kafka_kit.errors",
        "TopicNotAllowedError": "kafka_kit.errors",
        "TransactionStateError": "kafka_kit.errors",
        "UnknownListenerError": "kafka_kit.errors",
        "UnresolvedPlaceholderError": "kafka_kit.errors",
        "ClusterLagMonitor": "kafka_kit.lag",
        "LagMonitors": "kafka_kit.lag",
        "ConcurrentListenerContainer": "kafka_kit.listener",
        "ContainerState": "kafka_kit.listener",
        "Inject": "kafka_kit.listener",
        "ListenerContainer": "kafka_kit.listener",
        "ListenerContext": "kafka_kit.listener",
        "ListenerEndpoint": "kafka_kit.listener",
        "ListenerPreset": "kafka_kit.listener",
        "Payload": "kafka_kit.listener",
        "RebalanceListener": "kafka_kit.listener",
        "RecordHeaders": "kafka_kit.listener",
        "RecordKey": "kafka_kit.listener",
        "RecordOffset": "kafka_kit.listener",
        "RecordPartition": "kafka_kit.listener",
        "RecordTimestamp": "kafka_kit.listener",
        "RecordTopic": "kafka_kit.listener",
        "TopicPartitionOffset": "kafka_kit.listener",
        "KafkaMetrics": "kafka_kit.metrics",
        "Middleware": "kafka_kit.middleware",
        "DefaultPartitioner": "kafka_kit.partitioners",
        "Partitioner": "kafka_kit.partitioners",
        "BackOff": "kafka_kit.recovery",
        "ConsumerRecordRecoverer": "kafka_kit.recovery",
        "DeadLetter": "kafka_kit.recovery",
        "DeadLetterPublishingRecoverer": "kafka_kit.recovery",
        "DeadLetterReplayer": "kafka_kit.recovery",
        "DefaultErrorHandler": "kafka_kit.recovery",
        "ErrorHandler": "kafka_kit.recovery",
        "ErrorOutcome": "kafka_kit.recovery",
        "ExponentialBackOff": "kafka_kit.recovery",
        "FixedBackOff": "kafka_kit.recovery",
        "RetryListener": "kafka_kit.recovery",
        "RetryTopics": "kafka_kit.recovery",
        "dead_letter_topic": "kafka_kit.recovery",
        "default_registry": "kafka_kit.registry",
        "KafkaReplyTimeoutError": "kafka_kit.replies",
        "ReplyingKafkaTemplate": "kafka_kit.replies",
        "PartitionRef": "kafka_kit.seek",
        "SeekPosition": "kafka_kit.seek",
        "SeekRequest": "kafka_kit.seek",
        "ConsumerSettings": "kafka_kit.settings",
        "LagSettings": "kafka_kit.settings",
        "ProducerSettings": "kafka_kit.settings",
        "ListenerStatus": "kafka_kit.status",
        "LoggingProducerListener": "kafka_kit.template",
        "ProducerListener": "kafka_kit.template",
        "TypeMapping": "kafka_kit.type_mapping",
    },
    removal="0.7",
)
