"""`EventDispatcher`: accept a billing event once and hand it to its record's lane in Temporal."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Literal
from urllib.parse import quote

from temporalio.api.failure.v1 import Failure
from temporalio.client import (
    Client,
    WorkflowExecutionDescription,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.converter import DataConverter
from temporalio.exceptions import ApplicationError, TimeoutError
from temporalio.service import RPCError, RPCStatusCode

from billing.events import BillingEvent, parse_event
from starter.api_models import IN_PROGRESS as IN_PROGRESS  # re-exported: callers read it here
from starter.api_models import StatusName
from starter.fairness import FairnessWeights
from store import AcceptedEvent, Store
from store.db import Accepting, Admission
from store.tables import ActivityLogEntry, Connection, utcnow
from telemetry.metrics import EventMetrics
from telemetry.runtime import process_telemetry
from workflows.lane import RecordLane
from workflows.models import LaneEvent, LaneInput
from workflows.quickbooks import RECONNECTED_SIGNAL, Reconnected
from workflows.registry import kind_of
from workflows.routing import Route, event_workflow_id, lane_workflow_id, route
from workflows.search import COMPANY_ID, SYNC_STATE, WAITING_FOR_RECONNECT, attributes

log = logging.getLogger(__name__)

# How long handing an event to Temporal may take before the request answers anyway: the event
# is stored, and the sweeper hands it over once Temporal answers again.
DISPATCH_TIMEOUT = timedelta(seconds=5)
# Undispatched events younger than this are left to the request that accepted them.
SWEEP_GRACE = timedelta(seconds=10)
# How long a lane may take to say which events it holds (no worker: it never answers).
LANE_QUERY_TIMEOUT = timedelta(seconds=5)


class NotFailed(Exception):
    """A retry asked for an event that has not failed (or is being retried already)."""


class NotSyncing(Exception):
    """The company has no active QuickBooks connection or sync is off: nothing is queued."""


@dataclass(frozen=True)
class Accepted:
    event_id: str
    workflow_id: str
    status: Literal["accepted", "duplicate"]


@dataclass(frozen=True)
class EventStatus:
    event_id: str
    workflow_id: str
    status: StatusName
    message: str | None
    temporal_ui_url: str
    waiting_for: str | None = None  # queued: the event its lane runs now
    attempt: int | None = None  # retrying: the attempt due next
    next_retry_at: datetime | None = None  # retrying: when it is due (None while it runs)


FAILED = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.CANCELED,
}


def not_syncing(company_id: str, conn: Connection | None) -> str | None:
    """Why the company's events are refused at the door; None: accepted ("reconnect_required"
    too: its events wait in their lanes for the reconnect)."""
    if conn is None or conn.status == "disconnected":
        return f"company {company_id} has no QuickBooks connection"
    if not conn.sync_enabled:
        return f"sync is switched off for company {company_id}"
    return None


class EventDispatcher:
    def __init__(
        self,
        client: Client,
        store: Store,
        task_queue: str,
        temporal_ui_url: str = "http://localhost:8233",
        fairness: FairnessWeights | None = None,
        metrics: EventMetrics | None = None,
    ) -> None:
        self._metrics = metrics or EventMetrics(process_telemetry().meter)
        self._client = client
        self._fairness = fairness or FairnessWeights()
        self._store = store
        self._task_queue = task_queue
        self._ui = temporal_ui_url.rstrip("/")

    @property
    def client(self) -> Client:
        """The Temporal client events are handed over with (routes start other workflows too)."""
        return self._client

    async def submit(self, event: BillingEvent) -> Accepted:
        """Accept `event` once and hand it to its record's lane. The same event id twice runs once.

        The event is stored first (the outbox), then signalled to its lane: once this returns,
        the event will run, even if this process dies now or Temporal is down (the sweeper,
        `dispatch_pending`, sends it then). Raises `NotSyncing` (nothing queued) and
        `workflows.registry.UnsupportedEvent`.
        """
        kind = kind_of(event.type)

        def to_store(looked: Admission) -> Accepting | None:
            """The event to store, once it is known new and its company syncing."""
            if looked.known is not None or not_syncing(event.company_id, looked.connection):
                return None
            assert looked.connection is not None
            target = route(event, looked.owners)
            row = AcceptedEvent(
                event_id=event.event_id,
                company_id=event.company_id,
                type=event.type,
                record_kind=target.record_kind,
                record_id=target.record_id,
                workflow_id=event_workflow_id(event.company_id, target, event),
                realm_id=looked.connection.realm_id,
                payload=event.model_dump_json(),
            )
            return row, kind.ownership(event)

        # Looked at and stored in one trip to the database.
        looked, accepted = await self._store.admit(
            event.event_id, event.company_id, kind.owner_lookups(event), to_store
        )
        if (known := looked.known) is not None:
            self._metrics.accepted(event.type, "duplicate")
            return Accepted(known.event_id, known.workflow_id, "duplicate")
        if reason := not_syncing(event.company_id, looked.connection):
            self._metrics.accepted(event.type, "not_syncing")
            raise NotSyncing(reason)
        assert accepted is not None
        row, stored = accepted
        if not stored:
            self._metrics.accepted(event.type, "duplicate")
            return Accepted(row.event_id, row.workflow_id, "duplicate")
        self._metrics.accepted(event.type, "accepted")
        log.info(
            "event %s (%s) of company %s accepted for %s",
            row.event_id,
            row.type,
            row.company_id,
            row.workflow_id,
            extra={
                "event_id": row.event_id,
                "event_type": row.type,
                "company_id": row.company_id,
                "realm_id": row.realm_id,
                "workflow_id": row.workflow_id,
            },
        )
        await self._dispatch(row, event)
        return Accepted(row.event_id, row.workflow_id, "accepted")

    async def _dispatch(self, row: AcceptedEvent, event: BillingEvent) -> bool:
        """Signal-with-start the event's lane; False (and it stays in the outbox) if Temporal
        did not take it. A lane given the same event twice runs it once."""
        target = Route(row.record_kind, row.record_id)
        record = f"{target.record_kind}:{target.record_id}"
        lane_event = LaneEvent(
            event_id=row.event_id,
            event_type=row.type,
            workflow_id=row.workflow_id,
            input=kind_of(row.type).child_input(event).model_dump(mode="json"),
            realm_id=row.realm_id,
            touches=kind_of(row.type).touches(event),
            accepted_at=aware(row.accepted_at),
        )
        try:
            await asyncio.wait_for(
                self._client.start_workflow(
                    RecordLane.run,
                    LaneInput(
                        company_id=row.company_id,
                        record_kind=target.record_kind,
                        record_id=target.record_id,
                    ),
                    id=lane_workflow_id(row.company_id, target),
                    task_queue=self._task_queue,
                    start_signal="enqueue",
                    start_signal_args=[lane_event],
                    search_attributes=attributes(row.company_id, record, row.realm_id),
                    # The lane's tasks, its children's and their activities' share the key.
                    priority=self._fairness.priority(row.company_id),
                    static_summary=f"Events for {record} of company {row.company_id}",
                    rpc_timeout=DISPATCH_TIMEOUT,
                ),
                timeout=DISPATCH_TIMEOUT.total_seconds() + 1,
            )
        except Exception as exc:  # Temporal down or slow: the event is safe in the outbox
            log.warning(
                "event %s accepted but not yet handed to Temporal (%s); the sweeper retries",
                row.event_id,
                type(exc).__name__,
            )
            return False
        await self._store.mark_dispatched(row.event_id)
        return True

    async def dispatch_pending(self, grace: timedelta = SWEEP_GRACE) -> int:
        """Hand every accepted event that never reached its lane to it (oldest first).

        Returns how many were handed over. Safe to run in several processes at once.
        """
        sent = 0
        for row in await self._store.undispatched_events(utcnow() - grace):
            if row.payload is None:
                continue
            try:
                event = parse_event(row.payload)
            except ValueError:
                log.exception("stored event %s no longer parses; it is not sent", row.event_id)
                continue
            if not await self._dispatch(row, event):
                break  # Temporal still away: try again on the next sweep
            sent += 1
        if sent:
            log.info("sent %d accepted event(s) that had not reached Temporal", sent)
        return sent

    async def sweep_forever(self, every: timedelta) -> None:
        """The outbox sweeper: at start, then every `every`, until cancelled."""
        while True:
            try:
                await self.dispatch_pending()
            except Exception:  # the store is unreachable for a moment: try again later
                log.exception("outbox sweep failed")
            await asyncio.sleep(every.total_seconds())

    async def count_waiting(self) -> int:
        """How many event workflows wait for their company to reconnect (one per lane at most:
        a lane runs one event at a time)."""
        query = f'{SYNC_STATE.name} = "{WAITING_FOR_RECONNECT}" AND ExecutionStatus = "Running"'
        counted = await self._client.count_workflows(query, rpc_timeout=LANE_QUERY_TIMEOUT)
        return counted.count

    async def wake_waiting(self, company_id: str, same_company: bool) -> int:
        """The company reconnected QuickBooks: every event waiting for that goes on (or, if it
        connected another QBO company, fails clearly). Returns how many were woken."""
        query = (
            f'CompanyId = "{company_id}" AND SyncState = "{WAITING_FOR_RECONNECT}" '
            'AND ExecutionStatus = "Running"'
        )
        woken = 0
        async for found in self._client.list_workflows(query):
            handle = self._client.get_workflow_handle(found.id, run_id=found.run_id)
            try:
                await handle.signal(RECONNECTED_SIGNAL, Reconnected(same_company=same_company))
                woken += 1
            except RPCError as exc:  # it finished meanwhile
                log.info("could not wake %s: %s", found.id, exc.message)
        log.info("company %s reconnected QuickBooks: %d waiting event(s) woken", company_id, woken)
        return woken

    async def retry(self, event_id: str) -> list[Accepted]:
        """Run a failed event again, in its record's lane, followed by every later failed event
        of the same lane in their original order, so QBO ends as Skimmer is: a retried payment
        is deleted again by its retried deletion, never resurrected. Each runs as a new
        workflow (`…/retry-<n>`), with its own QBO requestids.

        Raises `LookupError` (unknown event) and `NotFailed`.
        """
        row = await self._store.get_event(event_id)
        if row is None:
            raise LookupError(f"event {event_id} is unknown")
        if not await self._failed(row):
            raise NotFailed(f"event {event_id} has not failed: nothing to retry")
        lane = await self._store.lane_events(row.company_id, row.record_kind, row.record_id)
        later = [r for r in lane if r.accepted_at > row.accepted_at and await self._failed(r)]
        retried = []
        for failed in [row, *later]:
            base = failed.workflow_id.split("/retry-")[0]
            workflow_id = f"{base}/retry-{failed.attempt + 1}"
            if not await self._store.new_attempt(failed.event_id, failed.attempt, workflow_id):
                continue  # another operator retried it a moment ago
            again = await self._store.get_event(failed.event_id)
            assert again is not None and again.payload is not None
            await self._dispatch(again, parse_event(again.payload))
            retried.append(Accepted(again.event_id, again.workflow_id, "accepted"))
        if not retried:
            raise NotFailed(f"event {event_id} is being retried already")
        return retried

    async def retry_company(self, company_id: str) -> list[str]:
        """Retry every failed event of a company, lane by lane; returns the retried event ids."""
        retried: list[str] = []
        done_lanes: set[tuple[str, str]] = set()
        for row in await self._store.company_events(company_id):
            lane = (row.record_kind, row.record_id)
            if lane in done_lanes or not await self._failed(row):
                continue
            done_lanes.add(lane)  # its earliest failure brings the later ones with it
            retried += [a.event_id for a in await self.retry(row.event_id)]
        return retried

    async def _failed(self, row: AcceptedEvent) -> bool:
        try:
            described = await self._client.get_workflow_handle(row.workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            log = await self._store.activity_for_workflow(row.workflow_id)
            return bool(log) and log[-1].outcome == "failed"  # its lane could not start it
        return described.status in FAILED

    def ui_url(self, workflow_id: str) -> str:
        namespace = quote(self._client.namespace, safe="")
        return f"{self._ui}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"

    def company_ui_url(self, company_id: str) -> str:
        """The Temporal UI's list of every workflow of the company."""
        namespace = quote(self._client.namespace, safe="")
        query = quote(f'{COMPANY_ID.name}="{company_id}"', safe="")
        return f"{self._ui}/namespaces/{namespace}/workflows?query={query}"

    async def status(self, event_id: str) -> EventStatus | None:
        """Where the event stands, as Temporal says: its own workflow once it exists, before
        that its place in its record's lane, before that the outbox. None: never accepted."""
        row = await self._store.get_event(event_id)
        if row is None:
            return None
        # Temporal first, the log second: a workflow writes its closing line before it closes,
        # so a closed workflow's line is always found (read the other way round, a workflow
        # closing in between showed "failed" without its reason).
        described = await self._describe(row.workflow_id)
        entries = await self._store.activity_for_workflow(row.workflow_id)
        logged = entries[-1] if entries else None
        if described is not None:
            return await self._from_its_workflow(row, described, logged)
        if row.dispatched_at is None:
            return EventStatus(
                row.event_id, row.workflow_id, "queued", None, self.company_ui_url(row.company_id)
            )
        return await self._from_its_lane(row, logged)

    async def _describe(self, workflow_id: str) -> WorkflowExecutionDescription | None:
        try:
            return await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            return None  # not started yet: still in its lane or the outbox

    async def _from_its_workflow(
        self,
        row: AcceptedEvent,
        described: WorkflowExecutionDescription,
        logged: ActivityLogEntry | None,
    ) -> EventStatus:
        """The status of an event whose workflow has started: its state, search attributes and
        pending activities."""
        found = partial(
            EventStatus,
            row.event_id,
            row.workflow_id,
            temporal_ui_url=self.ui_url(row.workflow_id),
        )
        message = logged.message if logged else None
        if described.status == WorkflowExecutionStatus.COMPLETED:
            return found(status="completed", message=message)
        if described.status in FAILED:
            return found(status="failed", message=message)
        if described.typed_search_attributes.get(SYNC_STATE) == WAITING_FOR_RECONNECT:
            return found(status="waiting_for_reconnect", message=message)
        retry = await retry_under_way(described, self._client.data_converter)
        if retry is not None:
            return found(
                status="retrying",
                message=retry.message,
                attempt=retry.attempt,
                next_retry_at=retry.next_attempt_at,
            )
        return found(status="running", message=message)

    async def _from_its_lane(
        self, row: AcceptedEvent, logged: ActivityLogEntry | None
    ) -> EventStatus:
        """The status of an event handed to its lane whose workflow has not started: the lane's
        pending list says what it waits behind."""
        lane_id = lane_workflow_id(row.company_id, Route(row.record_kind, row.record_id))
        in_lane = partial(
            EventStatus, row.event_id, row.workflow_id, temporal_ui_url=self.ui_url(lane_id)
        )
        message = logged.message if logged else None
        pending = await self._lane_pending(lane_id)
        if row.event_id in pending:
            # The lane runs its first pending event now: that is what this one waits behind.
            ahead = pending[0] if pending[0] != row.event_id else None
            return in_lane(status="queued", message=message, waiting_for=ahead)
        if logged is not None and logged.outcome == "failed":
            return in_lane(status="failed", message=message)  # the lane could not start it
        return in_lane(status="queued", message=message)

    async def _lane_pending(self, lane_id: str) -> list[str]:
        """The lane's pending event ids, the one it runs now first; [] when it does not answer
        (no worker, or the lane has closed)."""
        try:
            return await self._client.get_workflow_handle(lane_id).query(
                RecordLane.pending_event_ids, rpc_timeout=LANE_QUERY_TIMEOUT
            )
        except (RPCError, WorkflowQueryFailedError) as exc:
            log.info("lane %s did not say what it holds (%s)", lane_id, type(exc).__name__)
            return []


