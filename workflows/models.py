"""Workflow inputs: one model per workflow, built from an event at the door (`workflows.registry`).

These are what workflow histories hold, so they are internal shapes (`billing.snapshots`), not
the validated contract: tightening a rule of the contract never breaks a running workflow, and
they only ever gain optional fields (docs/DEPLOYS.md).
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from pydantic import BaseModel

from billing.snapshots import Credit, Customer, Invoice, Item, ItemType, Payment, Payout, Refund


class EventInput(BaseModel):
    """What every event's workflow knows: whose event it is."""

    company_id: str
    event_id: str


class SyncCustomerInput(EventInput):
    customer: Customer


class SyncItemInput(EventInput):
    item_type: ItemType
    item: Item


class SyncInvoiceInput(EventInput):
    invoice: Invoice


class InvoiceChangeInput(EventInput):
    """invoice.voided or invoice.deleted."""

    invoice_id: str


class RecordPaymentInput(EventInput):
    payment: Payment
    invoice: Invoice
    customer: Customer


class PaymentChangeInput(EventInput):
    """payment.deleted or payment.voided."""

    payment_id: str
    invoice_id: str


class RefundPaymentInput(EventInput):
    payment_id: str
    refund: Refund


class RecordAccountCreditInput(EventInput):
    credit: Credit
    customer: Customer


class ApplyCreditInput(EventInput):
    credit_id: str
    invoice: Invoice
    customer: Customer
    amount: Decimal


class RefundCreditInput(EventInput):
    credit_id: str
    refund: Refund


class RecordPayoutInput(EventInput):
    payout: Payout


class LaneEvent(BaseModel):
    """One accepted event, handed to its record's lane.

    The lane only orders events; it never reads what is in them. `input` is the event's
    workflow input as JSON, decoded by that workflow alone, so no event content can make the
    lane's own signals fail to decode.
    """

    event_id: str
    event_type: str
    workflow_id: str
    input: dict[str, Any]
    realm_id: str | None = None
    # (kind, id) of the invoices, payments and credits it touches: its search attributes.
    touches: list[tuple[str, str]] = []
    # When the door accepted it (the end-to-end latency metric starts there).
    accepted_at: datetime | None = None


class LaneInput(BaseModel):
    company_id: str
    record_kind: str
    record_id: str
    # Carried over continue-as-new:
    pending: list[LaneEvent] = []
    # The workflow ids of the events this lane ran (the name is older than operator retries).
    seen_event_ids: list[str] = []


class ReconcileInput(BaseModel):
    """A company's reconciliation with QBO (run by its schedule or on demand)."""

    company_id: str


class ReconcileResult(BaseModel):
    differences: int
    repaired: int
    needs_attention: int
    mode: str  # "changes" (QBO's change feed) or "read" (the linked records, read by id)
