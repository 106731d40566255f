"""Every settings class the two services read, once each (for checks and the settings table),
and the ACLs their configured names need."""

from __future__ import annotations

from consumer_service.app import SETTINGS as CONSUMER_SETTINGS
from consumer_service.order_changes import OrderChangesSettings
from consumer_service.settings import EventLogSettings, EventStatsStreamsSettings
from consumer_service.work_queue import WorkQueueSettings
from event_contract.events import EventsTopicSettings
from kafka_kit.local_kafka.acls import Acl
from kafka_kit.local_kafka.acls import service_acls as acls_for
from producer_service.app import SETTINGS as PRODUCER_SETTINGS

SERVICE_SETTINGS = tuple(dict.fromkeys((*PRODUCER_SETTINGS, *CONSUMER_SETTINGS)))
"""The producer's settings classes, then the consumer's that the producer does not read."""


def service_acls() -> list[Acl]:
    """What the two services need on a secured cluster, with the names they are configured with
    (the events topic, the listeners' groups, the stream application's id)."""
    return acls_for(
        topics=[EventsTopicSettings().topic],
        groups=[EventLogSettings().group_id, OrderChangesSettings().group_id],
        share_groups=[WorkQueueSettings().share_group],
        streams_applications=[EventStatsStreamsSettings().application_id],
    )
