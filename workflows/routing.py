"""Which lane an event runs in, and the workflow ids derived from it (pure functions).

Events about one Skimmer record run one after another in that record's lane (`RecordLane`), each
as a child workflow whose id carries the event id, so a repeated event never runs twice. The lane
rule of each event type lives in `workflows.registry`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from billing.events import BillingEvent
from workflows.registry import RecordKey, UnsupportedEvent, kind_of

__all__ = [
    "RecordKey",
    "Route",
    "UnsupportedEvent",
    "event_workflow_id",
    "lane_workflow_id",
    "route",
]


@dataclass(frozen=True)
class Route:
    # The lane's record: customer | product | work_order_type | dosage | payment | credit
    record_kind: str
    record_id: str

    @property
    def lane(self) -> str:
        return f"{self.record_kind}/{self.record_id}"


def route(event: BillingEvent, owners: Mapping[RecordKey, str] | None = None) -> Route:
    """The lane of `event`; `owners` answers its kind's `owner_lookups` (missing keys: unknown)."""
    kind = kind_of(event.type)
    own = kind.lane(event)
    if own is not None:
        return Route(*own)
    owners = owners or {}
    lookups = kind.owner_lookups(event)
    for key in lookups:
        if key in owners:
            return Route("customer", owners[key])
    # Never seen: it runs in the record's own lane and fails there, clearly, as unknown.
    return Route(*lookups[0])


def lane_workflow_id(company_id: str, route: Route) -> str:
    return f"lane/{company_id}/{route.lane}"


def event_workflow_id(company_id: str, route: Route, event: BillingEvent) -> str:
    return f"{company_id}/{route.lane}/{event.type}/{event.event_id}"
