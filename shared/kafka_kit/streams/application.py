"""A stream-processing application run by the app's lifespan (Spring's StreamsBuilderFactoryBean).

The engine is Quix Streams: topics, StreamingDataFrames, state stores in RocksDB whose every
change goes to a compacted changelog topic, windows with grace, exactly-once checkpoints. Its
processing loop is blocking, so it runs in a thread of the service's process; this class gives
it the kit's settings, a life cycle in Kafka Streams' states, the partitions this instance owns,
and the instance that owns a key (for interactive queries over HTTP).
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kafka_kit._cancellation import cancel_and_wait
from kafka_kit.settings import KafkaSettings
from kafka_kit.streams._engine import Application
from kafka_kit.streams.connection import connection_config
from kafka_kit.streams.settings import StreamsSettings
from kafka_kit.streams.state import StreamsState

__all__ = ["RestoreInfo", "StreamsApplication"]

log = logging.getLogger(__name__)

MEMBER_SEPARATOR = "@"
"""Between the application id and the instance's URL in its consumer's client id: how the
other instances learn where a partition's state can be asked for."""


@dataclass(frozen=True)
class RestoreInfo:
    """How long the last start took until the state stores were restored and processing ran."""

    seconds: float
    partitions: list[str]
    """The input partitions this instance got."""


class _ThreadedApplication(Application):
    """Quix's Application in a thread: signals belong to the server; assignments are reported."""

    def __init__(
        self, *args: Any, on_assignment: Callable[[set[tuple[str, int]]], None], **kwargs: Any
    ) -> None:
        super().__init__(*args, **kwargs)
        self._report_assignment = on_assignment
        self._owned: set[tuple[str, int]] = set()

    def _setup_signal_handlers(self) -> None:
        # Quix installs SIGINT/SIGTERM handlers, which only the main thread may; uvicorn owns
        # them there and the lifespan stops this application.
        pass

    def _on_assign(self, consumer: Any, topic_partitions: list[Any]) -> None:
        super()._on_assign(consumer, topic_partitions)
        self._owned |= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))

    def _on_revoke(self, consumer: Any, topic_partitions: list[Any]) -> None:
        self._owned -= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))
        super()._on_revoke(consumer, topic_partitions)

    def _on_lost(self, consumer: Any, topic_partitions: list[Any]) -> None:
        self._owned -= {(tp.topic, tp.partition) for tp in topic_partitions}
        self._report_assignment(set(self._owned))
        super()._on_lost(consumer, topic_partitions)


