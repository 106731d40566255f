"""Share groups (KIP-932, "queues for Kafka"): listeners whose members share partitions.

Declare one with ``@kafka_listener(topic, share_group="work")``; a handler may take a
:class:`ShareAcknowledgment` (accept, release, reject) and its record's delivery count. The
members speak the share-group protocol on aiokafka's connections (:mod:`.consumer`);
:class:`ShareGroupAdmin` describes, resets and deletes groups.
"""

from kafka_kit.share.admin import (
    ShareGroupAdmin,
    ShareGroupDescription,
    ShareGroupMember,
    ShareGroupPartition,
)
from kafka_kit.share.records import AcknowledgeType, ShareAcknowledgment, ShareRecord

__all__ = [
    "AcknowledgeType",
    "ShareAcknowledgment",
    "ShareGroupAdmin",
    "ShareGroupDescription",
    "ShareGroupMember",
    "ShareGroupPartition",
    "ShareRecord",
]
