"""Workflow inputs (one model per workflow, so each can evolve)."""

from __future__ import annotations

from pydantic import BaseModel

from billing.events import (
    BillingEvent,
    CreditApplied,
    CreditRecorded,
    CreditRefunded,
    InvoiceSaved,
    PaymentDeleted,
    PaymentRecorded,
    PaymentRefunded,
    PaymentVoided,
)
from billing.records import Customer, Item, ItemType


class SyncCustomerInput(BaseModel):
    company_id: str
    event_id: str
    customer: Customer


class SyncItemInput(BaseModel):
    company_id: str
    event_id: str
    item_type: ItemType
    item: Item


class LaneEvent(BaseModel):
    """One accepted event, handed to its record's lane."""

    event: BillingEvent
    workflow_id: str
    realm_id: str | None = None


class LaneInput(BaseModel):
    company_id: str
    record_kind: str
    record_id: str
    # Carried over continue-as-new:
    pending: list[LaneEvent] = []
    seen_event_ids: list[str] = []


class RecordPaymentInput(BaseModel):
    event: PaymentRecorded


class SyncInvoiceInput(BaseModel):
    event: InvoiceSaved


class PaymentChangeInput(BaseModel):
    """payment.deleted or payment.voided."""

    event: PaymentDeleted | PaymentVoided


class RefundPaymentInput(BaseModel):
    event: PaymentRefunded


class RecordAccountCreditInput(BaseModel):
    event: CreditRecorded


class ApplyCreditInput(BaseModel):
    event: CreditApplied


class RefundCreditInput(BaseModel):
    event: CreditRefunded
