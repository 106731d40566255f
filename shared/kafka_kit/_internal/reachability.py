"""Whether the cluster answers: probed after a failed send, so writes fail fast while it does not.

aiokafka keeps a record it was handed until the delivery timeout; with every broker away each
write would wait that long. After a send times out or loses its connection, the template asks the
cluster for metadata (a short, bounded probe); while that fails, new writes are refused at once —
nothing handed over, so nothing written: an honest ``503`` — and the probe repeats until the
cluster answers, when writes resume by themselves.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from kafka_kit._internal.cancellation import cancel_and_wait, within

__all__ = ["ClusterReachability"]

log = logging.getLogger(__name__)


class ClusterReachability:
    """Probes the cluster after a suspect failure; ``unreachable`` says why writes fail fast."""

    def __init__(
        self,
        probe: Callable[[], Awaitable[object]],
        *,
        timeout_s: float = 2.0,
        interval_s: float = 1.0,
    ) -> None:
        self._probe = probe
        self.timeout_s = timeout_s
        self.interval_s = interval_s
        self.unreachable: str | None = None
        """Why the cluster is taken as unreachable (``None``: it answers, or nobody asked)."""
        self._task: asyncio.Task[None] | None = None

    def suspect(self) -> None:
        """A send failed as if the cluster were away: probe it (once at a time)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(
                self._until_it_answers(), name="kafka-reachability"
            )

    async def _until_it_answers(self) -> None:
        while True:
            try:
                await within(self._probe(), self.timeout_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - any failure: not reachable yet
                if self.unreachable is None:
                    log.warning("Kafka is unreachable (%r): writes fail fast until it answers", exc)
                self.unreachable = f"Kafka is unreachable: {type(exc).__name__}: {exc}".rstrip(": ")
                await asyncio.sleep(self.interval_s)
                continue
            if self.unreachable is not None:
                log.warning("Kafka answers again: writes resume")
            self.unreachable = None
            return

    async def close(self) -> None:
        """Stop probing."""
        task, self._task = self._task, None
        await cancel_and_wait(task)
