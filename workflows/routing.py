"""Which record an event is about, and the workflow ids derived from it (pure functions).

Events about one record run one after another in that record's lane (`RecordLane`), each as a
child workflow whose id carries the event id, so a repeated event never runs twice.
"""

from __future__ import annotations

from dataclasses import dataclass

from billing.events import (
    BillingEvent,
    CustomerSaved,
    DosageSaved,
    ProductSaved,
    WorkOrderTypeSaved,
)


@dataclass(frozen=True)
class Route:
    record_kind: str  # customer | product | work_order_type | dosage
    record_id: str
    workflow_type: str  # SyncCustomer | SyncItem | ...

    @property
    def lane(self) -> str:
        return f"{self.record_kind}/{self.record_id}"


class UnsupportedEvent(ValueError):
    pass


def route(event: BillingEvent) -> Route:
    match event:
        case CustomerSaved():
            return Route("customer", event.data.customer.id, "SyncCustomer")
        case ProductSaved():
            return Route("product", event.data.item.id, "SyncItem")
        case WorkOrderTypeSaved():
            return Route("work_order_type", event.data.item.id, "SyncItem")
        case DosageSaved():
            return Route("dosage", event.data.item.id, "SyncItem")
    raise UnsupportedEvent(f"{event.type} events are not synced yet")


def lane_workflow_id(company_id: str, route: Route) -> str:
    return f"lane/{company_id}/{route.lane}"


def event_workflow_id(company_id: str, route: Route, event: BillingEvent) -> str:
    return f"{company_id}/{route.lane}/{event.type}/{event.event_id}"
