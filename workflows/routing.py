"""Which lane an event runs in, and the workflow ids derived from it (pure functions).

Events about one Skimmer record run one after another in that record's lane (`RecordLane`), each
as a child workflow whose id carries the event id, so a repeated event never runs twice. Money
events run in their **customer's** lane: a payment, its deletion, the credit applied to the same
invoice all change one customer's balance, so they take effect in the order they happened.
Events that do not name the customer (payment.deleted, payment.refunded, credit.refunded) find it
through the owners recorded when earlier events were accepted.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from billing.events import (
    BillingEvent,
    CreditApplied,
    CreditRecorded,
    CreditRefunded,
    CustomerSaved,
    DosageSaved,
    InvoiceSaved,
    PaymentDeleted,
    PaymentRecorded,
    PaymentRefunded,
    PaymentVoided,
    ProductSaved,
    WorkOrderTypeSaved,
)

RecordKey = tuple[str, str]  # (record kind, record id)


@dataclass(frozen=True)
class Route:
    record_kind: (
        str  # the lane's record: customer | product | work_order_type | dosage | payment | credit
    )
    record_id: str
    workflow_type: str  # SyncCustomer | SyncItem | RecordPayment | ...

    @property
    def lane(self) -> str:
        return f"{self.record_kind}/{self.record_id}"


class UnsupportedEvent(ValueError):
    pass


WORKFLOW_OF_EVENT = {
    "customer.saved": "SyncCustomer",
    "product.saved": "SyncItem",
    "work_order_type.saved": "SyncItem",
    "dosage.saved": "SyncItem",
    "invoice.saved": "SyncInvoice",
    "payment.recorded": "RecordPayment",
    "payment.deleted": "DeletePayment",
    "payment.voided": "VoidPayment",
    "payment.refunded": "RefundPayment",
    "credit.recorded": "RecordAccountCredit",
    "credit.applied": "ApplyCredit",
    "credit.refunded": "RefundCredit",
}


def owner_lookups(event: BillingEvent) -> list[RecordKey]:
    """Records whose owning customer decides this event's lane, most telling first."""
    match event:
        case PaymentDeleted() | PaymentVoided():
            return [("payment", event.data.payment_id), ("invoice", event.data.invoice_id)]
        case PaymentRefunded():
            return [("payment", event.data.payment_id)]
        case CreditRefunded():
            return [("credit", event.data.credit_id)]
    return []


def ownership(event: BillingEvent) -> list[tuple[str, str, str]]:
    """(record kind, record id, customer id) facts this event establishes."""
    match event:
        case PaymentRecorded():
            customer = event.data.customer.id
            return [
                ("payment", event.data.payment.id, customer),
                ("invoice", event.data.invoice.id, customer),
            ]
        case InvoiceSaved():
            return [("invoice", event.data.invoice.id, event.data.invoice.customer_id)]
        case CreditRecorded():
            return [("credit", event.data.credit.id, event.data.customer.id)]
        case CreditApplied():
            customer = event.data.customer.id
            return [
                ("credit", event.data.credit_id, customer),
                ("invoice", event.data.invoice.id, customer),
            ]
    return []


def route(event: BillingEvent, owners: Mapping[RecordKey, str] | None = None) -> Route:
    """The lane of `event`; `owners` answers `owner_lookups(event)` (missing keys: unknown)."""
    owners = owners or {}
    workflow = WORKFLOW_OF_EVENT.get(event.type)
    if workflow is None:
        raise UnsupportedEvent(f"{event.type} events are not synced yet")
    match event:
        case CustomerSaved():
            return Route("customer", event.data.customer.id, workflow)
        case ProductSaved():
            return Route("product", event.data.item.id, workflow)
        case WorkOrderTypeSaved():
            return Route("work_order_type", event.data.item.id, workflow)
        case DosageSaved():
            return Route("dosage", event.data.item.id, workflow)
        case InvoiceSaved():
            return Route("customer", event.data.invoice.customer_id, workflow)
        case PaymentRecorded() | CreditRecorded() | CreditApplied():
            return Route("customer", event.data.customer.id, workflow)
    for key in owner_lookups(event):
        if key in owners:
            return Route("customer", owners[key], workflow)
    # Never seen: it runs in the record's own lane and fails there, clearly, as unknown.
    kind, record_id = owner_lookups(event)[0]
    return Route(kind, record_id, workflow)


def lane_workflow_id(company_id: str, route: Route) -> str:
    return f"lane/{company_id}/{route.lane}"


def event_workflow_id(company_id: str, route: Route, event: BillingEvent) -> str:
    return f"{company_id}/{route.lane}/{event.type}/{event.event_id}"
