"""Calling QBO activities from workflows: Temporal retries what can be retried, and while the
company must reconnect QuickBooks the workflow waits, durably, instead of failing.

The wait is a signal (`quickbooks_reconnected`, sent by the API when the company reconnects) with
a look at the connection on entry and every 15 minutes, in case that signal was missed. While waiting the workflow's
`SyncState` search attribute says so (operators filter on it; the API finds whom to wake by it),
and the activity log says it once per event.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Protocol, TypeVar

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from activities.activity_log import ActivityLogActivities
    from activities.common import RECONNECT_REQUIRED
    from activities.models import ActivityLogInput, ClosingLine, ConnectionQuery
    from workflows.policies import (
        QBO_CALL,
        ActivityOptions,
        LocalActivityOptions,
        run_activity,
        run_local,
        run_store_work,
    )
    from workflows.search import SYNC_STATE, WAITING_FOR_RECONNECT

RECONNECTED_SIGNAL = "quickbooks_reconnected"
RUNNING = "running"
# If the reconnect signal was missed (visibility lag), the connection is looked at this often.
RECHECK_EVERY = timedelta(minutes=15)
REPLACED = "QuickBooksReplaced"
# Patch (docs/DEPLOYS.md): a wait looks at the connection before it writes its waiting line.
CONNECTION_LOOKED_AT_FIRST = "connection-looked-at-before-the-waiting-line"


class Reconnected(BaseModel):
    """The company connected QuickBooks again; `same_company` False: another QBO company."""

    same_company: bool = True


class CompanyScoped(Protocol):
    @property
    def company_id(self) -> str: ...


@dataclass(frozen=True)
class EventLog:
    """Whose activity-log lines a workflow writes (set by `run_logged` for the whole run)."""

    company_id: str
    record_type: str
    record_id: str
    action: str
    event_id: str | None
    customer_name: str | None = None

    def closing(self) -> ClosingLine:
        """The event's closing line, for an activity that ends the event to write."""
        return ClosingLine(
            record_type=self.record_type,
            record_id=self.record_id,
            action=self.action,
            event_id=self.event_id,
            customer_name=self.customer_name,
        )


CURRENT_EVENT: ContextVar[EventLog | None] = ContextVar("current_event", default=None)

P = TypeVar("P", bound=CompanyScoped)
R = TypeVar("R")


def must_reconnect(error: BaseException) -> bool:
    cause = error.cause if isinstance(error, ActivityError) else None
    return isinstance(cause, ApplicationError) and cause.type == RECONNECT_REQUIRED


async def call_quickbooks(
    activity: Callable[[Any, P], Awaitable[R]],
    arg: P,
    options: ActivityOptions | LocalActivityOptions = QBO_CALL,
) -> R:
    """Run a QBO activity; if QuickBooks refuses the company's login, wait for the reconnect
    and run it again (a new attempt: nothing was written with the refused login).

    With local options (`STORE_LOOKUP`) it runs as a local activity: a look-up in the store that
    still needs the company connected."""
    while True:
        try:
            if isinstance(options, LocalActivityOptions):
                return await run_local(activity, arg, options)
            return await run_activity(activity, arg, options)
        except ActivityError as err:
            if not must_reconnect(err):
                raise
            await wait_for_reconnect(arg.company_id, reason=str(err.cause))


class _Wait:
    """One wait for the reconnect, shared by every activity of the run that needs it (the
    customer and the items are ensured at once: one waiting line, one signal wakes them all)."""

    def __init__(self) -> None:
        self.woken: Reconnected | None = None
        self.over = False

    def wake(self, signal: Reconnected) -> None:
        self.woken = signal


# The run's wait in progress is kept on its workflow object, not in this module: the worker
# shares this module between runs (worker.py), and an evicted run's object goes with it.
_WAIT_ATTRIBUTE = "_quickbooks_reconnect_wait"


async def wait_for_reconnect(company_id: str, reason: str) -> None:
    run = workflow.instance()
    wait: _Wait | None = getattr(run, _WAIT_ATTRIBUTE, None)
    if wait is not None:
        joined = wait
        await workflow.wait_condition(lambda: joined.over)
    else:
        wait = _Wait()
        setattr(run, _WAIT_ATTRIBUTE, wait)
        try:
            await _wait_for_reconnect(wait, company_id, reason)
        finally:
            wait.over = True
            delattr(run, _WAIT_ATTRIBUTE)
    if wait.woken is not None and not wait.woken.same_company:
        raise ApplicationError(
            f"company {company_id} connected a different QuickBooks company while this event "
            "waited; it was not sent there (retry it to send it to the new company)",
            type=REPLACED,
            non_retryable=True,
        )


async def _wait_for_reconnect(wait: _Wait, company_id: str, reason: str) -> None:
    workflow.set_signal_handler(RECONNECTED_SIGNAL, wait.wake)
    workflow.upsert_search_attributes([SYNC_STATE.value_set(WAITING_FOR_RECONNECT)])
    # Looked at after SyncState says "waiting": a reconnect from now on finds this workflow.
    if workflow.patched(CONNECTION_LOOKED_AT_FIRST):
        # And before the waiting line: a refusal heard only after the company reconnected (its
        # attempt began with the old login, and reported after the reconnect's signal) runs
        # again at once, without a second line for the event.
        if not await _connected(company_id):
            await _log_waiting(company_id, reason)
            while wait.woken is None:
                await _woken_or_timed_out(wait)
                if wait.woken is None and await _connected(company_id):
                    break
    else:  # runs from before the patch: the line first, then the look
        await _log_waiting(company_id, reason)
        while wait.woken is None and not await _connected(company_id):
            await _woken_or_timed_out(wait)
    workflow.upsert_search_attributes([SYNC_STATE.value_set(RUNNING)])


async def _woken_or_timed_out(wait: _Wait) -> None:
    with contextlib.suppress(TimeoutError):
        await workflow.wait_condition(lambda: wait.woken is not None, timeout=RECHECK_EVERY)


async def _connected(company_id: str) -> bool:
    state = await run_store_work(
        ActivityLogActivities.connection_state, ConnectionQuery(company_id=company_id)
    )
    return state == "connected"


async def _log_waiting(company_id: str, reason: str) -> None:
    """The event's waiting line in the activity log, and the reason in the worker's log."""
    workflow.logger.info("waiting for QuickBooks to be reconnected: %s", reason)
    event = CURRENT_EVENT.get()
    await run_store_work(
        ActivityLogActivities.record_activity,
        ActivityLogInput(
            company_id=company_id,
            record_type=event.record_type if event else "company",
            record_id=event.record_id if event else company_id,
            action=event.action if event else "sync",
            outcome="waiting",
            message="Waiting for QuickBooks to be reconnected: QuickBooks refused the saved "
            "login. Reconnect QuickBooks in Integrations; this runs then, in order.",
            event_id=event.event_id if event else None,
        ),
    )