def aware(at: datetime) -> datetime:
    """SQLite gives back the UTC times it stored without their zone."""
    return at if at.tzinfo else at.replace(tzinfo=UTC)


@dataclass(frozen=True)
class Retry:
    attempt: int  # the attempt due next (2 after the first failure)
    next_attempt_at: datetime | None  # None while that attempt runs
    message: str


async def retry_under_way(
    described: WorkflowExecutionDescription, converter: DataConverter
) -> Retry | None:
    """An activity of the workflow that failed and is being tried again, if there is one."""
    for activity in described.raw_description.pending_activities:
        if activity.attempt > 1 and activity.HasField("last_failure"):
            next_at = None
            if activity.HasField("next_attempt_schedule_time"):
                next_at = activity.next_attempt_schedule_time.ToDatetime(tzinfo=UTC)
            message = await plain_error(activity.last_failure, converter)
            return Retry(activity.attempt, next_at, message)
    return None


async def plain_error(failure: Failure, converter: DataConverter) -> str:
    """What the activity said (it phrases errors for people), without Temporal's wrapping;
    decrypted with the client's converter (failure messages are stored encrypted)."""
    copy = Failure()
    copy.CopyFrom(failure)
    error: BaseException | None = await converter.decode_failure(copy)
    while error is not None and not isinstance(error, ApplicationError | TimeoutError):
        error = error.__cause__
    if isinstance(error, TimeoutError):
        return "the last attempt did not finish in time (QuickBooks or the worker did not answer)"
    if isinstance(error, ApplicationError):
        return error.message
    return str(await converter.decode_failure(copy))
