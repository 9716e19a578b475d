"""Snapshots of Skimmer records as the billing backend sends them (field names are the contract)."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, EmailStr, Field, model_validator

from billing.money import Money

RecordId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
ItemType = Literal["product", "work_order_type", "dosage"]
PaymentMethod = Literal["cash", "check", "card", "ach"]


class Record(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Address(Record):
    line1: str = Field(min_length=1)
    line2: str | None = None
    city: str
    state: str
    postal_code: str
    country: str | None = None


class Customer(Record):
    id: RecordId
    first_name: str = ""
    last_name: str = ""
    company_name: str | None = None
    display_as_company: bool = False
    email: EmailStr | None = None
    phone: str | None = None
    billing_address: Address | None = None
    active: bool = True

    @model_validator(mode="after")
    def _has_a_name(self) -> Customer:
        if not self.display_name:
            raise ValueError("customer needs a first or last name, or a company name")
        return self

    @property
    def display_name(self) -> str:
        """The name QuickBooks shows: the company name when "display as company" is set."""
        if self.display_as_company and self.company_name:
            return self.company_name.strip()
        return " ".join(p.strip() for p in (self.first_name, self.last_name) if p.strip())


class Item(Record):
    id: RecordId
    name: str = Field(min_length=1, max_length=100)
    description: str | None = None
    unit_price: Money | None = None
    sku: str | None = None
    active: bool = True
    kind: Literal["service", "non_inventory", "inventory"] = "service"
    quantity_on_hand: Decimal | None = None


class InvoiceLine(Record):
    item_id: RecordId
    item_type: ItemType
    item: Item | None = None
    description: str | None = None
    quantity: Decimal
    unit_price: Money
    amount: Money


Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Invoice(Record):
    id: RecordId
    number: str
    currency: Currency = "USD"
    customer_id: RecordId
    issued_on: date
    due_on: date | None = None
    created_at: datetime
    lines: list[InvoiceLine] = Field(min_length=1)
    total: Money
    amount_due: Money


class Payment(Record):
    id: RecordId
    invoice_id: RecordId
    customer_id: RecordId
    amount: Money
    method: PaymentMethod
    reference: str | None = None
    received_on: date
    currency: Currency = "USD"


class Credit(Record):
    id: RecordId
    customer_id: RecordId
    amount: Money
    method: PaymentMethod
    received_on: date
    currency: Currency = "USD"


class Refund(Record):
    id: RecordId
    amount: Money
    reason: str | None = None
    refunded_on: date


class Payout(Record):
    id: RecordId
    arrived_on: date
    gross: Money
    fees: Money
    net: Money
    payment_ids: list[RecordId]
