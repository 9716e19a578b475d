"""A saga: each step that changed QBO registers how to undo it; on failure they run in reverse."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from types import TracebackType

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.common import failure_message


@dataclass
class Saga:
    """`async with Saga() as saga:` — on a failure inside, everything registered is undone and the
    failure is raised again, permanent, saying what was undone; a cancellation is undone too."""

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

    async def __aenter__(self) -> Saga:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        _tb: TracebackType | None,
    ) -> None:
        if error is None:
            return
        await self.compensate()
        if isinstance(error, ActivityError | ApplicationError):
            raise ApplicationError(
                f"{failure_message(error)}; {self.summary()}", type="SyncFailed", non_retryable=True
            ) from error

    def summary(self) -> str:
        if not self.undone and not self.not_undone:
            return "QuickBooks unchanged"
        text = (
            "QuickBooks put back as before (" + "; ".join(self.undone) + ")" if self.undone else ""
        )
        if self.not_undone:
            text += ("; " if text else "") + "could NOT undo: " + "; ".join(self.not_undone)
        return text
