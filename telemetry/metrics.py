"""The service's own metrics: their names, labels and buckets, and how each is recorded.

Everything is recorded through a Temporal `MetricMeter` (the runtime's outside workflows,
`workflow.metric_meter()` inside them, which records nothing while a history replays), so one
buffer and one `/metrics` page hold the SDK's metrics and ours. Labels stay few: event type,
outcome, QBO realm, read or write; never a company's customers or records.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from temporalio.common import MetricMeter

EVENTS_ACCEPTED = "qbo_sync_events_accepted"  # exposed with _total
EVENTS_FINISHED = "qbo_sync_events_finished"
EVENT_DURATION = "qbo_sync_event_duration_seconds"
QBO_REQUESTS = "qbo_sync_quickbooks_requests"
QBO_RATE_LIMITED = "qbo_sync_quickbooks_rate_limited"
QBO_REQUEST_DURATION = "qbo_sync_quickbooks_request_duration_seconds"
LANES_WAITING = "qbo_sync_lanes_waiting_for_reconnect"

# An event may wait hours for a reconnect: the top buckets are that long.
EVENT_DURATION_BUCKETS = (
    0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0, 21600.0, 86400.0,
)  # fmt: skip
BUCKETS = {EVENT_DURATION: EVENT_DURATION_BUCKETS}

AcceptOutcome = Literal["accepted", "duplicate", "not_syncing"]
# completed/failed: its workflow closed so; skipped: it had run already; not_run: it could not
# start (an event type this worker does not know, or Temporal refused the child).
FinishOutcome = Literal["completed", "failed", "skipped", "not_run"]
Access = Literal["read", "write"]


class EventMetrics:
    """Events at the door (the API) and at their end (the record's lane, in the worker)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._accepted = meter.create_counter(
            EVENTS_ACCEPTED, "Billing events answered at POST /events, by type and outcome"
        )
        self._finished = meter.create_counter(
            EVENTS_FINISHED, "Billing events whose workflow ended, by type and outcome"
        )
        self._duration = meter.create_histogram_float(
            EVENT_DURATION,
            "From the event accepted (202) to its workflow closed, by type and outcome",
            "s",
        )

    def accepted(self, event_type: str, outcome: AcceptOutcome) -> None:
        self._accepted.add(1, {"event_type": event_type, "outcome": outcome})

    def finished(
        self,
        event_type: str,
        outcome: FinishOutcome,
        accepted_at: datetime | None,
        now: datetime,
    ) -> None:
        labels = {"event_type": event_type, "outcome": outcome}
        self._finished.add(1, labels)
        if accepted_at is not None and outcome in ("completed", "failed"):
            self._duration.record(max((now - accepted_at).total_seconds(), 0.0), labels)


def status_class(status: int | None) -> str:
    """ "2xx" … "5xx"; "none" when QuickBooks never answered (a timeout, a refused connection)."""
    return f"{status // 100}xx" if status is not None else "none"


class QuickBooksRequestMetrics:
    """Every QBO request, as `qbo.QBOClient` reports it (a `qbo.client.RequestObserver`)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._requests = meter.create_counter(
            QBO_REQUESTS, "QuickBooks API requests, by realm, read or write, and status class"
        )
        self._rate_limited = meter.create_counter(
            QBO_RATE_LIMITED, "QuickBooks answers 429 (too many requests), by realm"
        )
        self._duration = meter.create_histogram_float(
            QBO_REQUEST_DURATION, "How long QuickBooks took to answer, by read or write", "s"
        )

    def request_done(
        self, realm_id: str, access: Access, status: int | None, seconds: float
    ) -> None:
        self._requests.add(
            1, {"realm_id": realm_id, "access": access, "status_class": status_class(status)}
        )
        if status == 429:
            self._rate_limited.add(1, {"realm_id": realm_id})
        self._duration.record(seconds, {"access": access})


class WaitingLanes:
    """How many lanes wait for a company to reconnect QuickBooks (set from Temporal's count)."""

    def __init__(self, meter: MetricMeter) -> None:
        self._gauge = meter.create_gauge(
            LANES_WAITING,
            "Event workflows (one per lane at most) waiting for their company to reconnect "
            "QuickBooks, as Temporal's visibility counts them",
        )

    def set(self, count: int) -> None:
        self._gauge.set(count)
