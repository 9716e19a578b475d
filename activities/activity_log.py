"""record_activity: one line in the company's activity log, written once however often retried."""

from __future__ import annotations

import logging
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from activities.common import NON_RETRYABLE
from activities.models import ActivityLogInput, ConnectionQuery, SyncOutcome
from store import ActivityLogEntry, Store

log = logging.getLogger(__name__)


class ActivityLogActivities:
    def __init__(self, store: Store) -> None:
        self._store = store

    @activity.defn(name="record_activity")
    async def record_activity(self, input: ActivityLogInput) -> None:
        info = activity.info()
        await append_line(self._store, input, key=f"{info.workflow_run_id}/{info.activity_id}")

    @activity.defn(name="connection_state")
    async def connection_state(self, input: ConnectionQuery) -> str:
        """connected | reconnect_required | disconnected | missing (a waiting workflow's check)."""
        conn = await self._store.get_connection(input.company_id)
        return "missing" if conn is None else conn.status


def log_entry(input: ActivityLogInput, key: str) -> ActivityLogEntry:
    """A line of the running activity's workflow (or of `input.workflow_id`)."""
    return ActivityLogEntry(
        entry_key=key,
        workflow_id=input.workflow_id or activity.info().workflow_id or "",
        **input.model_dump(exclude={"workflow_id"}),
    )


def closes(input: ActivityLogInput) -> bool:
    return input.outcome in ("success", "failed", "skipped")


async def append_line(store: Store, input: ActivityLogInput, key: str) -> None:
    """One line, once: a line with the same `key` again changes nothing."""
    entry = log_entry(input, key)
    if closes(input):
        # Success after an operator's retry resolves the event's earlier failed lines.
        await store.append_closing_activity(entry, resolves=input.outcome == "success")
    else:
        await store.append_activity(entry)


async def close_event(store: Store, line: ActivityLogInput, outcome: SyncOutcome) -> SyncOutcome:
    """The event's closing line, written by the activity that finished the event (its workflow
    writes none), with the step's next store write (the link it saves); once per run, however
    often the activity is retried."""
    assert closes(line)
    entry = log_entry(line, key=f"{activity.info().workflow_run_id}/closing")
    await store.close_with_next_write(entry, resolves=line.outcome == "success")
    return outcome.model_copy(update={"logged": True})


async def note_retrying(store: Store, error: BaseException) -> None:
    """After a failed attempt that Temporal will retry: the event's one "retrying" line says
    what went wrong, in the activity's own words, and which attempt comes next."""
    info = activity.info()
    # Event workflow ids read {company}/{record kind}/{record id}/{event type}/{event id}[/retry-n].
    parts = (info.workflow_id or "").split("/")
    if len(parts) < 5:
        return
    company_id, record_kind, record_id, event_type, event_id = parts[:5]
    message = (
        str(error.message if isinstance(error, ApplicationError) else error) or type(error).__name__
    )
    await store.note_retrying(
        ActivityLogEntry(
            entry_key=f"{info.workflow_id}/retrying",
            workflow_id=info.workflow_id or "",
            company_id=company_id,
            record_type=record_kind,
            record_id=record_id,
            action=event_type,
            outcome="retrying",
            message=f"{message} (attempt {info.attempt} failed; trying again)",
            event_id=event_id,
        )
    )


class _NotingRetries(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, store: Store) -> None:
        super().__init__(next)
        self._store = store

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        try:
            return await super().execute_activity(input)
        except Exception as exc:
            permanent = isinstance(exc, ApplicationError) and (
                exc.non_retryable or exc.type in NON_RETRYABLE
            )
            if not permanent and activity.info().activity_type != "record_activity":
                try:
                    await note_retrying(self._store, exc)
                except Exception:  # the log is a courtesy: never turn it into the failure
                    log.exception("could not note a retry in the activity log")
            raise


class RetryingLineInterceptor(Interceptor):
    """Keeps each event's one "retrying" line in the activity log while Temporal retries."""

    def __init__(self, store: Store) -> None:
        self._store = store

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _NotingRetries(next, self._store)
