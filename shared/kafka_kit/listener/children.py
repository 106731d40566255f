"""What a listener run by several children (consumers, or share-group members) does with all
of them at once: aggregate state, start, stop, pause, resume, the first problem."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Protocol

from kafka_kit.listener.supervision import ContainerState

__all__ = ["Child", "Children"]


class Child(Protocol):
    """One consumer or member of a listener."""

    state: ContainerState

    @property
    def running(self) -> bool:
        """Whether its loop exists."""
        ...

    @property
    def problem(self) -> str | None:
        """Why it is not well, or ``None``."""
        ...

    async def start(self) -> None:
        """Start it."""

    async def stop(self, timeout_s: float | None = None) -> None:
        """Stop it.

        Args:
            timeout_s: How long its handler may take to finish.
        """

    def pause(self) -> None:
        """Stop fetching."""

    def resume(self) -> None:
        """Fetch again."""


class Children:
    """The operations of a listener over its children (``_children()``)."""

    def _children(self) -> Sequence[Child]:
        raise NotImplementedError

    @property
    def state(self) -> ContainerState:
        """FAILED if any child failed; otherwise the state all children share, else STARTING."""
        states = {child.state for child in self._children()}
        if ContainerState.FAILED in states:
            return ContainerState.FAILED
        if len(states) == 1:
            return states.pop()
        if ContainerState.STOPPING in states:
            return ContainerState.STOPPING
        return ContainerState.STARTING

    @property
    def running(self) -> bool:
        """Whether any child's loop exists."""
        return any(child.running for child in self._children())

    async def start(self) -> None:
        """Start every child; if one cannot connect, stop the others and raise."""
        try:
            await asyncio.gather(*(child.start() for child in self._children()))
        except BaseException:
            await self.stop()
            raise

    async def stop(self, timeout_s: float | None = None) -> None:
        """Stop every child (each finishes its record or batch).

        Args:
            timeout_s: How long a handler may take to finish (the shut-down timeout when omitted).
        """
        await asyncio.gather(*(child.stop(timeout_s) for child in self._children()))

    def pause(self) -> None:
        """Pause every child (they stay in their group)."""
        for child in self._children():
            child.pause()

    def resume(self) -> None:
        """Resume every child."""
        for child in self._children():
            child.resume()

    @property
    def problem(self) -> str | None:
        """The first child's problem (crashed, or fetches unanswered), or ``None``."""
        return next((p for child in self._children() if (p := child.problem) is not None), None)
