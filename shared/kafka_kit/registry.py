"""The listener registry: the endpoints declared, and the containers running them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from prometheus_client import CollectorRegistry

from kafka_kit._placeholders import resolve_placeholders
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.errors import ListenerDeclarationError, RegistryStateError, UnknownListenerError
from kafka_kit.listener.concurrent import ConcurrentListenerContainer
from kafka_kit.listener.consumer_setup import Subscription, compile_pattern
from kafka_kit.listener.container import ContainerState
from kafka_kit.listener.endpoint import (
    DEFAULT_PRESET,
    ListenerEndpoint,
    ListenerPreset,
    TopicPartitionOffset,
)
from kafka_kit.metrics import KafkaMetrics
from kafka_kit.middleware import Middleware
from kafka_kit.observation import Observation
from kafka_kit.recovery.error_handler import ErrorHandler
from kafka_kit.recovery.retry_topics import RetryTopicRouter, not_before
from kafka_kit.seek import SeekRequest
from kafka_kit.settings import KafkaSettings
from kafka_kit.share.container import ShareListenerContainer, default_share_error_handler
from kafka_kit.status import ListenerStatus
from kafka_kit.template import KafkaTemplate

__all__ = ["Container", "ListenerRegistry", "default_registry"]

Container = ConcurrentListenerContainer | ShareListenerContainer
"""What runs a listener: a consumer group's containers, or a share group's members."""


log = logging.getLogger(__name__)


class ListenerRegistry:
    """Holds ``@kafka_listener`` endpoints; ``start()`` creates and starts their containers."""

    def __init__(self) -> None:
        self._endpoints: dict[str, ListenerEndpoint] = {}
        self._containers: dict[str, Container] = {}
        self._own_template: KafkaTemplate | None = None
        self._prometheus: KafkaMetrics | None = None
        self._tracing: Observation | None = None
        self.presets: dict[str, ListenerPreset] = {}
        """Named listener options (Spring's container factories), by name; add before the
        listeners that use them are declared."""
        self.middlewares: tuple[Middleware, ...] = ()
        """Around every handle of the listeners declared after they are set, outside their
        own (a ``KafkaApp``'s)."""

    def preset_options(self, name: str | None) -> dict[str, Any]:
        """The options preset ``name`` sets (none named: the ``"default"`` preset's, if any).

        Args:
            name: A preset of this registry, or ``None`` for the default one.
        """
        if name is None:
            preset = self.presets.get(DEFAULT_PRESET)
            return preset.options() if preset is not None else {}
        try:
            return self.presets[name].options()
        except KeyError:
            known = ", ".join(sorted(self.presets)) or "none"
            raise ListenerDeclarationError(
                f"no listener preset {name!r} in this registry (presets: {known}): add it "
                "before the listeners that use it"
            ) from None

    def register(self, endpoint: ListenerEndpoint) -> None:
        """Add an endpoint; ids are unique within a registry.

        Args:
            endpoint: What ``@kafka_listener`` declares (made by hand: the same fields).
        """
        if endpoint.id in self._endpoints:
            raise ValueError(f"a listener with id {endpoint.id!r} is already registered")
        self._endpoints[endpoint.id] = endpoint

    @property
    def endpoints(self) -> Mapping[str, ListenerEndpoint]:
        """Every registered endpoint by id."""
        return dict(self._endpoints)

    def container(self, listener_id: str) -> Container:
        """The container of ``listener_id`` (made by :meth:`start`; retry topics have their own).

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
        """
        try:
            return self._containers[listener_id]
        except KeyError:
            raise UnknownListenerError(listener_id) from None

    # ---------------------------------------------------------------- lifecycle
    async def start(
        self,
        settings: KafkaSettings | None = None,
        environ: Mapping[str, str] | None = None,
        *,
        error_handler: ErrorHandler | None = None,
        template: KafkaTemplate | None = None,
        dependencies: Mapping[type, Any] | None = None,
        metrics_registry: CollectorRegistry | None = None,
        tracing: Observation | None = None,
    ) -> None:
        """Create containers for every endpoint and start those with ``auto_startup``.

        Retry and dead-letter topics of listeners with retry topics are created here, with the
        main topic's partitions.

        Args:
            settings: How the consumers reach the cluster (``KAFKA_*`` when omitted).
            environ: Resolves ``${NAME:default}`` placeholders in the declarations
                (``os.environ`` when omitted).
            error_handler: Serves endpoints without their own.
            template: What listeners with retry topics, dead letters and replies publish
                through (a template of the registry's own when omitted).
            dependencies: What handlers may ask for by type (a store, a client…), like beans in
                Spring.
            metrics_registry: Where the listeners' Prometheus metrics go (prometheus-client's
                global registry when omitted).
            tracing: A span around every handler call
                (:class:`~kafka_kit.tracing.KafkaTracing`); the registry's own template (for
                retry topics, dead letters, replies) traces its sends too.
        """
        if any(container.running for container in self._containers.values()):
            # New containers would replace these in the registry while their consumers go on.
            raise RegistryStateError("the registry is already running: stop() it first")
        settings = settings or KafkaSettings()
        self._prometheus = KafkaMetrics.on(metrics_registry)
        self._tracing = tracing
        self._containers = {}
        dependencies = dict(dependencies or {})
        try:
            replying = any(e.reply_to is not None for e in self._endpoints.values())
            if replying and KafkaTemplate not in dependencies:
                # Replies are sent with the template given, else one of the registry's own.
                dependencies[KafkaTemplate] = template or await self._template(settings)
            for endpoint in self._endpoints.values():
                for container in await self._create_containers(
                    endpoint,
                    settings,
                    environ,
                    error_handler=error_handler,
                    template=template,
                    dependencies=dependencies,
                ):
                    self._containers[container.id] = container
            to_start = [c for c in self._containers.values() if c.endpoint.auto_startup]
            await asyncio.gather(*(c.start() for c in to_start))
        except BaseException:
            await self.stop()
            raise

    async def _create_containers(
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        environ: Mapping[str, str] | None,
        *,
        error_handler: ErrorHandler | None,
        template: KafkaTemplate | None,
        dependencies: Mapping[type, Any],
    ) -> list[Container]:
        def resolve(text: str) -> str:
            return resolve_placeholders(text, environ)

        if endpoint.share_group is not None:
            share = await self._share_container(
                endpoint, settings, resolve, error_handler, template, dependencies
            )
            return [share]

        pattern = resolve(endpoint.pattern) if endpoint.pattern else None
        if pattern is not None:
            compile_pattern(pattern)
        subscription = Subscription(
            topics=tuple(resolve(t) for t in endpoint.topics),
            pattern=pattern,
            partitions=tuple(
                TopicPartitionOffset(resolve(p.topic), p.partition, p.offset)
                for p in endpoint.partitions
            ),
        )
        group_id = _group_of(endpoint, settings, resolve)
        prefix = f"{settings.client_id}-{endpoint.id}"
        retry = endpoint.retry_topics
        router = (
            RetryTopicRouter(retry, template or await self._template(settings))
            if retry is not None
            else None
        )
        containers: list[Container] = [
            ConcurrentListenerContainer(
                endpoint,
                settings,
                subscription=subscription,
                group_id=group_id,
                client_id_prefix=prefix,
                error_handler=router or error_handler,
                dependencies=dependencies,
                prometheus=self._prometheus,
                tracing=self._tracing,
            )
        ]
        declared = getattr(router or error_handler, "declared_topics", None)
        if declared is not None:
            named = dict.fromkeys(
                [*subscription.topics, *(p.topic for p in subscription.partitions)]
            )
            await self._declare_alongside(settings, list(named), declared)
        if retry is None:
            return containers
        for topic in subscription.topics:
            for retry_topic in retry.retry_topics(topic):
                suffix = retry_topic.removeprefix(topic)
                scope = f"-{topic}" if len(subscription.topics) > 1 else ""
                containers.append(
                    ConcurrentListenerContainer(
                        endpoint,
                        settings,
                        subscription=Subscription(topics=(retry_topic,)),
                        group_id=f"{group_id}{suffix}",
                        client_id_prefix=f"{prefix}{suffix}",
                        listener_id=f"{endpoint.id}{suffix}{scope}",
                        error_handler=router,
                        not_before=not_before,
                        dependencies=dependencies,
                        prometheus=self._prometheus,
                        tracing=self._tracing,
                    )
                )
        return containers

    async def _share_container(  # noqa: PLR0917 - a private step of _create_containers
        self,
        endpoint: ListenerEndpoint,
        settings: KafkaSettings,
        resolve: Callable[[str], str],
        error_handler: ErrorHandler | None,
        template: KafkaTemplate | None,
        dependencies: Mapping[type, Any],
    ) -> ShareListenerContainer:
        """A share listener's members; failures go to the dead-letter topic by default."""
        handler = endpoint.error_handler or error_handler
        if handler is None:
            sender = template or await self._template(settings)
            handler = default_share_error_handler(sender, endpoint.max_deliveries)
        topics = tuple(resolve(t) for t in endpoint.topics)
        if (declared := getattr(handler, "declared_topics", None)) is not None:
            await self._declare_alongside(settings, topics, declared)
        return ShareListenerContainer(
            endpoint,
            settings,
            group_id=resolve(str(endpoint.share_group)),
            topics=topics,
            client_id_prefix=f"{settings.client_id}-{endpoint.id}",
            error_handler=handler,
            dependencies=dependencies,
            prometheus=self._prometheus,
            tracing=self._tracing,
        )

    @staticmethod
    async def _declare_alongside(
        settings: KafkaSettings,
        topics: Sequence[str],
        declared: Callable[[str], Sequence[str]],
    ) -> None:
        """Create the retry and dead-letter topics of ``topics`` as each main topic is laid out.

        Same partition count and replication as the main topic, so a forwarded record keeps its
        partition; a main topic that does not exist yet is created with the broker's defaults.
        """
        admin = KafkaAdmin(settings)
        for topic in topics:
            extra = list(declared(topic))
            if not extra:
                continue
            await admin.ensure_topics([NewTopic(topic)])
            partitions, replication = await admin.topic_layout(topic)
            await admin.ensure_topics(NewTopic(t, partitions, replication) for t in extra)

    async def _template(self, settings: KafkaSettings) -> KafkaTemplate:
        if self._own_template is None:
            registry = self._prometheus.registry if self._prometheus is not None else None
            template = KafkaTemplate(settings, metrics_registry=registry, tracing=self._tracing)
            await template.start()
            self._own_template = template
        return self._own_template

    async def stop(self) -> None:
        """Stop every container: each finishes and commits its current batch."""
        await asyncio.gather(*(c.stop() for c in self._containers.values()), return_exceptions=True)
        template, self._own_template = self._own_template, None
        if template is not None:
            await template.stop()

    # ---------------------------------------------------------------- by id
    async def start_listener(self, listener_id: str) -> None:
        """Start a stopped (or never started) listener.

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
        """
        await self.container(listener_id).start()

    async def stop_listener(self, listener_id: str) -> None:
        """Stop a listener; it finishes and commits its batch.

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
        """
        await self.container(listener_id).stop()

    def pause(self, listener_id: str) -> None:
        """Stop fetching for a listener (its consumers stay in the group).

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
        """
        self.container(listener_id).pause()

    def resume(self, listener_id: str) -> None:
        """Fetch again for a paused listener.

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
        """
        self.container(listener_id).resume()

    def seek(self, listener_id: str, request: SeekRequest) -> asyncio.Future[list[None]]:
        """Move a listener's consumers before their next poll; await it to know it was done.

        Args:
            listener_id: The listener's ``id`` (by default its function's name).
            request: Where to: beginning, end, an offset or a timestamp, on some partitions or
                all assigned ones.
        """
        return self.container(listener_id).seek(request)

    @property
    def containers(self) -> Mapping[str, Container]:
        """Every container by listener id (retry topics' containers included), once started."""
        return dict(self._containers)

    # ---------------------------------------------------------------- views
    async def statuses(self) -> list[ListenerStatus]:
        """Every listener with its containers, partitions, offsets and lag."""
        return list(await asyncio.gather(*(c.status() for c in self._containers.values())))

    def unhealthy(self) -> dict[str, str]:
        """Listeners that should run and do not, with why (empty when all is well)."""
        bad = {}
        for listener_id, container in self._containers.items():
            state = container.state
            # A listener stopped on purpose is not unhealthy; a crashed, stuck or deaf one is.
            problem = container.problem
            if problem is not None:
                bad[listener_id] = problem
            elif container.running and state not in (ContainerState.RUNNING, ContainerState.PAUSED):
                bad[listener_id] = state.value
        return bad

    def healthy(self) -> bool:
        """True when every listener that should run is running (or deliberately paused)."""
        return not self.unhealthy()


def _group_of(
    endpoint: ListenerEndpoint, settings: KafkaSettings, resolve: Callable[[str], str]
) -> str | None:
    """The listener's own group, else ``KAFKA_CONSUMER_GROUP_ID``; assigned partitions need none."""
    if endpoint.group_id:
        return resolve(endpoint.group_id)
    if endpoint.partitions:
        return None
    if settings.consumer.group_id:
        return settings.consumer.group_id
    raise ListenerDeclarationError(
        f"listener {endpoint.id!r} subscribes without a group: give it group_id=..., or set "
        "KAFKA_CONSUMER_GROUP_ID (the group of every listener that names none)"
    )


default_registry = ListenerRegistry()
"""Where ``@kafka_listener`` registers when no ``registry=`` is given."""
