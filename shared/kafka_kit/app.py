"""``KafkaApp``: one object for a Kafka program — settings, template, listeners, topics, lifecycle.

.. code-block:: python

    app = KafkaApp()

    @app.listener("greetings")
    async def greet(name: str) -> None:
        print(f"hello, {name}")

``kafka-kit run module:app`` (or ``app.run()``) starts it: the declared topics are ensured, the
template connects, the listeners start; Ctrl-C or SIGTERM stops them in reverse order, each
listener committing what it handled. ``async with app:`` does the same inside a program of your
own, and ``FastAPI(lifespan=app.lifespan)`` beside a web app's routes.

Constructing it reads no environment and connects nothing: the settings are read, the template
made and its metrics registered when the app starts (or ``app.template`` is first used).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, TypeVar

from prometheus_client import CollectorRegistry

from kafka_kit._internal.cancellation import cancel_and_wait
from kafka_kit._signals import on_signal
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.decorator import kafka_listener
from kafka_kit.errors import RegistryStateError
from kafka_kit.listener.endpoint import ListenerPreset
from kafka_kit.middleware import Middleware
from kafka_kit.observation import Observation
from kafka_kit.publication import Publication
from kafka_kit.recovery.error_handler import ErrorHandler
from kafka_kit.registry import ListenerRegistry
from kafka_kit.settings import KafkaSettings
from kafka_kit.template import KafkaTemplate

__all__ = ["AppHealth", "KafkaApp"]

log = logging.getLogger(__name__)

Hook = TypeVar("Hook", bound=Callable[[], Awaitable[None]])
Handler = TypeVar("Handler", bound=Callable[..., Any])


@dataclass(frozen=True)
class AppHealth:
    """Whether the app does what it should: its template connected, every listener running."""

    status: Literal["UP", "DOWN", "STOPPED"]
    """``UP``: connected, every listener running; ``DOWN``: not; ``STOPPED``: not started."""
    listeners: dict[str, str] = field(default_factory=dict)
    """Listeners that should run and do not, with why."""


class KafkaApp:
    """Settings, a template, a listener registry and topic declarations, started and stopped
    together (FastStream's app object, with Spring Kafka's parts).

    Args:
        settings: How to reach the cluster; ``KAFKA_*`` from the environment when omitted (read
            on first use, not here).
        topics: Declared topics, ensured at start (created when missing, partitions and configs
            raised).
        presets: Named listener options (Spring's ``containerFactory``) for ``preset="name"``.
        registry: Where ``@app.listener`` registers; a new one when omitted (one given may hold
            listeners already).
        template: The app's template; made from ``settings`` on first use when omitted.
        error_handler: For every listener without its own; when omitted, a
            ``DefaultErrorHandler`` without recoverer (retries with back-off, never skips).
        dependencies: What listeners ask for with ``Annotated[T, Inject]``, by type.
        metrics_registry: Where the template's and listeners' Prometheus metrics go
            (prometheus-client's global registry when omitted).
        middlewares: Around every send of the template and every handle of the listeners.
        environ: Resolves ``${NAME}`` placeholders in listener declarations (``os.environ`` when
            omitted).
        tracing: Spans around the template's sends and the listeners' calls, trace context in
            the headers (:class:`~kafka_kit.tracing.KafkaTracing`); off when omitted.
    """

    def __init__(
        self,
        settings: KafkaSettings | None = None,
        *,
        topics: Iterable[NewTopic] = (),
        presets: Mapping[str, ListenerPreset] | None = None,
        registry: ListenerRegistry | None = None,
        template: KafkaTemplate | None = None,
        error_handler: ErrorHandler | None = None,
        dependencies: Mapping[type, Any] | None = None,
        metrics_registry: CollectorRegistry | None = None,
        middlewares: Sequence[Middleware] = (),
        environ: Mapping[str, str] | None = None,
        tracing: Observation | None = None,
    ) -> None:
        self._settings = settings
        self.tracing = tracing
        """Spans around sends and listener calls, or ``None``."""
        self.middlewares = tuple(middlewares)
        """Around every send of the app's template, and (as its registry's) every handle of its
        listeners, outside their own."""
        self.registry = registry or ListenerRegistry()
        """The app's listeners (``@app.listener``; a registry given may hold some already)."""
        self.registry.presets.update(presets or {})
        self.registry.middlewares = (*self.registry.middlewares, *middlewares)
        self.topics: list[NewTopic] = list(topics)
        """Topics ensured at start (created when missing, partitions and configs raised)."""
        self.publications: list[Publication] = []
        """What the app sends, declared for its AsyncAPI document (``app.publisher``)."""
        self.error_handler = error_handler
        self.dependencies: dict[type, Any] = dict(dependencies or {})
        """What listeners ask for with ``Annotated[T, Inject]``, by type (the template is added)."""
        self._metrics_registry = metrics_registry
        self._environ = environ
        self._template: KafkaTemplate | None = template
        self._background: list[Callable[[], Awaitable[None]]] = []
        self._hooks: dict[str, list[Callable[[], Awaitable[None]]]] = {
            "on_startup": [],
            "after_startup": [],
            "on_shutdown": [],
            "after_shutdown": [],
        }
        self._stack: contextlib.AsyncExitStack | None = None

    # ---------------------------------------------------------------- declarations
    @property
    def settings(self) -> KafkaSettings:
        """The settings given, else ``KAFKA_*`` from the environment (read on first use)."""
        if self._settings is None:
            self._settings = KafkaSettings()
        return self._settings

    @property
    def template(self) -> KafkaTemplate:
        """The app's template: made on first use, connected when the app starts."""
        if self._template is None:
            self._template = KafkaTemplate(
                self.settings,
                metrics_registry=self._metrics_registry,
                middlewares=self.middlewares,
                tracing=self.tracing,
            )
        return self._template

    def listener(self, *topics: str, **options: Any) -> Callable[[Handler], Handler]:
        """``@kafka_listener`` into this app's registry: the same options, ``registry=`` implied.

        Args:
            topics: The topics to listen to (or ``pattern=`` / ``partitions=`` in ``options``).
            options: Any option of :func:`~kafka_kit.kafka_listener` but ``registry``.
        """
        if "registry" in options:
            raise TypeError("app.listener registers in the app's own registry: drop registry=")
        return kafka_listener(*topics, registry=self.registry, **options)

    def preset(self, name: str, preset: ListenerPreset | None = None, **options: Any) -> None:
        """Name listener options (Spring's ``containerFactory``): ``preset="name"`` uses them.

        Args:
            name: What listeners give as ``preset=``.
            preset: The options, made; or give them as keyword ``options`` instead.
            options: The options (``concurrency``, ``batch``, ``ack_mode``, …), when no
                ``preset`` is given.
        """
        self.registry.presets[name] = preset or ListenerPreset.of(**options)

    def topic(
        self,
        name: str,
        partitions: int | None = None,
        replication_factor: int | None = None,
        **configs: str | int,
    ) -> NewTopic:
        """Declare a topic to ensure at start (none given: the broker's defaults).

        Args:
            name: The topic's name.
            partitions: How many partitions (at least; raised, never lowered).
            replication_factor: Copies of each partition.
            configs: Topic configs, ``_`` for ``.``: ``retention_ms=60_000``.
        """
        declared = NewTopic(name, partitions, replication_factor)
        for key, value in configs.items():
            declared = declared.config(key.replace("_", "."), value)
        self.topics.append(declared)
        return declared

    def publisher(self, topic: str, payload: Any, *, summary: str = "") -> Publication:
        """Declare what the app sends to ``topic``, for its AsyncAPI document (sends nothing).

        Args:
            topic: Where the app's template sends.
            payload: The value's type (a pydantic model, a dataclass, ``dict``, ``bytes``…).
            summary: One line on what is sent and when.
        """
        declared = Publication(topic, payload, summary)
        self.publications.append(declared)
        return declared

    def on_startup(self, hook: Hook) -> Hook:
        """Run ``hook`` at start once the template is connected, before the listeners start
        (open what they need; send).

        Args:
            hook: An async function without arguments; returned, so this is a decorator.
        """
        self._hooks["on_startup"].append(hook)
        return hook

    def after_startup(self, hook: Hook) -> Hook:
        """Run ``hook`` at start once the listeners run.

        Args:
            hook: An async function without arguments; returned, so this is a decorator.
        """
        self._hooks["after_startup"].append(hook)
        return hook

    def on_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook`` at stop before the listeners stop.

        Args:
            hook: An async function without arguments; returned, so this is a decorator.
        """
        self._hooks["on_shutdown"].append(hook)
        return hook

    def after_shutdown(self, hook: Hook) -> Hook:
        """Run ``hook`` at stop once the listeners stopped, before the template closes (close
        what they used).

        Args:
            hook: An async function without arguments; returned, so this is a decorator.
        """
        self._hooks["after_shutdown"].append(hook)
        return hook

    def background(self, work: Hook) -> Hook:
        """Run ``work`` as a task while the app runs: started after the ``on_startup`` hooks
        (it may use what they opened), before the listeners; cancelled and awaited after the
        listeners stopped, before the ``after_shutdown`` hooks close what it used.

        A ``work`` that raises is logged; the app goes on (like Spring's ``SmartLifecycle``
        beans, a background job is no reason to stop the listeners).

        Args:
            work: An async function without arguments that runs until cancelled; returned, so
                this is a decorator.
        """
        self._background.append(work)
        return work

    # ---------------------------------------------------------------- lifecycle
    @property
    def running(self) -> bool:
        """Started and not stopped."""
        return self._stack is not None

    async def start(self) -> None:
        """Ensure the topics, connect the template, run ``on_startup`` hooks, start the
        ``background`` jobs and the listeners, run ``after_startup`` hooks (each group in
        declaration order).

        A failure undoes what was started, in reverse order, and raises.
        """
        if self._stack is not None:
            raise RegistryStateError("the app is already running: stop() it first")
        settings = self.settings
        started = contextlib.AsyncExitStack()
        try:
            if self.topics:
                await KafkaAdmin(settings).ensure_topics(self.topics)
            template = self.template
            await template.start()
            started.push_async_callback(template.stop)
            await self._run_hooks("on_startup", started, undo="after_shutdown")
            for work in self._background:
                task = asyncio.create_task(_logged(work), name=f"background {_name(work)}")
                started.push_async_callback(cancel_and_wait, task)
            await self.registry.start(
                settings,
                self._environ,
                error_handler=self.error_handler,
                template=template,
                dependencies={KafkaTemplate: template, **self.dependencies},
                metrics_registry=self._metrics_registry,
                tracing=self.tracing,
            )
            started.push_async_callback(self.registry.stop)
            self._stack = started  # running: what after_startup hooks see
            await self._run_hooks("after_startup", started, undo="on_shutdown")
        except BaseException:
            self._stack = None
            await started.aclose()
            raise
        log.info(
            "kafka app started: %d listener(s), %d topic(s) declared",
            len(self.registry.endpoints),
            len(self.topics),
        )

    async def _run_hooks(self, name: str, started: contextlib.AsyncExitStack, *, undo: str) -> None:
        # Their counterparts are queued first (to run in declaration order on the way back),
        # so that a failing hook still gets what the others opened closed.
        for hook in reversed(self._hooks[undo]):
            started.push_async_callback(_logged, hook)
        for hook in self._hooks[name]:
            await hook()

    async def stop(self) -> None:
        """Run ``on_shutdown`` hooks, stop the listeners (each commits what it handled), run
        ``after_shutdown`` hooks, then flush and close the template."""
        started, self._stack = self._stack, None
        if started is not None:
            await started.aclose()

    async def __aenter__(self) -> KafkaApp:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def health(self) -> AppHealth:
        """``UP`` when every listener that should run does; ``STOPPED`` before start."""
        if self._stack is None:
            return AppHealth("STOPPED")
        problems = self.registry.unhealthy()
        if self._template is not None and not self._template.is_running:
            problems = {**problems, "template": "not connected"}
        return AppHealth("DOWN" if problems else "UP", problems)

    @contextlib.asynccontextmanager
    async def lifespan(self, _web_app: object = None) -> AsyncIterator[dict[str, Any]]:
        """A FastAPI/Starlette lifespan: ``FastAPI(lifespan=app.lifespan)`` runs the listeners
        with the web app; routes find the app as ``request.state.kafka_app``.

        Args:
            _web_app: The web app the server passes (unused).
        """
        async with self:
            yield {"kafka_app": self}

    async def serve(self, stop: asyncio.Event | None = None) -> None:
        """Start, run until ``stop`` is set (or SIGINT/SIGTERM arrives), then stop.

        Args:
            stop: Set it to stop the app; only signals stop it when omitted.
        """
        stop = stop or asyncio.Event()
        loop = asyncio.get_running_loop()
        first: list[float] = []  # when the stop was asked for
        installed = []
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(signum, on_signal, signum, stop, loop, first)
                installed.append(signum)
        try:
            async with self:
                await stop.wait()
                log.info("kafka app stopping: the listeners commit what they handled")
        finally:
            for signum in installed:
                loop.remove_signal_handler(signum)

    def run(self) -> None:
        """Run the app until Ctrl-C or SIGTERM (``asyncio.run(app.serve())``)."""
        asyncio.run(self.serve())


async def _logged(hook: Callable[[], Awaitable[None]]) -> None:
    # A shut-down hook (or background job) that fails must not keep the listeners from running,
    # stopping and committing.
    try:
        await hook()
    except Exception:
        log.exception("%s failed", _name(hook))


def _name(hook: Callable[[], Awaitable[None]]) -> str:
    return str(getattr(hook, "__name__", hook))
