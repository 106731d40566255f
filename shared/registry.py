"""The listener registry: the endpoints declared, and the containers running them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from shared.container import ContainerState, ListenerContainer
from shared.listener import ListenerEndpoint
from shared.placeholders import resolve_placeholders
from shared.settings import KafkaSettings

log = logging.getLogger(__name__)


class UnknownListenerError(KeyError):
    """No listener with that id is registered."""


class ListenerRegistry:
    """Holds ``@kafka_listener`` endpoints; ``start()`` creates and starts their containers."""

    def __init__(self) -> None:
        self._endpoints: dict[str, ListenerEndpoint] = {}
        self._containers: dict[str, list[ListenerContainer]] = {}

    def register(self, endpoint: ListenerEndpoint) -> None:
        """Add an endpoint; ids are unique within a registry."""
        if endpoint.id in self._endpoints:
            raise ValueError(f"a listener with id {endpoint.id!r} is already registered")
        self._endpoints[endpoint.id] = endpoint

    @property
    def endpoints(self) -> Mapping[str, ListenerEndpoint]:
        """Every registered endpoint by id."""
        return dict(self._endpoints)

    def containers(self, listener_id: str) -> list[ListenerContainer]:
        """The containers created for ``listener_id`` (one per unit of concurrency)."""
        if listener_id not in self._endpoints:
            raise UnknownListenerError(listener_id)
        return list(self._containers.get(listener_id, []))

    async def start(
        self, settings: KafkaSettings | None = None, environ: Mapping[str, str] | None = None
    ) -> None:
        """Create containers for every endpoint and start those with ``auto_startup``."""
        settings = settings or KafkaSettings()
        for endpoint in self._endpoints.values():
            topics = tuple(resolve_placeholders(t, environ) for t in endpoint.topics)
            group_id = (
                resolve_placeholders(endpoint.group_id, environ) if endpoint.group_id else None
            )
            self._containers[endpoint.id] = [
                ListenerContainer(
                    endpoint,
                    settings,
                    topics=topics,
                    group_id=group_id,
                    client_id=f"{settings.client_id}-{endpoint.id}-{index}",
                )
                for index in range(endpoint.concurrency)
            ]
        to_start = [
            container
            for endpoint_id, containers in self._containers.items()
            if self._endpoints[endpoint_id].auto_startup
            for container in containers
        ]
        try:
            await asyncio.gather(*(c.start() for c in to_start))
        except BaseException:
            await self.stop()
            raise

    async def stop(self) -> None:
        """Stop every container: each finishes and commits its current batch."""
        containers = [c for group in self._containers.values() for c in group]
        await asyncio.gather(*(c.stop() for c in containers), return_exceptions=True)

    def healthy(self) -> bool:
        """True when every container that should run is running."""
        return all(
            c.state is ContainerState.RUNNING
            for endpoint_id, group in self._containers.items()
            if self._endpoints[endpoint_id].auto_startup
            for c in group
        )


default_registry = ListenerRegistry()
"""Where ``@kafka_listener`` registers when no ``registry=`` is given."""
