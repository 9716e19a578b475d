"""Billing events: the JSON the backend POSTs to /events, one model per event type."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from billing.money import PositiveMoney
from billing.records import Credit, Customer, Invoice, Item, ItemType, Payment, Payout, Refund

EventId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:\-]+$")]
CompanyId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.\-]+$")]


class Event(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    event_id: EventId
    company_id: CompanyId
    occurred_at: datetime


class CustomerData(BaseModel):
    customer: Customer


class CustomerSaved(Event):
    type: Literal["customer.saved"]
    data: CustomerData


class ItemData(BaseModel):
    item: Item


class ProductSaved(Event):
    type: Literal["product.saved"]
    data: ItemData


class WorkOrderTypeSaved(Event):
    type: Literal["work_order_type.saved"]
    data: ItemData


class DosageSaved(Event):
    type: Literal["dosage.saved"]
    data: ItemData


ItemSaved = ProductSaved | WorkOrderTypeSaved | DosageSaved

ITEM_TYPE_OF_EVENT: dict[str, ItemType] = {
    "product.saved": "product",
    "work_order_type.saved": "work_order_type",
    "dosage.saved": "dosage",
}


class InvoiceData(BaseModel):
    invoice: Invoice


class InvoiceSaved(Event):
    type: Literal["invoice.saved"]
    data: InvoiceData


class InvoiceRef(BaseModel):
    invoice_id: str = Field(min_length=1)


class InvoiceVoided(Event):
    type: Literal["invoice.voided"]
    data: InvoiceRef


class InvoiceDeleted(Event):
    type: Literal["invoice.deleted"]
    data: InvoiceRef


class PaymentRecordedData(BaseModel):
    payment: Payment
    invoice: Invoice
    customer: Customer


class PaymentRecorded(Event):
    type: Literal["payment.recorded"]
    data: PaymentRecordedData


class PaymentRef(BaseModel):
    payment_id: str = Field(min_length=1)
    invoice_id: str = Field(min_length=1)


class PaymentDeleted(Event):
    type: Literal["payment.deleted"]
    data: PaymentRef


class PaymentVoided(Event):
    type: Literal["payment.voided"]
    data: PaymentRef


class PaymentRefundedData(BaseModel):
    payment_id: str = Field(min_length=1)
    refund: Refund


class PaymentRefunded(Event):
    type: Literal["payment.refunded"]
    data: PaymentRefundedData


class CreditRecordedData(BaseModel):
    credit: Credit
    customer: Customer


class CreditRecorded(Event):
    type: Literal["credit.recorded"]
    data: CreditRecordedData


class CreditAppliedData(BaseModel):
    credit_id: str = Field(min_length=1)
    invoice: Invoice
    customer: Customer
    amount: PositiveMoney


class CreditApplied(Event):
    type: Literal["credit.applied"]
    data: CreditAppliedData


class CreditRefundedData(BaseModel):
    credit_id: str = Field(min_length=1)
    refund: Refund


class CreditRefunded(Event):
    type: Literal["credit.refunded"]
    data: CreditRefundedData


class PayoutData(BaseModel):
    payout: Payout


class PayoutPaid(Event):
    type: Literal["payout.paid"]
    data: PayoutData


BillingEvent = Annotated[
    CustomerSaved
    | ProductSaved
    | WorkOrderTypeSaved
    | DosageSaved
    | InvoiceSaved
    | InvoiceVoided
    | InvoiceDeleted
    | PaymentRecorded
    | PaymentDeleted
    | PaymentVoided
    | PaymentRefunded
    | CreditRecorded
    | CreditApplied
    | CreditRefunded
    | PayoutPaid,
    Field(discriminator="type"),
]

billing_event_adapter: TypeAdapter[BillingEvent] = TypeAdapter(BillingEvent)

# Each event type of the contract and its model, in the union's order.
EVENT_MODELS: dict[str, type[Event]] = {
    get_args(model.model_fields["type"].annotation)[0]: model
    for model in get_args(get_args(BillingEvent)[0])
}


def parse_event(raw: bytes | str) -> BillingEvent:
    """Validate one event; raises `pydantic.ValidationError` naming every bad field."""
    return billing_event_adapter.validate_json(raw)
