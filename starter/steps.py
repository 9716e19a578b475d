"""The steps of an event's workflow as Temporal recorded them: each activity it scheduled, its
attempts and how it ended (what `GET /events/{id}/steps` and `skimmer-qbo status` show)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from google.protobuf.timestamp_pb2 import Timestamp
from temporalio.api.enums.v1 import EventType
from temporalio.api.history.v1 import HistoryEvent
from temporalio.api.workflow.v1 import PendingActivityInfo
from temporalio.client import Client
from temporalio.converter import DataConverter
from temporalio.service import RPCError, RPCStatusCode

from starter.api_models import StepStatus
from starter.dispatch import plain_error


@dataclass
class EventStep:
    name: str  # the activity, e.g. "sync_paid_invoice"
    status: StepStatus
    attempt: int
    scheduled_at: datetime
    finished_at: datetime | None = None
    message: str | None = None  # failed, timed out or retrying: the last error in words


async def workflow_steps(client: Client, workflow_id: str) -> list[EventStep]:
    """The workflow's activities in the order it scheduled them; [] while it has not started
    (still in its record's lane or the outbox)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise
        return []
    converter = client.data_converter
    pending = {a.activity_id: a for a in described.raw_description.pending_activities}
    steps: dict[int, EventStep] = {}  # by the id of its ActivityTaskScheduled event
    async for event in handle.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED:
            scheduled = event.activity_task_scheduled_event_attributes
            step = EventStep(scheduled.activity_type.name, "running", 1, when(event.event_time))
            if (still := pending.get(scheduled.activity_id)) is not None:
                await follow_pending(step, still, converter)
            steps[event.event_id] = step
        else:
            await end_step(steps, event, converter)
    return list(steps.values())


async def follow_pending(
    step: EventStep, pending: PendingActivityInfo, converter: DataConverter
) -> None:
    """A step Temporal still runs: the attempt it is on, and why the last one failed."""
    step.attempt = pending.attempt
    if pending.attempt > 1 and pending.HasField("last_failure"):
        step.status = "retrying"
        step.message = await plain_error(pending.last_failure, converter)


async def end_step(
    steps: dict[int, EventStep], event: HistoryEvent, converter: DataConverter
) -> None:
    """Apply a started, completed, failed, timed-out or canceled activity event to its step."""
    kind = event.event_type
    if kind == EventType.EVENT_TYPE_ACTIVITY_TASK_STARTED:
        started = event.activity_task_started_event_attributes
        steps[started.scheduled_event_id].attempt = started.attempt
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED:
        finish(steps[event.activity_task_completed_event_attributes.scheduled_event_id], event)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED:
        failed = event.activity_task_failed_event_attributes
        step = finish(steps[failed.scheduled_event_id], event, "failed")
        step.message = await plain_error(failed.failure, converter)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_TIMED_OUT:
        timed_out = event.activity_task_timed_out_event_attributes
        step = finish(steps[timed_out.scheduled_event_id], event, "timed_out")
        step.message = await plain_error(timed_out.failure, converter)
    elif kind == EventType.EVENT_TYPE_ACTIVITY_TASK_CANCELED:
        canceled = event.activity_task_canceled_event_attributes
        finish(steps[canceled.scheduled_event_id], event, "canceled")


def finish(step: EventStep, event: HistoryEvent, status: StepStatus = "completed") -> EventStep:
    step.status = status
    step.finished_at = when(event.event_time)
    step.message = None
    return step


def when(stamp: Timestamp) -> datetime:
    return stamp.ToDatetime(tzinfo=UTC)
