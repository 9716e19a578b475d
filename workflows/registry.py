"""The one table of billing events: type → workflow, its input, and the lane it runs in.

The starter routes with it, the lane starts children from it, the worker registers its workflows:
an event type known to one of them is known to all. Money events run in their **customer's**
lane (a payment, its deletion and a credit applied to the same invoice all change one balance,
so they take effect in the order they happened). Events that name only a payment or credit find
the customer through the owners recorded when earlier events were accepted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from billing.events import (
        ITEM_TYPE_OF_EVENT,
        CreditApplied,
        CreditRecorded,
        CreditRefunded,
        CustomerSaved,
        DosageSaved,
        Event,
        InvoiceDeleted,
        InvoiceSaved,
        InvoiceVoided,
        PaymentDeleted,
        PaymentRecorded,
        PaymentRefunded,
        PaymentVoided,
        PayoutPaid,
        ProductSaved,
        WorkOrderTypeSaved,
    )
    from workflows.credits import ApplyCredit, RecordAccountCredit, RefundCredit
    from workflows.invoices import DeleteInvoice, SyncInvoice, VoidInvoice
    from workflows.models import (
        ApplyCreditInput,
        InvoiceChangeInput,
        PaymentChangeInput,
        RecordAccountCreditInput,
        RecordPaymentInput,
        RecordPayoutInput,
        RefundCreditInput,
        RefundPaymentInput,
        SyncCustomerInput,
        SyncInvoiceInput,
        SyncItemInput,
    )
    from workflows.payments import DeletePayment, RecordPayment, RefundPayment, VoidPayment
    from workflows.payouts import RecordPayout
    from workflows.records import SyncCustomer, SyncItem

E = TypeVar("E", bound=Event)
RecordKey = tuple[str, str]  # (record kind, record id)
OwnerFact = tuple[str, str, str]  # (record kind, record id, customer id)


# A payout's payments named in its search attributes (Temporal caps their total size).
PAYOUT_TOUCHES_KEPT = 100


class UnsupportedEvent(ValueError):
    """An event type this service does not sync (yet)."""


def _nothing(_: Any) -> list[Any]:
    return []


def _ids(event: Event) -> dict[str, str]:
    return {"company_id": event.company_id, "event_id": event.event_id}


@dataclass(frozen=True)
class EventKind(Generic[E]):
    """How one event type is carried out."""

    event_type: str
    model: type[E]
    workflow: type[Any]  # the @workflow.defn class run as the lane's child
    child_input: Callable[[E], BaseModel]
    # The record whose lane the event runs in, or None: its owning customer's (owner_lookups).
    lane: Callable[[E], RecordKey | None]
    # Records whose owning customer decides the lane, most telling first.
    owner_lookups: Callable[[E], list[RecordKey]] = field(default=_nothing)
    # (kind, id, customer) facts this event establishes for later events.
    ownership: Callable[[E], list[OwnerFact]] = field(default=_nothing)
    # The invoices, payments and credits it changes in QBO, so operators find every sync of
    # one of them (search attribute SkimmerTouches, workflows/search.py).
    touches: Callable[[E], list[RecordKey]] = field(default=_nothing)

    @property
    def workflow_name(self) -> str:
        return self.workflow.__name__  # @workflow.defn names each workflow after its class


def _item_saved(
    event_type: str, model: type[ProductSaved | WorkOrderTypeSaved | DosageSaved]
) -> EventKind[Any]:
    item_type = ITEM_TYPE_OF_EVENT[event_type]
    return EventKind(
        event_type,
        model,
        SyncItem,
        child_input=lambda e: SyncItemInput(**_ids(e), item_type=item_type, item=e.data.item),
        lane=lambda e: (item_type, e.data.item.id),
    )


def _payment_change(
    event_type: str, model: type[PaymentDeleted | PaymentVoided], run: type[Any]
) -> EventKind[Any]:
    return EventKind(
        event_type,
        model,
        run,
        child_input=lambda e: PaymentChangeInput(
            **_ids(e), payment_id=e.data.payment_id, invoice_id=e.data.invoice_id
        ),
        lane=lambda e: None,
        owner_lookups=lambda e: [("payment", e.data.payment_id), ("invoice", e.data.invoice_id)],
        touches=lambda e: [("payment", e.data.payment_id), ("invoice", e.data.invoice_id)],
    )


def _invoice_end(
    event_type: str, model: type[InvoiceVoided | InvoiceDeleted], run: type[Any]
) -> EventKind[Any]:
    """The event names only the invoice: it runs in the lane of the customer that owns it."""
    return EventKind(
        event_type,
        model,
        run,
        child_input=lambda e: InvoiceChangeInput(**_ids(e), invoice_id=e.data.invoice_id),
        lane=lambda e: None,
        owner_lookups=lambda e: [("invoice", e.data.invoice_id)],
        touches=lambda e: [("invoice", e.data.invoice_id)],
    )


_KINDS: list[EventKind[Any]] = [
    EventKind(
        "customer.saved",
        CustomerSaved,
        SyncCustomer,
        child_input=lambda e: SyncCustomerInput(**_ids(e), customer=e.data.customer),
        lane=lambda e: ("customer", e.data.customer.id),
    ),
    _item_saved("product.saved", ProductSaved),
    _item_saved("work_order_type.saved", WorkOrderTypeSaved),
    _item_saved("dosage.saved", DosageSaved),
    EventKind(
        "invoice.saved",
        InvoiceSaved,
        SyncInvoice,
        child_input=lambda e: SyncInvoiceInput(**_ids(e), invoice=e.data.invoice),
        lane=lambda e: ("customer", e.data.invoice.customer_id),
        ownership=lambda e: [("invoice", e.data.invoice.id, e.data.invoice.customer_id)],
        touches=lambda e: [("invoice", e.data.invoice.id)],
    ),
    EventKind(
        "payment.recorded",
        PaymentRecorded,
        RecordPayment,
        child_input=lambda e: RecordPaymentInput(
            **_ids(e), payment=e.data.payment, invoice=e.data.invoice, customer=e.data.customer
        ),
        lane=lambda e: ("customer", e.data.customer.id),
        ownership=lambda e: [
            ("payment", e.data.payment.id, e.data.customer.id),
            ("invoice", e.data.invoice.id, e.data.customer.id),
        ],
        touches=lambda e: [("payment", e.data.payment.id), ("invoice", e.data.invoice.id)],
    ),
    _invoice_end("invoice.voided", InvoiceVoided, VoidInvoice),
    _invoice_end("invoice.deleted", InvoiceDeleted, DeleteInvoice),
    _payment_change("payment.deleted", PaymentDeleted, DeletePayment),
    _payment_change("payment.voided", PaymentVoided, VoidPayment),
    EventKind(
        "payment.refunded",
        PaymentRefunded,
        RefundPayment,
        child_input=lambda e: RefundPaymentInput(
            **_ids(e), payment_id=e.data.payment_id, refund=e.data.refund
        ),
        lane=lambda e: None,
        owner_lookups=lambda e: [("payment", e.data.payment_id)],
        touches=lambda e: [("payment", e.data.payment_id)],
    ),
    EventKind(
        "credit.recorded",
        CreditRecorded,
        RecordAccountCredit,
        child_input=lambda e: RecordAccountCreditInput(
            **_ids(e), credit=e.data.credit, customer=e.data.customer
        ),
        lane=lambda e: ("customer", e.data.customer.id),
        ownership=lambda e: [("credit", e.data.credit.id, e.data.customer.id)],
        touches=lambda e: [("credit", e.data.credit.id)],
    ),
    EventKind(
        "credit.applied",
        CreditApplied,
        ApplyCredit,
        child_input=lambda e: ApplyCreditInput(
            **_ids(e),
            credit_id=e.data.credit_id,
            invoice=e.data.invoice,
            customer=e.data.customer,
            amount=e.data.amount,
        ),
        lane=lambda e: ("customer", e.data.customer.id),
        ownership=lambda e: [
            ("credit", e.data.credit_id, e.data.customer.id),
            ("invoice", e.data.invoice.id, e.data.customer.id),
        ],
        touches=lambda e: [("credit", e.data.credit_id), ("invoice", e.data.invoice.id)],
    ),
    EventKind(
        "credit.refunded",
        CreditRefunded,
        RefundCredit,
        child_input=lambda e: RefundCreditInput(
            **_ids(e), credit_id=e.data.credit_id, refund=e.data.refund
        ),
        lane=lambda e: None,
        owner_lookups=lambda e: [("credit", e.data.credit_id)],
        touches=lambda e: [("credit", e.data.credit_id)],
    ),
]

# A payout spans customers: it runs in its own lane and waits there for the payments it names,
# which run in their customers' lanes (workflows/payouts.py).
_KINDS.append(
    EventKind(
        "payout.paid",
        PayoutPaid,
        RecordPayout,
        child_input=lambda e: RecordPayoutInput(**_ids(e), payout=e.data.payout),
        lane=lambda e: ("payout", e.data.payout.id),
        touches=lambda e: [
            ("payout", e.data.payout.id),
            *(("payment", pid) for pid in e.data.payout.payment_ids[:PAYOUT_TOUCHES_KEPT]),
        ],
    )
)

EVENT_KINDS: dict[str, EventKind[Any]] = {kind.event_type: kind for kind in _KINDS}

# Every workflow the events run, once each (the worker adds the lane).
EVENT_WORKFLOWS: list[type[Any]] = list(dict.fromkeys(kind.workflow for kind in _KINDS))


def kind_of(event_type: str) -> EventKind[Any]:
    """The registry entry of `event_type`; `UnsupportedEvent` when it is not synced."""
    kind = EVENT_KINDS.get(event_type)
    if kind is None:
        raise UnsupportedEvent(f"{event_type} events are not synced yet")
    return kind
