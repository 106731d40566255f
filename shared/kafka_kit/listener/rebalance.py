"""Partitions assigned and revoked: the container's own bookkeeping, then the user's hook."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from aiokafka import ConsumerRebalanceListener
from aiokafka.structs import TopicPartition

__all__ = ["RebalanceBridge", "RebalanceListener"]

log = logging.getLogger(__name__)


class RebalanceListener(Protocol):
    """A listener's hook into rebalances (``@kafka_listener(rebalance_listener=...)``).

    Either method may be a plain or an ``async`` function, and either may be left out. Revoked
    partitions are heard after the container committed what it handled of them; assigned ones
    before their first records are handled.
    """

    def on_partitions_assigned(self, assigned: set[TopicPartition]) -> Any:
        """``assigned`` are this consumer's now.

        Args:
            assigned: The partitions this consumer got.
        """

    def on_partitions_revoked(self, revoked: set[TopicPartition]) -> Any:
        """``revoked`` go to another consumer.

        Args:
            revoked: The partitions this consumer gave up (what it handled is committed).
        """


class RebalanceBridge(ConsumerRebalanceListener):
    """What aiokafka calls: the container's callbacks first, then the user's hook.

    Args:
        on_revoked: The container's: commit and forget.
        on_assigned: The container's: take the partitions on.
        user: The listener's own hook, called after.
        listener_id: For log lines.
    """

    def __init__(
        self,
        on_revoked: Callable[[set[TopicPartition]], Awaitable[None]],
        on_assigned: Callable[[set[TopicPartition]], None],
        user: RebalanceListener | None,
        listener_id: str,
    ) -> None:
        self._on_revoked = on_revoked
        self._on_assigned = on_assigned
        self._user = user
        self._listener_id = listener_id

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        """Commit and forget the partitions, then tell the user.

        Args:
            revoked: The partitions this consumer gives up.
        """
        await self._on_revoked(revoked)
        await self._tell("on_partitions_revoked", revoked)

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        """Take the partitions on, then tell the user.

        Args:
            assigned: The partitions this consumer got.
        """
        self._on_assigned(assigned)
        await self._tell("on_partitions_assigned", assigned)

    async def closing(self, assigned: set[TopicPartition]) -> None:
        """The consumer closes: its partitions are revoked, as Spring's containers say.

        Args:
            assigned: What the consumer held.
        """
        if assigned:
            await self._tell("on_partitions_revoked", assigned)

    async def _tell(self, hook: str, partitions: set[TopicPartition]) -> None:
        method = getattr(self._user, hook, None)
        if method is None or not partitions:
            return  # aiokafka also reports "nothing revoked" before a first assignment
        try:
            answer = method(set(partitions))
            if inspect.isawaitable(answer):
                await answer
        except Exception:
            # A hook that fails must not stop the rebalance (the group would wait for us).
            log.exception(
                "listener %s: the rebalance listener's %s raised", self._listener_id, hook
            )
