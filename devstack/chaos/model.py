"""A model of Skimmer's books for the chaos run: what each company's QBO must hold in the end."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Literal

ZERO = Decimal("0.00")
PaymentState = Literal["open", "deleted", "voided"]


@dataclass
class Item:
    id: str
    kind: Literal["product", "work_order_type", "dosage"]
    name: str
    price: Decimal

    @property
    def event_type(self) -> str:
        return f"{self.kind}.saved"


@dataclass
class Line:
    item: Item
    quantity: Decimal
    unit_price: Decimal

    @property
    def amount(self) -> Decimal:
        # Halves away from zero, as Skimmer and QBO round quantity × price.
        return (self.quantity * self.unit_price).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)


@dataclass
class Invoice:
    id: str
    number: str
    customer_id: str
    lines: list[Line]
    in_qbo: bool = False  # sent by a payment or a credit application; unpaid ones stay in Skimmer
    payments: dict[str, Decimal] = field(default_factory=dict)  # open payments only
    credits: dict[str, Decimal] = field(default_factory=dict)  # credit id -> amount applied

    @property
    def total(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def amount_due(self) -> Decimal:
        paid = sum(self.payments.values(), ZERO) + sum(self.credits.values(), ZERO)
        return self.total - paid


@dataclass
class Payment:
    id: str
    invoice_id: str
    amount: Decimal
    method: str
    state: PaymentState = "open"
    refunds: dict[str, Decimal] = field(default_factory=dict)


@dataclass
class Credit:
    id: str
    amount: Decimal
    method: str
    applied: dict[str, Decimal] = field(default_factory=dict)  # invoice id -> amount
    refunds: dict[str, Decimal] = field(default_factory=dict)

    @property
    def remaining(self) -> Decimal:
        used = sum(self.applied.values(), ZERO) + sum(self.refunds.values(), ZERO)
        return self.amount - used


@dataclass
class Customer:
    id: str
    first_name: str
    last_name: str
    email: str
    phone: str
    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, Payment] = field(default_factory=dict)
    credits: dict[str, Credit] = field(default_factory=dict)

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}"

    @property
    def balance(self) -> Decimal:
        """Open A/R as QBO sums it: invoices sent to QBO, less the credit still unapplied."""
        due = sum((i.amount_due for i in self.invoices.values() if i.in_qbo), ZERO)
        return due - sum((c.remaining for c in self.credits.values()), ZERO)


@dataclass
class Company:
    index: int
    company_id: str
    realm_id: str = ""
    customers: dict[str, Customer] = field(default_factory=dict)
    items: dict[str, Item] = field(default_factory=dict)
    items_sent: set[str] = field(default_factory=set)  # items some event made exist in QBO
