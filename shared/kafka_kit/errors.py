"""Every error kafka_kit raises, under one root: ``KafkaKitError``.

As in ``aiokafka.errors``, each error says whether trying again may help (``retriable``). Each also
keeps the built-in base it had before the root existed (``ValueError``, ``KeyError``, …), so code
that catches those goes on working. Errors of the Kafka client itself stay aiokafka's: a
``KafkaSendError`` carries one as its ``cause``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from aiokafka.errors import (
    KafkaTimeoutError,
    NotEnoughReplicasAfterAppendError,
    RequestTimedOutError,
)

if TYPE_CHECKING:
    from kafka_kit.records import ProducerRecord

__all__ = [
    "AlreadyReplayedError",
    "BatchListenerFailedError",
    "ClusterUnreachableError",
    "DeadLetterNotFoundError",
    "DeadLetterTopicNotFoundError",
    "DeliveryUnknownError",
    "DeserializationError",
    "KafkaArtifactsError",
    "KafkaAuthorizationError",
    "KafkaKitError",
    "KafkaLaunchError",
    "KafkaSendError",
    "ListenerDeclarationError",
    "MissingExtraError",
    "RegistryStateError",
    "TemplateNotStartedError",
    "TopicDeclarationError",
    "TopicNotAllowedError",
    "TransactionStateError",
    "UnknownListenerError",
    "UnresolvedPlaceholderError",
    "root_cause",
]


class KafkaKitError(Exception):
    """The root of kafka_kit's errors; ``retriable``: the same call may succeed later."""

    retriable: bool = False


class MissingExtraError(KafkaKitError, ImportError):
    """An optional part was imported without the extra that installs its dependencies; the
    message gives the ``pip install 'kafka-kit[extra]'`` to run."""


# ---------------------------------------------------------------- sending
class DeliveryUnknownError(KafkaKitError, TimeoutError):
    """The record was handed to the producer but not acknowledged in time: it may yet be written
    (the producer keeps it and may deliver it later). Retry with the same id; readers dedupe."""

    retriable = True


_MAY_HAVE_BEEN_WRITTEN = (
    DeliveryUnknownError,
    # A produce request that timed out may have been appended; "after append": it was, on the
    # leader, without enough replicas yet.
    RequestTimedOutError,
    NotEnoughReplicasAfterAppendError,
)


class KafkaSendError(KafkaKitError, RuntimeError):
    """A send failed or timed out; ``record`` is what was not (known to be) written.

    ``outcome_unknown``: the record may have been written after all (it reached a broker, or the
    producer still holds it) — as opposed to a send that certainly wrote nothing.
    """

    def __init__(self, record: ProducerRecord, cause: BaseException) -> None:
        reason = str(cause) or type(cause).__name__
        super().__init__(f"sending to {record.topic} failed: {type(cause).__name__}: {reason}")
        self.record = record
        self.cause = cause
        # A timeout, or a broker away or recovering: the same send may succeed later.
        self.retriable = isinstance(cause, TimeoutError | KafkaTimeoutError) or bool(
            getattr(cause, "retriable", False)
        )
        self.outcome_unknown = isinstance(cause, _MAY_HAVE_BEEN_WRITTEN)


class TemplateNotStartedError(KafkaKitError, RuntimeError):
    """The template was used before ``start()`` or after ``stop()``."""

    retriable = True


class TransactionStateError(KafkaKitError, RuntimeError):
    """A transactional operation was used outside a transaction, or without a transactional id."""


# ---------------------------------------------------------------- listening
class DeserializationError(KafkaKitError, ValueError):
    """A record value could not be converted to the type its handler declares."""

    def __init__(self, message: str, raw: bytes | None) -> None:
        super().__init__(message)
        self.raw = raw


class BatchListenerFailedError(KafkaKitError):
    """Raised by a batch listener to say which record of the batch failed.

    The records before it are committed, that one goes to the error handler, and the records
    after it are delivered again.
    """

    def __init__(self, index: int, cause: BaseException | None = None) -> None:
        super().__init__(f"record {index} of the batch failed: {cause!r}")
        self.index = index
        self.cause = cause


def root_cause(exc: BaseException) -> BaseException:
    """What a listener's failure is about: a :class:`BatchListenerFailedError`'s cause (it only
    says which record failed), else the exception itself.

    Args:
        exc: What the handler raised.
    """
    if isinstance(exc, BatchListenerFailedError) and exc.cause is not None:
        return exc.cause
    return exc


class UnknownListenerError(KafkaKitError, KeyError):
    """No listener with that id is registered."""


class RegistryStateError(KafkaKitError, RuntimeError):
    """The listener registry cannot do that now (e.g. start while it is running)."""


class UnresolvedPlaceholderError(KafkaKitError, KeyError):
    """A ``${NAME}`` has no value and no default."""


# ---------------------------------------------------------------- dead letters
class DeadLetterTopicNotFoundError(KafkaKitError, LookupError):
    """The dead-letter topic does not exist."""


class DeadLetterNotFoundError(KafkaKitError, LookupError):
    """A selected ``(partition, offset)`` is not in the dead-letter topic."""

    def __init__(self, missing: list[tuple[int, int]]) -> None:
        super().__init__(f"no dead letters at {missing}")
        self.missing = missing


class AlreadyReplayedError(KafkaKitError, RuntimeError):
    """Selected dead letters were replayed before; nothing was sent."""

    def __init__(self, replayed: list[tuple[int, int]]) -> None:
        super().__init__(f"already replayed: {replayed}")
        self.replayed = replayed


# ---------------------------------------------------------------- the cluster
class ClusterUnreachableError(KafkaKitError, ConnectionError):
    """No broker answered within the bounded wait (not aiokafka's ``ClusterUnreachableError``)."""

    retriable = True


class KafkaAuthorizationError(KafkaKitError, PermissionError):
    """An ACL forbids the principal an operation on a resource: what to grant, in one line."""

    def __init__(
        self, principal: str, operation: str, resource_type: str, resource: str, detail: str = ""
    ) -> None:
        self.principal = principal
        self.operation = operation
        self.resource_type = resource_type
        self.resource = resource
        flag = {"Topic": "--topic", "Group": "--group", "TransactionalId": "--transactional-id"}
        target = f"{flag[resource_type]} {resource}" if resource_type in flag else "--cluster"
        self.grant = (
            f"kafka-acls --add --allow-principal {principal} --operation {operation} {target}"
        )
        super().__init__(
            f"{principal} may not {operation} {resource_type} {resource}"
            f"{f' ({detail})' if detail else ''}; grant it: {self.grant}"
        )


class ListenerDeclarationError(KafkaKitError, ValueError):
    """A listener declared so that it cannot run: the message says what to change."""


class TopicDeclarationError(KafkaKitError, ValueError):
    """A declaration Kafka cannot honour (e.g. fewer partitions than the topic has)."""


class TopicNotAllowedError(KafkaKitError, PermissionError):
    """The topic is internal or not in the allow-list."""

    def __init__(self, topic: str, reason: str) -> None:
        super().__init__(f"topic {topic!r} is not allowed: {reason}")
        self.topic = topic
        self.reason = reason


# ---------------------------------------------------------------- the local Kafka
class KafkaArtifactsError(KafkaKitError, RuntimeError):
    """Maven could not resolve the Kafka jars."""


class KafkaLaunchError(KafkaKitError, RuntimeError):
    """The local Kafka did not start or did not become ready; the message has the log tail."""


class ShareGroupError(KafkaKitError):
    """The broker refused a share-group member for good (an ACL, a bad request); says why."""
