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

# A write to the service's own database (SQLite may wait up to 30 s for its lock; a dead
# worker is noticed by the missing heartbeat within seconds).
STORE_WRITE = ActivityOptions(
    start_to_close=timedelta(seconds=40),
    schedule_to_close=timedelta(hours=1),
    heartbeat=timedelta(seconds=5),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=30),
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
