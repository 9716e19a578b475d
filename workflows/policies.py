"""Every timeout and retry policy in one place, as typed values, and the one way to run an
activity with them."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.common import NON_RETRYABLE

P = TypeVar("P")
R = TypeVar("R")


@dataclass(frozen=True)
class ActivityOptions:
    """How long one activity may take, per attempt and in all, and how it is retried."""

    start_to_close: timedelta
    schedule_to_close: timedelta
    retry: RetryPolicy
    # Activities heartbeat while they run (activities/heartbeat.py): a dead worker is noticed
    # within this and another one retries the call.
    heartbeat: timedelta | None = None


# A QBO call: QBO times out requests after 120 s; keep trying for a day (429s, outages),
# then fail clearly. Permanent faults are raised as non-retryable by the activity itself.
QBO_CALL = ActivityOptions(
    start_to_close=timedelta(minutes=3),
    schedule_to_close=timedelta(hours=24),
    heartbeat=timedelta(seconds=10),
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=NON_RETRYABLE,
    ),
)

# Store work as a regular activity: how runs started before LOCAL_STORE_WORK still do it.
STORE_WRITE = ActivityOptions(
    start_to_close=timedelta(seconds=40),
    schedule_to_close=timedelta(hours=1),
    heartbeat=timedelta(seconds=5),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=30),
    ),
)

# Patch (docs/DEPLOYS.md): store reads and writes run as local activities.
LOCAL_STORE_WORK = "store-work-as-local-activities"


@dataclass(frozen=True)
class LocalActivityOptions:
    """A local activity: run by the workflow's own worker inside its workflow task (no task
    queue, no extra workflow task; only a marker in the history), for short store work."""

    start_to_close: timedelta
    schedule_to_close: timedelta
    retry: RetryPolicy


# A read or write of the service's own database (SQLite may wait up to 30 s for its lock). Local:
# a log line or a look-up costs no round trip through the server; if the worker dies, the
# workflow task is retried elsewhere and runs it again (log lines are written once by their key).
STORE_WORK = LocalActivityOptions(
    start_to_close=timedelta(seconds=40),
    schedule_to_close=timedelta(hours=1),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=30),
    ),
)

# A look-up in the store that needs the company connected (a "reconnect" answer waits for it).
STORE_LOOKUP = LocalActivityOptions(
    start_to_close=STORE_WORK.start_to_close,
    schedule_to_close=STORE_WORK.schedule_to_close,
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=30),
        non_retryable_error_types=NON_RETRYABLE,
    ),
)


async def run_activity(
    activity: Callable[[Any, P], Awaitable[R]], arg: P, options: ActivityOptions
) -> R:
    """Run an activity method (e.g. `PaymentActivities.apply_payment`) with `options`."""
    return await workflow.execute_activity_method(
        activity,
        arg,
        start_to_close_timeout=options.start_to_close,
        schedule_to_close_timeout=options.schedule_to_close,
        heartbeat_timeout=options.heartbeat,
        retry_policy=options.retry,
    )


async def run_local(
    activity: Callable[[Any, P], Awaitable[R]], arg: P, options: LocalActivityOptions
) -> R:
    """Run an activity method as a local activity with `options`."""
    return await workflow.execute_local_activity_method(
        activity,
        arg,
        start_to_close_timeout=options.start_to_close,
        schedule_to_close_timeout=options.schedule_to_close,
        retry_policy=options.retry,
    )


async def run_store_work(activity: Callable[[Any, P], Awaitable[R]], arg: P) -> R:
    """Store work (a log line, a look-up): local since LOCAL_STORE_WORK, before it a regular
    activity (runs started by the previous release replay that way)."""
    if workflow.patched(LOCAL_STORE_WORK):
        return await run_local(activity, arg, STORE_WORK)
    return await run_activity(activity, arg, STORE_WRITE)
