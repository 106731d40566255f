"""A stream-processing application run by the app's lifespan (Spring's StreamsBuilderFactoryBean).

The engine is Quix Streams: topics, StreamingDataFrames, state stores in RocksDB whose every
change goes to a compacted changelog topic, windows with grace, exactly-once checkpoints. Its
processing loop is blocking, so it runs in a thread of the service's process; this class gives
it the kit's settings, a life cycle in Kafka Streams' states, the partitions this instance owns,
and the instance that owns a key (for interactive queries over HTTP).

It is supervised, as the listener containers are: records that fail go to their policies
(:mod:`kafka_kit.streams.failures`) and never stop it; an engine that fails (a broker away
longer than ``broker_timeout_s``, a fenced producer, a lost transaction) is replaced by a new one
from the topology function, after a back-off, resuming from what was committed — Kafka Streams'
``REPLACE_THREAD``. Only a ``fail`` policy stops it for good.

It is over 400 lines because it is one state machine (Kafka Streams' states, the supervisor's
restarts, the thread it runs in, what it reports) whose transitions read best in one place; the
engine, the settings, ownership, stores and metrics are modules of their own.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from kafka_kit._internal.cancellation import cancel_and_wait
from kafka_kit.admin import KafkaAdmin, NewTopic
from kafka_kit.recovery.back_off import ExponentialBackOff
from kafka_kit.settings import KafkaSettings
from kafka_kit.streams._engine import Application
from kafka_kit.streams.connection import connection_config
from kafka_kit.streams.engine import Engine
from kafka_kit.streams.failures import FailureKind, StreamsEngineStalled, StreamsPolicyFailure
from kafka_kit.streams.settings import StreamsSettings
from kafka_kit.streams.state import StreamsState
from kafka_kit.streams.store_memory import CappedStoreOptions
from kafka_kit.streams.supervision import Supervision

__all__ = ["RestoreInfo", "StreamsApplication", "Topology"]

log = logging.getLogger(__name__)

MEMBER_SEPARATOR = "@"
"""Between the application id and the instance's URL in its consumer's client id: how the
other instances learn where a partition's state can be asked for."""

T = TypeVar("T")

Topology = Callable[[Application], T]
"""Declares topics and StreamingDataFrames on a fresh engine; called again for each restart."""


@dataclass(frozen=True)
class RestoreInfo:
    """How long the last start took until the state stores were restored and processing ran."""

    seconds: float
    """From the start (or restart) until every store was restored and processing ran."""
    partitions: list[str]
    """The input partitions this instance got."""


