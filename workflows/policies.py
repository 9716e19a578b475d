"""Every timeout and retry policy in one place."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy

with workflow.unsafe.imports_passed_through():
    from activities.common import NON_RETRYABLE

# A QBO call: QBO times out requests after 120 s; keep trying for a day (429s, outages),
# then fail clearly. Permanent faults are raised as non-retryable by the activity itself.
QBO_CALL: dict[str, Any] = {
    "start_to_close_timeout": timedelta(minutes=3),
    # Activities heartbeat while they run (activities/heartbeat.py): a dead worker is noticed
    # in seconds and another one retries the call with the same requestid.
    "heartbeat_timeout": timedelta(seconds=10),
    "schedule_to_close_timeout": timedelta(hours=24),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(seconds=1),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(minutes=5),
        non_retryable_error_types=NON_RETRYABLE,
    ),
}

# A write to the service's own database.
STORE_WRITE: dict[str, Any] = {
    "start_to_close_timeout": timedelta(seconds=30),
    "schedule_to_close_timeout": timedelta(hours=1),
    "retry_policy": RetryPolicy(
        initial_interval=timedelta(milliseconds=500),
        maximum_interval=timedelta(seconds=30),
    ),
}
