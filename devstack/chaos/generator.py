"""A seeded generator of billing events in a valid order per customer, keeping the model up to date.

Events come in rounds: a round holds at most one event per customer (and one for each company's
catalog), so the runner sends a round at once and every customer's events stay in order. Every few
rounds a new product appears that every customer of the company pays for in that same round: many
lanes need one new QBO item at the same instant.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

from devstack.chaos import model as m

CENT = Decimal("0.01")
METHODS = ("cash", "check", "card", "ach")
FIRST_NAMES = ("Maria", "James", "Aisha", "Chen", "Olga", "Diego", "Priya", "Tom", "Lena", "Omar")
ITEM_WORDS = {
    "product": ("Chlorine tabs", "Shock", "Filter cartridge", "Pool brush", "Skimmer basket"),
    "work_order_type": ("Green pool cleanup", "Filter clean", "Pump repair", "Weekly service"),
    "dosage": ("Muriatic acid", "Liquid chlorine", "Stabilizer", "Algaecide"),
}
BURST_EVERY = 6  # every 6th round, a new product every customer pays for at once


@dataclass(frozen=True)
class PlannedEvent:
    company_id: str
    stream: str  # the customer id, or "catalog": events of one stream are sent in order
    body: dict[str, Any]

    @property
    def event_id(self) -> str:
        return str(self.body["event_id"])

    @property
    def type(self) -> str:
        return str(self.body["type"])


def money(value: Decimal) -> str:
    return str(value.quantize(CENT))


class Generator:
    def __init__(self, seed: int, companies: int, customers: int, events: int) -> None:
        self.rng = random.Random(seed)
        self.total = events
        self.count = 0
        self.today = date.today().isoformat()
        self.now = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        self.companies = [m.Company(k, f"co_chaos_{k}") for k in range(1, companies + 1)]
        self.customers_per_company = customers
        self._serial = 0

    # --- the plan -------------------------------------------------------------------------

    def plan(self) -> list[list[PlannedEvent]]:
        """Rounds of events, `events` of them in all; the model then holds the end state."""
        rounds: list[list[PlannedEvent]] = [self._opening_round()]
        while self.count < self.total:
            rounds.append(self._round(len(rounds)))
        return [events for events in rounds if events]

    def _room(self) -> bool:
        """Whether one more event fits in the total (counted as planned when it does)."""
        if self.count >= self.total:
            return False
        self.count += 1
        return True

    def _opening_round(self) -> list[PlannedEvent]:
        events = []
        for co in self.companies:
            for n in range(1, self.customers_per_company + 1):
                first = self.rng.choice(FIRST_NAMES)
                cust = m.Customer(
                    id=f"c{co.index}_cust{n}",
                    first_name=first,
                    last_name=f"Chaos{co.index}x{n}",
                    email=f"{first.lower()}.{co.index}.{n}@example.com",
                    phone=f"602-555-{self.rng.randint(1000, 9999)}",
                )
                co.customers[cust.id] = cust
                if self._room():
                    events.append(self._customer_saved(co, cust))
            for kind in ("product", "work_order_type", "dosage"):
                item = self._new_item(co, kind)
                if self._room():
                    events.append(self._item_saved(co, item))
        return events

    def _round(self, number: int) -> list[PlannedEvent]:
        events = []
        for co in self.companies:
            burst = self._new_item(co, "product") if number % BURST_EVERY == 0 else None
            if burst is not None and self.rng.random() < 0.5:
                if self._room():
                    events.append(self._item_saved(co, burst))  # its own lane races the payments
            elif self.rng.random() < 0.3 and self._room():
                events.append(self._catalog_turn(co))
            for cust in co.customers.values():
                if burst is not None:
                    if self._room():
                        events.append(self._pay_new_invoice(co, cust, burst))
                elif self.rng.random() < 0.85 and self._room():
                    events.append(self._customer_turn(co, cust))
        self.rng.shuffle(events)
        return events

    # --- one step of a customer or a catalog -------------------------------------------------

    def _customer_turn(self, co: m.Company, cust: m.Customer) -> PlannedEvent:
        open_payments = [p for p in cust.payments.values() if p.state == "open" and not p.refunds]
        due = [i for i in cust.invoices.values() if i.amount_due > 0]
        credits = [c for c in cust.credits.values() if c.remaining > 0]
        in_qbo = [i for i in cust.invoices.values() if i.in_qbo]
        steps: list[tuple[float, Callable[[], PlannedEvent]]] = [
            (30, lambda: self._pay_new_invoice(co, cust)),
            (10, lambda: self._credit_recorded(co, cust)),
            (3, lambda: self._customer_saved(co, cust, changed=True)),
            (3, lambda: self._invoice_saved(co, cust, None)),
        ]
        if due:
            steps.append((15, lambda: self._pay_more(co, cust, self.rng.choice(due))))
        if open_payments:
            pick = self.rng.choice(open_payments)
            steps += [
                (6, lambda: self._payment_removed(co, cust, pick, "deleted")),
                (5, lambda: self._payment_removed(co, cust, pick, "voided")),
                (5, lambda: self._payment_refunded(co, cust, pick)),
            ]
        if credits:
            credit = self.rng.choice(credits)
            steps += [
                (12, lambda: self._credit_applied(co, cust, credit)),
                (6, lambda: self._credit_refunded(co, cust, credit)),
            ]
        if in_qbo:
            steps.append((6, lambda: self._invoice_saved(co, cust, self.rng.choice(in_qbo))))
        weights = [w for w, _ in steps]
        return self.rng.choices([step for _, step in steps], weights)[0]()

    def _catalog_turn(self, co: m.Company) -> PlannedEvent:
        if self.rng.random() < 0.35:
            kind = self.rng.choice(("product", "work_order_type", "dosage"))
            return self._item_saved(co, self._new_item(co, kind))
        item = self.rng.choice(list(co.items.values()))
        item.price += Decimal(self.rng.randint(1, 9))
        return self._item_saved(co, item)

    # --- events --------------------------------------------------------------------------------

    def _event(self, co: m.Company, stream: str, type_: str, data: dict[str, Any]) -> PlannedEvent:
        self._serial += 1
        body = {
            "event_id": f"evt_c{co.index}_{self._serial:06d}",
            "type": type_,
            "company_id": co.company_id,
            "occurred_at": self.now,
            "data": data,
        }
        return PlannedEvent(co.company_id, stream, body)

    def _customer_saved(
        self, co: m.Company, cust: m.Customer, changed: bool = False
    ) -> PlannedEvent:
        if changed:
            cust.phone = f"602-555-{self.rng.randint(1000, 9999)}"
        return self._event(co, cust.id, "customer.saved", {"customer": customer_json(cust)})

    def _item_saved(self, co: m.Company, item: m.Item) -> PlannedEvent:
        co.items_sent.add(item.id)
        return self._event(co, "catalog", item.event_type, {"item": item_json(item)})

    def _pay_new_invoice(
        self, co: m.Company, cust: m.Customer, must_sell: m.Item | None = None
    ) -> PlannedEvent:
        invoice = self._new_invoice(co, cust, must_sell)
        full = self.rng.random() < 0.6
        return self._payment(
            co, cust, invoice, invoice.total if full else self._part(invoice.total)
        )

    def _pay_more(self, co: m.Company, cust: m.Customer, invoice: m.Invoice) -> PlannedEvent:
        due = invoice.amount_due
        return self._payment(co, cust, invoice, due if self.rng.random() < 0.5 else self._part(due))

    def _payment(
        self, co: m.Company, cust: m.Customer, invoice: m.Invoice, amount: Decimal
    ) -> PlannedEvent:
        payment = m.Payment(self._id(co, "pay"), invoice.id, amount, self.rng.choice(METHODS))
        cust.payments[payment.id] = payment
        invoice.payments[payment.id] = amount
        invoice.in_qbo = True
        co.items_sent.update(line.item.id for line in invoice.lines)
        data = {
            "payment": {
                "id": payment.id,
                "invoice_id": invoice.id,
                "customer_id": cust.id,
                "amount": money(amount),
                "method": payment.method,
                "received_on": self.today,
            },
            "invoice": invoice_json(invoice, self.today, self.now),
            "customer": customer_json(cust),
        }
        return self._event(co, cust.id, "payment.recorded", data)

    def _payment_removed(
        self, co: m.Company, cust: m.Customer, payment: m.Payment, state: m.PaymentState
    ) -> PlannedEvent:
        payment.state = state
        cust.invoices[payment.invoice_id].payments.pop(payment.id)
        type_ = "payment.deleted" if state == "deleted" else "payment.voided"
        data = {"payment_id": payment.id, "invoice_id": payment.invoice_id}
        return self._event(co, cust.id, type_, data)

    def _payment_refunded(
        self, co: m.Company, cust: m.Customer, payment: m.Payment
    ) -> PlannedEvent:
        amount = payment.amount if self.rng.random() < 0.4 else self._part(payment.amount)
        refund_id = self._id(co, "ref")
        payment.refunds[refund_id] = amount
        data = {"payment_id": payment.id, "refund": self._refund_json(refund_id, amount)}
        return self._event(co, cust.id, "payment.refunded", data)

    def _credit_recorded(self, co: m.Company, cust: m.Customer) -> PlannedEvent:
        amount = Decimal(self.rng.randint(2000, 15000)) / 100
        credit = m.Credit(self._id(co, "cr"), amount, self.rng.choice(METHODS))
        cust.credits[credit.id] = credit
        data = {
            "credit": {
                "id": credit.id,
                "customer_id": cust.id,
                "amount": money(amount),
                "method": credit.method,
                "received_on": self.today,
            },
            "customer": customer_json(cust),
        }
        return self._event(co, cust.id, "credit.recorded", data)

    def _credit_applied(self, co: m.Company, cust: m.Customer, credit: m.Credit) -> PlannedEvent:
        due = [i for i in cust.invoices.values() if i.amount_due > 0]
        if due and self.rng.random() < 0.7:
            invoice = self.rng.choice(due)
        else:
            invoice = self._new_invoice(co, cust, None)
        most = min(credit.remaining, invoice.amount_due)
        # Mostly the most it can: often the FULL remaining credit (the boundary case).
        amount = most if self.rng.random() < 0.7 else self._part(most)
        credit.applied[invoice.id] = credit.applied.get(invoice.id, m.ZERO) + amount
        invoice.credits[credit.id] = invoice.credits.get(credit.id, m.ZERO) + amount
        invoice.in_qbo = True
        co.items_sent.update(line.item.id for line in invoice.lines)
        data = {
            "credit_id": credit.id,
            "invoice": invoice_json(invoice, self.today, self.now),
            "customer": customer_json(cust),
            "amount": money(amount),
        }
        return self._event(co, cust.id, "credit.applied", data)

    def _credit_refunded(self, co: m.Company, cust: m.Customer, credit: m.Credit) -> PlannedEvent:
        left = credit.remaining
        amount = left if self.rng.random() < 0.5 else self._part(left)
        refund_id = self._id(co, "ref")
        credit.refunds[refund_id] = amount
        data = {"credit_id": credit.id, "refund": self._refund_json(refund_id, amount)}
        return self._event(co, cust.id, "credit.refunded", data)

    def _invoice_saved(
        self, co: m.Company, cust: m.Customer, invoice: m.Invoice | None
    ) -> PlannedEvent:
        """An edit of an invoice already in QBO (one more line), or a new unpaid one (not sent)."""
        if invoice is None:
            invoice = self._new_invoice(co, cust, None)
        else:
            invoice.lines.append(self._line(co))
            co.items_sent.update(line.item.id for line in invoice.lines)
        data = {"invoice": invoice_json(invoice, self.today, self.now)}
        return self._event(co, cust.id, "invoice.saved", data)

    # --- records -------------------------------------------------------------------------------

    def _id(self, co: m.Company, prefix: str) -> str:
        self._serial += 1
        return f"{prefix}_c{co.index}_{self._serial:06d}"

    def _new_item(self, co: m.Company, kind: str) -> m.Item:
        prefix = {"product": "prod", "work_order_type": "wot", "dosage": "dos"}[kind]
        n = sum(1 for i in co.items.values() if i.kind == kind) + 1
        word = self.rng.choice(ITEM_WORDS[kind])
        item = m.Item(
            id=f"{prefix}_c{co.index}_{n}",
            kind=kind,  # type: ignore[arg-type]
            name=f"{word} {co.index}-{n}",
            price=Decimal(self.rng.randint(1500, 12000)) / 100,
        )
        co.items[item.id] = item
        return item

    def _line(self, co: m.Company, item: m.Item | None = None) -> m.Line:
        item = item or self.rng.choice(list(co.items.values()))
        quantity = Decimal(self.rng.choice(("1", "1", "2", "3", "0.5", "1.25")))
        return m.Line(item, quantity, item.price)

    def _new_invoice(self, co: m.Company, cust: m.Customer, must_sell: m.Item | None) -> m.Invoice:
        lines = [self._line(co) for _ in range(self.rng.randint(1, 3))]
        if must_sell is not None:
            lines.append(self._line(co, must_sell))
        invoice_id = self._id(co, "inv")
        invoice = m.Invoice(invoice_id, f"{co.index}-{self._serial}", cust.id, lines)
        cust.invoices[invoice.id] = invoice
        return invoice

    def _part(self, whole: Decimal) -> Decimal:
        """A part of `whole` (20–80 %), at least a cent, less than the whole when it can be."""
        part = (whole * Decimal(self.rng.randint(20, 80)) / 100).quantize(CENT)
        return max(CENT, min(part, whole - CENT)) if whole > CENT else whole

    def _refund_json(self, refund_id: str, amount: Decimal) -> dict[str, Any]:
        return {
            "id": refund_id,
            "amount": money(amount),
            "reason": "Chaos refund",
            "refunded_on": self.today,
        }


def customer_json(cust: m.Customer) -> dict[str, Any]:
    return {
        "id": cust.id,
        "first_name": cust.first_name,
        "last_name": cust.last_name,
        "display_as_company": False,
        "email": cust.email,
        "phone": cust.phone,
        "billing_address": {
            "line1": f"{len(cust.id) * 37} Pool Lane",
            "city": "Phoenix",
            "state": "AZ",
            "postal_code": "85001",
        },
        "active": True,
    }


def item_json(item: m.Item) -> dict[str, Any]:
    return {
        "id": item.id,
        "name": item.name,
        "unit_price": money(item.price),
        "active": True,
        "kind": "service" if item.kind == "work_order_type" else "non_inventory",
    }


def invoice_json(invoice: m.Invoice, today: str, now: str) -> dict[str, Any]:
    return {
        "id": invoice.id,
        "number": invoice.number,
        "customer_id": invoice.customer_id,
        "issued_on": today,
        "created_at": now,
        "lines": [
            {
                "item_id": line.item.id,
                "item_type": line.item.kind,
                "item": item_json(line.item),
                "description": line.item.name,
                "quantity": str(line.quantity),
                "unit_price": money(line.unit_price),
                "amount": money(line.amount),
            }
            for line in invoice.lines
        ],
        "total": money(invoice.total),
        "amount_due": money(invoice.amount_due),
    }
