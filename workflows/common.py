"""The shape every sync workflow shares: do the work, write one activity-log line, fail clearly."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.activity_log import ActivityLogActivities
    from activities.common import BAD_INPUT
    from activities.models import ActivityLogInput, SyncOutcome
    from workflows.policies import run_store_work
    from workflows.quickbooks import CURRENT_EVENT, EventLog

T = TypeVar("T", bound=SyncOutcome)

SYNC_FAILED = "SyncFailed"


def bad_input(message: str) -> ApplicationError:
    """A permanent failure decided in workflow code (the event itself is wrong)."""
    return ApplicationError(message, type=BAD_INPUT, non_retryable=True)


def failure_message(error: BaseException) -> str:
    """The innermost message: what the activity said, not Temporal's wrapping."""
    while isinstance(error, ActivityError) and error.cause is not None:
        error = error.cause
    return error.message if isinstance(error, ApplicationError) else str(error)


def unexpected_failure(record: str, error: Exception) -> str:
    """A plain message for an error no check foresaw; never the error's text (it may quote
    personal data from the event)."""
    if isinstance(error, ArithmeticError):  # decimal.InvalidOperation, Overflow, ...
        return f"{record}: a number in the event is out of range, so it was not sent to QuickBooks"
    return (
        f"{record}: the sync stopped on an internal error ({type(error).__name__}); "
        "nothing more was sent to QuickBooks for this event"
    )


async def log_activity(entry: ActivityLogInput) -> None:
    await run_store_work(ActivityLogActivities.record_activity, entry)


async def run_logged(
    work: Awaitable[T],
    *,
    company_id: str,
    record_type: str,
    record_id: str,
    action: str,
    event_id: str | None,
    customer_name: str | None = None,
) -> T:
    """Await `work`; log its outcome; on a permanent failure log it and fail the workflow."""
    event = EventLog(company_id, record_type, record_id, action, event_id, customer_name)
    CURRENT_EVENT.set(event)
    base = {"company_id": company_id, **event.closing().model_dump()}
    try:
        outcome = await work
    except (ActivityError, ApplicationError) as err:
        message = failure_message(err)
        await log_activity(ActivityLogInput(**base, outcome="failed", message=message))
        raise ApplicationError(message, type=SYNC_FAILED, non_retryable=True) from err
    except Exception as err:
        # Anything else would fail the workflow *task* and retry it forever, wedging the
        # record's lane: fail this one event instead, clearly.
        message = unexpected_failure(f"{record_type} {record_id}", err)
        workflow.logger.exception("event %s: %s", event_id, message)
        await log_activity(ActivityLogInput(**base, outcome="failed", message=message))
        raise ApplicationError(message, type=SYNC_FAILED, non_retryable=True) from None
    if not outcome.logged:  # its last activity did not write the closing line: write it here
        await log_activity(event.closing().after(company_id, outcome))
    return outcome
