"""Skimmer records as the billing backend sends them: the contract (field names and rules).

Each is the internal snapshot (`billing.snapshots`) plus the rules checked at the door, so a
validated record can be handed to a workflow as it is.
"""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import EmailStr, Field, field_validator, model_validator

from billing import snapshots
from billing.money import Money, PositiveMoney, Quantity

RecordId = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[A-Za-z0-9_.:\-]+$")]
ItemType = snapshots.ItemType
PaymentMethod = Literal["cash", "check", "card", "ach"]
Currency = Annotated[str, Field(pattern=r"^[A-Z]{3}$")]


class Address(snapshots.Address):
    line1: str = Field(min_length=1)
    city: str
    state: str
    postal_code: str


class Customer(snapshots.Customer):
    id: RecordId
    email: EmailStr | None = None
    billing_address: Address | None = None

    @model_validator(mode="after")
    def _has_a_name(self) -> Customer:
        if not self.display_name:
            raise ValueError("customer needs a first or last name, or a company name")
        return self


class Item(snapshots.Item):
    id: RecordId
    name: str = Field(min_length=1, max_length=100)
    unit_price: Money | None = None
    kind: Literal["service", "non_inventory", "inventory"] = "service"
    quantity_on_hand: Quantity | None = None


class InvoiceLine(snapshots.InvoiceLine):
    item_id: RecordId
    item: Item | None = None
    quantity: Quantity
    unit_price: Money
    amount: Money


class Tax(snapshots.Tax):
    name: str = Field(min_length=1, max_length=100)
    rate_percent: Decimal = Field(ge=0, le=100)
    taxable_amount: Money
    amount: Money

    @field_validator("name")
    @classmethod
    def _name_is_words(cls, name: str) -> str:
        if not name.strip() or ":" in name:
            raise ValueError("a tax name needs words and no colon")
        return name.strip()


class Invoice(snapshots.Invoice):
    id: RecordId
    currency: Currency = "USD"
    customer_id: RecordId
    lines: Sequence[InvoiceLine] = Field(min_length=1)
    total: Money
    amount_due: Money
    subtotal: Money | None = None
    taxes: Sequence[Tax] = ()

    @model_validator(mode="after")
    def _taxes_named_once(self) -> Invoice:
        names = [tax.name.casefold() for tax in self.taxes]
        if len(set(names)) != len(names):
            raise ValueError("taxes names a rate twice")
        return self


class Payment(snapshots.Payment):
    id: RecordId
    invoice_id: RecordId
    customer_id: RecordId
    amount: PositiveMoney
    method: PaymentMethod
    currency: Currency = "USD"


class Credit(snapshots.Credit):
    id: RecordId
    customer_id: RecordId
    amount: PositiveMoney
    method: PaymentMethod
    currency: Currency = "USD"


class Refund(snapshots.Refund):
    id: RecordId
    amount: PositiveMoney


class Payout(snapshots.Payout):
    """What the payout's own numbers can prove at the door; that its payments add up to `gross`
    and its refunds to gross − fees − net needs QuickBooks, so the workflow checks that."""

    id: RecordId
    gross: PositiveMoney
    fees: Money
    net: PositiveMoney
    payment_ids: Sequence[RecordId] = Field(min_length=1)
    refund_ids: Sequence[RecordId] = ()

    @field_validator("fees")
    @classmethod
    def _fees_not_negative(cls, fees: Decimal) -> Decimal:
        if fees < 0:
            raise ValueError("must not be negative")
        return fees

    @model_validator(mode="after")
    def _numbers_agree(self) -> Payout:
        if len(set(self.payment_ids)) != len(self.payment_ids):
            raise ValueError("payment_ids names a payment twice")
        if len(set(self.refund_ids)) != len(self.refund_ids):
            raise ValueError("refund_ids names a refund twice")
        refunds = self.gross - self.fees - self.net
        if not self.refund_ids and refunds != 0:
            raise ValueError("net must be gross − fees when the payout carries no refunds")
        if self.refund_ids and refunds <= 0:
            raise ValueError(
                "net must be gross − fees − the refunds, and the refunds more than zero"
            )
        return self