class StreamsApplication:
    """One Quix Streams application: declare the topology on ``.app``, then start/stop it."""

    def __init__(
        self, settings: StreamsSettings | None = None, kafka: KafkaSettings | None = None
    ) -> None:
        self.settings = settings or StreamsSettings()
        self.kafka = kafka or KafkaSettings()
        self.records_processed: Counter[str] = Counter()
        self.restore: RestoreInfo | None = None
        self.error: BaseException | None = None
        self.assigned: set[tuple[str, int]] = set()
        self._assigned_once = threading.Event()
        self._phase = StreamsState.CREATED
        self._thread: threading.Thread | None = None
        self._watch: asyncio.Task[None] | None = None
        session_ms = int(self.settings.session_timeout_s * 1000)
        self.app = _ThreadedApplication(
            broker_address=connection_config(self.kafka),
            consumer_group=self.settings.application_id,
            auto_offset_reset="earliest",
            commit_interval=self.settings.commit_interval_s,
            processing_guarantee=self.settings.processing_guarantee,
            state_dir=str(self.settings.state_path),
            # The service's own logging configuration applies.
            loglevel=None,
            request_timeout=self.kafka.request_timeout_ms / 1000,
            consumer_extra_config={
                "client.id": self.member_client_id,
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(session_ms // 3, 100),
            },
            producer_extra_config={
                "client.id": f"{self.kafka.client_id}-streams-{self.application_id}"
            },
            on_message_processed=self._processed,
            on_assignment=self._on_assignment,
        )

    @property
    def application_id(self) -> str:
        """The consumer group, and the prefix of the internal topics."""
        return self.settings.application_id

    @property
    def member_client_id(self) -> str:
        """This instance's consumer client id: the application id and the instance's URL."""
        return f"{self.application_id}{MEMBER_SEPARATOR}{self.settings.application_server}"

    async def start(self) -> None:
        """Start the processing loop in its thread (topics are created, state restored there)."""
        started = time.monotonic()
        self._thread = threading.Thread(
            target=self._run, name=f"streams-{self.application_id}", daemon=True
        )
        self._phase = StreamsState.RUNNING
        self._thread.start()
        self._watch = asyncio.create_task(self._record_restore(started))

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the current checkpoint, leave the group, wait for the thread to end."""
        if self._thread is None:
            return
        if self._phase is StreamsState.RUNNING:
            self._phase = StreamsState.PENDING_SHUTDOWN
        watch, self._watch = self._watch, None
        await cancel_and_wait(watch)
        deadline = time.monotonic() + timeout_s
        while self._thread.is_alive() and time.monotonic() < deadline:
            # The engine marks itself running once it has subscribed, forgetting a stop asked
            # for before that: asked again until the thread ends.
            self.app.stop()
            await asyncio.to_thread(self._thread.join, 0.2)
        if self._thread.is_alive():
            log.warning("%s did not stop within %.0f s", self.application_id, timeout_s)

    async def __aenter__(self) -> StreamsApplication:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def state(self) -> StreamsState:
        """Kafka Streams' state of this instance, now."""
        if self._phase is not StreamsState.RUNNING:
            return self._phase
        if self._thread is not None and not self._thread.is_alive():
            return StreamsState.ERROR if self.error is not None else StreamsState.NOT_RUNNING
        if not self._assigned_once.is_set() or self._recovering():
            return StreamsState.REBALANCING
        return StreamsState.RUNNING

    def owns(self, topic: str, partition: int) -> bool:
        """Whether this instance processes (and holds the state of) ``topic``'s ``partition``."""
        return (topic, partition) in self.assigned

    def health(self) -> dict[str, Any]:
        """What ``/health`` shows: state, the error that stopped it, the last restore."""
        error = self.error
        return {
            "application_id": self.application_id,
            "state": self.state.value,
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "restore": None if self.restore is None else vars(self.restore),
            "assigned_partitions": sorted(f"{topic}-{p}" for topic, p in self.assigned),
            "records_processed": dict(self.records_processed),
        }

    async def wait_until(self, state: StreamsState, timeout_s: float) -> None:
        """Return once the application is in ``state``; ``TimeoutError`` after ``timeout_s``."""
        async with asyncio.timeout(timeout_s):
            # The state is derived from the engine's flags on every read: no event to await.
            while self.state is not state:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    def _run(self) -> None:
        try:
            self.app.run()
        except BaseException as exc:  # the thread's end: recorded, shown by the state
            log.error(
                "stream application %s stopped: the failed record stays uncommitted",
                self.application_id,
                exc_info=exc,
            )
            self.error = exc
            self._phase = StreamsState.ERROR
        else:
            self._phase = StreamsState.NOT_RUNNING

    def _processed(self, topic: str, partition: int, offset: int) -> None:
        self.records_processed[topic] += 1

    def _on_assignment(self, owned: set[tuple[str, int]]) -> None:
        self.assigned = owned
        self._assigned_once.set()

    def _recovering(self) -> bool:
        # The engine's recovery manager says whether changelogs are being read back.
        manager = getattr(self.app, "_state_manager", None)
        recovery = getattr(manager, "_recovery_manager", None)
        return bool(recovery is not None and recovery.recovering)

    async def _record_restore(self, started: float) -> None:
        while self.state is StreamsState.REBALANCING or not self._assigned_once.is_set():
            if self.state in (StreamsState.ERROR, StreamsState.NOT_RUNNING):
                return
            await asyncio.sleep(0.05)
        topics = self.app._dataframe_registry.consumer_topics
        names = {topic.name for topic in topics}
        self.restore = RestoreInfo(
            seconds=round(time.monotonic() - started, 3),
            partitions=sorted(f"{t}-{p}" for t, p in self.assigned if t in names),
        )
        log.info("%s running after %.3f s", self.application_id, self.restore.seconds)