class StreamsApplication:
    """One supervised Quix Streams application: :meth:`declare` the topology, start, stop.

    Args:
        settings: The application's own settings (``KAFKA_STREAMS_*``; the application id is
            required).
        kafka: How to reach the cluster (``KAFKA_*`` when omitted).
    """

    def __init__(
        self, settings: StreamsSettings | None = None, kafka: KafkaSettings | None = None
    ) -> None:
        # None: from the environment, where KAFKA_STREAMS_APPLICATION_ID must then be set.
        self.settings = settings or StreamsSettings()  # type: ignore[call-arg]
        self.kafka = kafka or KafkaSettings()
        self.records_processed: Counter[str] = Counter()
        self.restore: RestoreInfo | None = None
        self.error: BaseException | None = None
        """Why it stopped for good (``ERROR``), or why it is restarting."""
        self.last_error: str | None = None
        """The last failure it restarted after, as text."""
        self.restarts = 0
        self._abandoned: list[threading.Thread] = []
        self.assigned: set[tuple[str, int]] = set()
        self.supervision = Supervision(self.settings, self.settings.dead_letters)
        self._topologies: list[Topology[Any]] = []
        self._assigned_once = threading.Event()
        self._stopping = threading.Event()
        self._phase = StreamsState.CREATED
        self._restart_at: float | None = None
        self._started_at = 0.0
        self._thread: threading.Thread | None = None
        self._watch: asyncio.Task[None] | None = None
        self.app: Engine = self._new_engine()
        """The engine running now (a restart makes a new one): declare through :meth:`declare`."""

    @property
    def application_id(self) -> str:
        """The consumer group, and the prefix of the internal topics."""
        return self.settings.application_id

    @property
    def member_client_id(self) -> str:
        """This instance's consumer client id: the application id and the instance's URL."""
        return f"{self.application_id}{MEMBER_SEPARATOR}{self.settings.application_server}"

    @property
    def dead_letter_topic(self) -> str:
        """Where records that failed go (their policy permitting)."""
        return self.supervision.dead_letter_topic

    def declare(self, topology: Topology[T]) -> T:
        """Declare ``topology`` on the engine now, and on every engine a restart makes.

        Args:
            topology: A function that declares topics, dataframes and stores on the engine it is
                given, and returns what the caller keeps (store readers…).
        """
        self._topologies.append(topology)
        return topology(self.app)

    def _new_engine(self) -> Engine:
        session_ms = int(self.settings.session_timeout_s * 1000)
        # The engine's flush waits as long as max.poll.interval.ms (5 min by default): bounded
        # like the transaction's commit (engine.py).
        stuck_ms = int(self.settings.stuck_after_s * 1000)
        transactions = (
            {"transaction.timeout.ms": stuck_ms}
            if self.settings.processing_guarantee == "exactly-once"
            else {}
        )
        return Engine(
            broker_address=connection_config(self.kafka),
            consumer_group=self.settings.application_id,
            auto_offset_reset="earliest",
            commit_interval=self.settings.commit_interval_s,
            commit_every=self.settings.commit_every,
            processing_guarantee=self.settings.processing_guarantee,
            state_dir=str(self._state_dir()),
            rocksdb_options=self._store_options(),
            # The service's own logging configuration applies.
            loglevel=None,
            request_timeout=self.kafka.request_timeout_ms / 1000,
            broker_availability_timeout=self.settings.broker_timeout_s,
            consumer_extra_config={
                "client.id": self.member_client_id,
                "session.timeout.ms": session_ms,
                "heartbeat.interval.ms": max(session_ms // 3, 100),
                "max.poll.interval.ms": stuck_ms,
                "queued.max.messages.kbytes": int(self.settings.fetch_buffer_mb * 1024),
                # librdkafka prefetches 100,000 records per partition by default; the byte
                # bound above, not a count, is what should limit it.
                "queued.min.messages": 1000,
                "fetch.max.bytes": 2 * 1024 * 1024,
                "max.partition.fetch.bytes": 256 * 1024,
            },
            producer_extra_config={
                "client.id": f"{self.kafka.client_id}-streams-{self.application_id}",
                **transactions,
            },
            on_message_processed=self._processed,
            supervision=self.supervision,
            on_assignment=self._on_assignment,
        )

    def _state_dir(self) -> Path:
        """The state folder; a fresh one while an abandoned engine still holds the stores.

        An engine abandoned in a hung client call keeps its RocksDB stores open (their locks
        are per process), so the next engine could not open them ("lock hold by current
        process") and would fail every restart. It restores into a folder of its own from the
        changelog topics instead, as a new instance would; the usual folder is used again once
        no abandoned engine is left.
        """
        self._abandoned = [worker for worker in self._abandoned if worker.is_alive()]
        if not self._abandoned:
            return self.settings.state_path
        fresh = self.settings.state_path / "after-stall" / f"restart-{self.restarts}"
        log.warning(
            "stream application %s: an abandoned engine still holds the state stores; this one "
            "restores them from the changelogs into %s",
            self.application_id,
            fresh,
        )
        return fresh

    def _store_options(self) -> CappedStoreOptions:
        # The engine's defaults (64 MB write buffers x 3 per store partition and column
        # family) let memory grow for hours; one cap for the process keeps it flat
        # (bench/soak.py measures it).
        mb = 1024 * 1024
        return CappedStoreOptions(
            write_buffer_size=2 * mb,
            max_write_buffer_number=2,
            block_cache_size=int(self.settings.store_memory_mb * mb),
            target_file_size_base=8 * mb,
        )

    async def start(self) -> None:
        """Make the dead-letter topic, then run the supervised processing loop in its thread
        (topics are created, state restored there)."""
        await self._ensure_dead_letter_topic()
        self._started_at = time.monotonic()
        self._stopping.clear()
        self._thread = threading.Thread(
            target=self._supervise, name=f"streams-{self.application_id}", daemon=True
        )
        self._phase = StreamsState.RUNNING
        self._thread.start()
        self._watch = asyncio.create_task(self._record_restores())

    async def _ensure_dead_letter_topic(self) -> None:
        # Made like the first input topic, so a dead letter keeps its record's partition.
        inputs = [topic.name for topic in self.app._dataframe_registry.consumer_topics]
        admin = KafkaAdmin(self.kafka)
        partitions, replicas = 1, 1
        if inputs:
            try:
                partitions, replicas = await admin.topic_layout(inputs[0])
            except Exception as exc:  # noqa: BLE001 - the engine creates its input; then made small
                log.debug("%s: input layout unknown (%r)", self.application_id, exc)
        name = self.dead_letter_topic
        await admin.ensure_topics([NewTopic(name, partitions, replicas)])
        self.supervision.dead_letter_partitions = (await admin.topic_layout(name))[0]

    async def stop(self, timeout_s: float = 30.0) -> None:
        """Finish the current checkpoint, leave the group, wait for the thread to end.

        Args:
            timeout_s: How long to wait for the thread; after that it is left to end on its own.
        """
        if self._thread is None:
            return
        self._stopping.set()
        if self._phase in (StreamsState.RUNNING, StreamsState.RESTARTING):
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
        """Kafka Streams' state of this instance, now (plus ``RESTARTING``)."""
        phase = self._phase
        if phase is not StreamsState.RUNNING:
            return phase
        if self._thread is not None and not self._thread.is_alive():
            return StreamsState.ERROR if self.error is not None else StreamsState.NOT_RUNNING
        if not self._assigned_once.is_set() or self._recovering():
            return StreamsState.REBALANCING
        return StreamsState.RUNNING

    def owns(self, topic: str, partition: int) -> bool:
        """Whether this instance processes (and holds the state of) ``topic``'s ``partition``.

        Args:
            topic: An input topic.
            partition: Its partition.
        """
        return (topic, partition) in self.assigned

    def health(self) -> dict[str, Any]:
        """What ``/health`` and ``/streams`` show: state, restarts, failures, the last restore."""
        error = self.error
        counts = self.supervision.counts
        restart_at = self._restart_at
        return {
            "application_id": self.application_id,
            "state": self.state.value,
            "error": None if error is None else f"{type(error).__name__}: {error}",
            "restarts": self.restarts,
            "last_error": self.last_error,
            "restart_in_s": None
            if restart_at is None
            else round(max(0.0, restart_at - time.monotonic()), 1),
            "restore": None if self.restore is None else vars(self.restore),
            "assigned_partitions": sorted(f"{topic}-{p}" for topic, p in self.assigned),
            "records_processed": dict(self.records_processed),
            "dead_letter_topic": self.dead_letter_topic,
            "dead_lettered": dict(counts.dead_lettered),
            "skipped": dict(counts.skipped),
            "timestamps_clamped": counts.timestamps_clamped,
        }

    async def wait_until(self, state: StreamsState, timeout_s: float) -> None:
        """Return once the application is in ``state``; ``TimeoutError`` after ``timeout_s``.

        Args:
            state: The state to wait for (``RUNNING``…).
            timeout_s: How long to wait.
        """
        async with asyncio.timeout(timeout_s):
            # The state is derived from the engine's flags on every read: no event to await.
            while self.state is not state:  # noqa: ASYNC110
                await asyncio.sleep(0.05)

    # ------------------------------------------------------------------ the supervisor
    def _supervise(self) -> None:
        """Run engines until stopped: a failed one is replaced after a back-off."""
        back_off = ExponentialBackOff(
            self.settings.restart_backoff_s, 2.0, self.settings.restart_backoff_max_s, None
        )
        failures = 0
        while not self._stopping.is_set():
            engine = self.app
            ran_for = time.monotonic()
            try:
                self._run(engine)
            except StreamsPolicyFailure as exc:
                self._gave_up(exc)
                return
            except Exception as exc:  # noqa: BLE001 - an engine's end: the next one takes over
                if self._stopping.is_set():
                    break
                self._note_failure(engine, exc)
                if not self._topologies:
                    self._gave_up(exc, "declared on .app: no topology function to restart with")
                    return
                # A run that went well for a while starts the back-off over.
                failures = 1 if time.monotonic() - ran_for > 60 else failures + 1
                delay = back_off.delay_s(failures) or self.settings.restart_backoff_max_s
                if not self._wait_to_restart(exc, delay):
                    break
                try:
                    self._replace_engine()
                except Exception as rebuild:
                    log.exception("%s: a new engine failed", self.application_id)
                    self.last_error = f"{type(rebuild).__name__}: {rebuild}"
                continue
            break
        self._phase = StreamsState.NOT_RUNNING

    def _run(self, engine: Engine) -> None:
        """``engine.run()`` in a thread of its own, watched: an engine whose loop stops going
        round for longer than a checkpoint may take is abandoned (a Kafka client call that
        ignores its timeout cannot be interrupted) and :class:`StreamsEngineStalled` raised."""
        ended: list[BaseException] = []

        def work() -> None:
            try:
                engine.run()
            except Exception as exc:  # noqa: BLE001 - handed to the supervisor
                ended.append(exc)

        worker = threading.Thread(
            target=work, name=f"streams-{self.application_id}-{self.restarts}", daemon=True
        )
        engine.heartbeat = time.monotonic()
        worker.start()
        limit = self.settings.stuck_after_s * 1.5 + 5
        while worker.is_alive():
            worker.join(0.5)
            stalled = time.monotonic() - engine.heartbeat
            if worker.is_alive() and not self._stopping.is_set() and stalled > limit:
                engine.stop(fail=True)  # if the hung call ever returns, it ends there
                self._abandoned.append(worker)
                raise StreamsEngineStalled(
                    f"the processing loop made no progress for {stalled:.0f} s (a Kafka client "
                    "call that hangs past its timeout); this engine is abandoned"
                )
        if ended:
            raise ended[0]

    def _note_failure(self, engine: Engine, exc: BaseException) -> None:
        at = engine.processing
        if at is not None:
            self.supervision.struck(at, exc)
        for suspect in engine.suspects:
            self.supervision.struck(suspect, exc, FailureKind.PRODUCTION)
        self.error = exc
        self.last_error = f"{type(exc).__name__}: {exc}"
        where = f" while processing {at[0]}[{at[1]}]@{at[2]}" if at is not None else ""
        log.error(
            "stream application %s failed%s; it restarts from its committed state",
            self.application_id,
            where,
            exc_info=exc,
        )

    def _wait_to_restart(self, exc: BaseException, delay_s: float) -> bool:
        """``RESTARTING`` for ``delay_s``; False when stopped meanwhile."""
        self._phase = StreamsState.RESTARTING
        self._restart_at = time.monotonic() + delay_s
        log.warning("%s restarts in %.1f s", self.application_id, delay_s)
        stopped = self._stopping.wait(delay_s)
        self._restart_at = None
        return not stopped

    def _replace_engine(self) -> None:
        engine = self._new_engine()
        for topology in self._topologies:
            topology(engine)
        self.assigned = set()
        self._assigned_once.clear()
        self.app = engine
        self.restarts += 1
        self.error = None
        self._started_at = time.monotonic()
        self._phase = StreamsState.RUNNING

    def _gave_up(self, exc: BaseException, why: str | None = None) -> None:
        log.error(
            "stream application %s stopped for good%s: the failed record stays uncommitted",
            self.application_id,
            f" ({why})" if why else "",
            exc_info=exc,
        )
        self.error = exc
        self.last_error = f"{type(exc).__name__}: {exc}"
        self._phase = StreamsState.ERROR

    def _processed(self, topic: str, partition: int, offset: int) -> None:
        self.records_processed[topic] += 1

    def _on_assignment(self, owned: set[tuple[str, int]]) -> None:
        self.assigned = owned
        self._assigned_once.set()

    def _recovering(self) -> bool:
        # Whether stores are still registered for restoring, not the engine's "recovering" flag:
        # that one goes up only when the restore loop starts, a poll round after the assignment.
        manager = getattr(self.app, "_state_manager", None)
        return bool(manager is not None and manager.recovery_required)

    async def _record_restores(self) -> None:
        """After each (re)start: how long until it ran, restored, with which partitions."""
        measured = -1.0
        while True:
            started = self._started_at
            if started != measured and self.state is StreamsState.RUNNING:
                measured = started
                topics = self.app._dataframe_registry.consumer_topics
                names = {topic.name for topic in topics}
                self.restore = RestoreInfo(
                    seconds=round(time.monotonic() - started, 3),
                    partitions=sorted(f"{t}-{p}" for t, p in self.assigned if t in names),
                )
                log.info("%s running after %.3f s", self.application_id, self.restore.seconds)
            if self.state in (StreamsState.ERROR, StreamsState.NOT_RUNNING):
                return
            await asyncio.sleep(0.05)
