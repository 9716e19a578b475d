"""The API's answers as the routes send them and the command line reads them: pydantic only, so
`skimmer-qbo status` starts without loading Temporal or the store."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, field_validator

StatusName = Literal[
    "queued", "running", "retrying", "waiting_for_reconnect", "completed", "failed"
]
# The states of an event that has not finished yet.
IN_PROGRESS: frozenset[StatusName] = frozenset(
    {"queued", "running", "retrying", "waiting_for_reconnect"}
)

StepStatus = Literal["running", "retrying", "completed", "failed", "timed_out", "canceled"]

# How long a QuickBooks connect URL's `state` is accepted by the OAuth callback.
STATE_MAX_AGE_SECONDS = 600


class EventAccepted(BaseModel):
    event_id: str
    workflow_id: str
    status: Literal["accepted", "duplicate"]


class EventState(BaseModel):
    event_id: str
    workflow_id: str
    status: StatusName
    message: str | None = None
    temporal_ui_url: str
    waiting_for: str | None = None  # queued: the event its record's lane runs now
    attempt: int | None = None  # retrying: the attempt due next
    next_retry_at: datetime | None = None  # retrying: when (None while that attempt runs)


class EventStepOut(BaseModel):
    name: str
    status: StepStatus
    attempt: int
    scheduled_at: datetime
    finished_at: datetime | None = None
    message: str | None = None


class ActivityOut(BaseModel):
    at: datetime
    record_type: str
    record_id: str
    action: str
    outcome: str
    message: str
    qbo_type: str | None = None
    qbo_id: str | None = None
    workflow_id: str
    event_id: str | None = None
    resolved: bool = False
    customer_name: str | None = None

    @field_validator("at")
    @classmethod
    def _in_utc(cls, at: datetime) -> datetime:
        # SQLite hands back UTC times without their zone (store.tables.aware, without the store)
        return at if at.tzinfo else at.replace(tzinfo=UTC)
