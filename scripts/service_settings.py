"""Every settings class the two services read, once each (for checks and the settings table)."""

from __future__ import annotations

from consumer_service.app import SETTINGS as CONSUMER_SETTINGS
from producer_service.app import SETTINGS as PRODUCER_SETTINGS

SERVICE_SETTINGS = tuple(dict.fromkeys((*PRODUCER_SETTINGS, *CONSUMER_SETTINGS)))
"""The producer's settings classes, then the consumer's that the producer does not read."""
