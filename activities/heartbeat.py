"""Every activity with a heartbeat timeout heartbeats while it runs, so a worker that dies
mid-call is noticed in seconds (not at the end of the start-to-close timeout) and another worker
retries the call, with the same QBO requestid."""

from __future__ import annotations

import asyncio
from contextvars import ContextVar
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

# What the running activity has done so far (see `report_progress`): every heartbeat sends it.
_PROGRESS: ContextVar[list[Any] | None] = ContextVar("activity_progress", default=None)


def report_progress(*details: Any) -> None:
    """Say what the activity has done so far: sent with this and every later heartbeat, so if
    the activity times out the workflow still learns it (`TimeoutError.last_heartbeat_details`)."""
    progress = _PROGRESS.get()
    if progress is not None:
        progress[:] = details
    activity.heartbeat(*details)


class _Heartbeating(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        timeout = activity.info().heartbeat_timeout
        if not timeout:
            return await super().execute_activity(input)
        interval = timeout.total_seconds() / 3
        progress: list[Any] = []
        _PROGRESS.set(progress)

        async def beat() -> None:
            # The first beat after one interval: a call that ends sooner (most QBO calls)
            # costs the server no heartbeat at all.
            while True:
                await asyncio.sleep(interval)
                activity.heartbeat(*progress)

        beating = asyncio.create_task(beat())
        try:
            return await super().execute_activity(input)
        finally:
            beating.cancel()


class HeartbeatInterceptor(Interceptor):
    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Heartbeating(next)
