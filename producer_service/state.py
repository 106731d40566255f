"""The producer's state: what its routes use, typed, in one object on the app."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends
from prometheus_client import CollectorRegistry

from kafka_kit import KafkaTemplate
from kafka_kit.outbox import Outbox
from kafka_kit.web.service import ServiceSettings, state_of
from kafka_kit.web.topic_policy import TopicPolicy
from producer_service.settings import ProducerApiSettings


@dataclass
class ProducerState:
    """The template, the HTTP limits and topic policy, and the outbox in outbox mode."""

    template: KafkaTemplate
    api: ProducerApiSettings
    service: ServiceSettings
    topic_policy: TopicPolicy
    metrics_registry: CollectorRegistry
    outbox: Outbox | None = None
    """Set while the relay runs (outbox mode); ``None`` in direct mode."""


State = Annotated[ProducerState, Depends(state_of(ProducerState))]
"""A route parameter that receives the producer's state."""
