"""A saga: each step that changed QBO registers how to undo it; on failure they run in reverse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from temporalio import workflow


@dataclass
class Saga:
    _undo: list[tuple[str, Callable[[], Awaitable[object]]]] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)
    not_undone: list[str] = field(default_factory=list)

    def on_failure(self, what: str, undo: Callable[[], Awaitable[object]]) -> None:
        """Register `undo` (a coroutine factory) described as `what` ("invoice 17 removed")."""
        self._undo.append((what, undo))

    async def compensate(self) -> None:
        """Run every registered undo, newest first; shielded so cancellation cannot cut it short."""

        async def run_all() -> None:
            for what, undo in reversed(self._undo):
                try:
                    await undo()
                    self.undone.append(what)
                except Exception as exc:  # keep going: undo as much as possible
                    workflow.logger.error("compensation %r failed: %s", what, exc)
                    self.not_undone.append(what)
            self._undo.clear()

        await asyncio.shield(asyncio.ensure_future(run_all()))

    def summary(self) -> str:
        if not self.undone and not self.not_undone:
            return "QuickBooks unchanged"
        text = (
            "QuickBooks put back as before (" + "; ".join(self.undone) + ")" if self.undone else ""
        )
        if self.not_undone:
            text += ("; " if text else "") + "could NOT undo: " + "; ".join(self.not_undone)
        return text
