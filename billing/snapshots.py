"""Skimmer records as the service carries them inside Temporal (workflow and activity payloads).

The same fields as the contract (`billing.records`), none of its rules: an event is validated
once, at the door, and what it became is stored in workflow histories. A history must decode
with every later release, so these shapes only ever gain optional fields; tightening a rule of
the contract never touches them. See docs/DEPLOYS.md.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict

ItemType = Literal["product", "work_order_type", "dosage"]


class Snapshot(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Address(Snapshot):
    line1: str
    line2: str | None = None
    city: str = ""
    state: str = ""
    postal_code: str = ""
    country: str | None = None


class Customer(Snapshot):
    id: str
    first_name: str = ""
    last_name: str = ""
    company_name: str | None = None
    display_as_company: bool = False
    email: str | None = None
    phone: str | None = None
    billing_address: Address | None = None
    active: bool = True

    @property
    def display_name(self) -> str:
        """The name QuickBooks shows: the company name when "display as company" is set."""
        if self.display_as_company and self.company_name:
            return self.company_name.strip()
        return " ".join(p.strip() for p in (self.first_name, self.last_name) if p.strip())


class Item(Snapshot):
    id: str
    name: str
    description: str | None = None
    unit_price: Decimal | None = None
    sku: str | None = None
    active: bool = True
    kind: str = "service"  # service | non_inventory | inventory
    quantity_on_hand: Decimal | None = None


class InvoiceLine(Snapshot):
    item_id: str
    item_type: ItemType
    item: Item | None = None
    description: str | None = None
    quantity: Decimal
    unit_price: Decimal
    amount: Decimal
    taxable: bool | None = None


class Tax(Snapshot):
    """One named rate of the invoice's tax group, applied to its taxable lines."""

    name: str
    rate_percent: Decimal
    taxable_amount: Decimal
    amount: Decimal


class Invoice(Snapshot):
    id: str
    number: str
    currency: str = "USD"
    customer_id: str
    issued_on: date
    due_on: date | None = None
    created_at: datetime
    lines: Sequence[InvoiceLine]
    total: Decimal
    amount_due: Decimal
    subtotal: Decimal | None = None
    taxes: Sequence[Tax] = ()


class Payment(Snapshot):
    id: str
    invoice_id: str
    customer_id: str
    amount: Decimal
    method: str
    reference: str | None = None
    received_on: date
    currency: str = "USD"


class Credit(Snapshot):
    id: str
    customer_id: str
    amount: Decimal
    method: str
    received_on: date
    currency: str = "USD"


class Refund(Snapshot):
    id: str
    amount: Decimal
    reason: str | None = None
    refunded_on: date


class Payout(Snapshot):
    """A Stripe payout that reached the bank: its card payments, less refunds and fees."""

    id: str
    arrived_on: date
    gross: Decimal
    fees: Decimal
    net: Decimal
    payment_ids: Sequence[str]
    refund_ids: Sequence[str] = ()
