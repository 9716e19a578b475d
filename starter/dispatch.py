"""`EventDispatcher`: accept a billing event once and hand it to its record's lane in Temporal."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from billing.events import BillingEvent
from store import AcceptedEvent, Store
from workflows.lane import RecordLane
from workflows.models import LaneEvent, LaneInput
from workflows.routing import (
    WORKFLOW_OF_EVENT,
    UnsupportedEvent,
    event_workflow_id,
    lane_workflow_id,
    owner_lookups,
    ownership,
    route,
)
from workflows.search import attributes


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
    status: Literal["running", "completed", "failed"]
    message: str | None
    temporal_ui_url: str


FAILED = {
    WorkflowExecutionStatus.FAILED,
    WorkflowExecutionStatus.TERMINATED,
    WorkflowExecutionStatus.TIMED_OUT,
    WorkflowExecutionStatus.CANCELED,
}


class EventDispatcher:
    def __init__(
        self,
        client: Client,
        store: Store,
        task_queue: str,
        temporal_ui_url: str = "http://localhost:8233",
    ) -> None:
        self._client = client
        self._store = store
        self._task_queue = task_queue
        self._ui = temporal_ui_url.rstrip("/")

    async def submit(self, event: BillingEvent) -> Accepted:
        """Start (or feed) the workflow for `event`. The same event id twice runs once.

        Raises `NotSyncing` (nothing queued) and `workflows.routing.UnsupportedEvent`.
        """
        if event.type not in WORKFLOW_OF_EVENT:
            raise UnsupportedEvent(f"{event.type} events are not synced yet")
        known = await self._store.get_event(event.event_id)
        if known is not None:
            return Accepted(known.event_id, known.workflow_id, "duplicate")
        conn = await self._store.get_connection(event.company_id)
        if conn is None or conn.status == "disconnected":
            raise NotSyncing(f"company {event.company_id} has no QuickBooks connection")
        if conn.status != "connected":
            raise NotSyncing(f"company {event.company_id} must reconnect QuickBooks")
        if not conn.sync_enabled:
            raise NotSyncing(f"sync is switched off for company {event.company_id}")

        owners = await self._store.owners(event.company_id, owner_lookups(event))
        target = route(event, owners)
        workflow_id = event_workflow_id(event.company_id, target, event)
        row, stored = await self._store.accept_event(
            AcceptedEvent(
                event_id=event.event_id,
                company_id=event.company_id,
                type=event.type,
                record_kind=target.record_kind,
                record_id=target.record_id,
                workflow_id=workflow_id,
            ),
            ownership(event),
        )
        if not stored:
            return Accepted(row.event_id, row.workflow_id, "duplicate")
        record = f"{target.record_kind}:{target.record_id}"
        try:
            await self._client.start_workflow(
                RecordLane.run,
                LaneInput(
                    company_id=event.company_id,
                    record_kind=target.record_kind,
                    record_id=target.record_id,
                ),
                id=lane_workflow_id(event.company_id, target),
                task_queue=self._task_queue,
                start_signal="enqueue",
                start_signal_args=[
                    LaneEvent(event=event, workflow_id=workflow_id, realm_id=conn.realm_id)
                ],
                search_attributes=attributes(event.company_id, record, conn.realm_id),
                static_summary=f"Events for {record} of company {event.company_id}",
            )
        except BaseException:
            await self._store.forget_event(event.event_id)  # the sender may retry
            raise
        return Accepted(event.event_id, workflow_id, "accepted")

    def ui_url(self, workflow_id: str) -> str:
        namespace = quote(self._client.namespace, safe="")
        return f"{self._ui}/namespaces/{namespace}/workflows/{quote(workflow_id, safe='')}"

    async def status(self, event_id: str) -> EventStatus | None:
        row = await self._store.get_event(event_id)
        if row is None:
            return None
        state: Literal["running", "completed", "failed"] = "running"
        try:
            described = await self._client.get_workflow_handle(row.workflow_id).describe()
        except RPCError as exc:
            if exc.status != RPCStatusCode.NOT_FOUND:
                raise
            described = None  # still waiting in its record's lane
        if described is not None:
            if described.status == WorkflowExecutionStatus.COMPLETED:
                state = "completed"
            elif described.status in FAILED:
                state = "failed"
        log = await self._store.activity_for_workflow(row.workflow_id)
        return EventStatus(
            event_id=row.event_id,
            workflow_id=row.workflow_id,
            status=state,
            message=log[-1].message if log else None,
            temporal_ui_url=self.ui_url(row.workflow_id),
        )
