"""Compare each company's QBO (read back through the production client) with the model of Skimmer.

Four counts: `lost` (a record or an accepted event that never arrived), `doubled` (a record in QBO
more than once), `wrong_balance` (an amount, balance or payment state that differs from Skimmer)
and `failed` (an event whose final status is `failed`).
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Literal, TypeVar

from devstack.chaos import model as m
from qbo import QBOClient
from qbo import models as q

Kind = Literal["lost", "doubled", "wrong_balance", "failed"]
KINDS: tuple[Kind, ...] = ("lost", "doubled", "wrong_balance", "failed")
REFUND_ITEM_NAME = "Skimmer refund"

PAYMENT_NOTE = re.compile(r"Skimmer payment (\S+) \(")
CREDIT_NOTE = re.compile(r"Skimmer account credit (\S+) \(")
INVOICE_NOTE = re.compile(r"Skimmer invoice (\S+)")
REFUND_NOTE = re.compile(r"Skimmer refund (\S+) of (?:payment|account credit) (\S+)")
Add = Callable[[Kind, str], None]
T = TypeVar("T", bound=q.Transaction)
NUMBERED = re.compile(r"^(.*) \((\d+)\)$")  # "Chlorine tabs 1-7 (2)": a disambiguated copy


@dataclass
class Discrepancy:
    kind: Kind
    company_id: str
    what: str

    def __str__(self) -> str:
        return f"{self.kind:<13} {self.company_id}: {self.what}"


@dataclass
class Findings:
    items: list[Discrepancy] = field(default_factory=list)

    def add(self, kind: Kind, company_id: str, what: str) -> None:
        self.items.append(Discrepancy(kind, company_id, what))

    def count(self, kind: Kind) -> int:
        return sum(1 for d in self.items if d.kind == kind)

    @property
    def summary(self) -> str:
        return " ".join(f"{kind}={self.count(kind)}" for kind in KINDS)

    @property
    def clean(self) -> bool:
        return not self.items


def check_events(findings: Findings, statuses: dict[str, tuple[str, str, str | None]]) -> None:
    """statuses: event id -> (company id, final status or what was seen last, message)."""
    for event_id, (company_id, status, message) in sorted(statuses.items()):
        if status == "failed":
            findings.add("failed", company_id, f"event {event_id} failed: {message}")
        elif status != "completed":
            findings.add("lost", company_id, f"event {event_id} never finished: {status}")


async def check_company(qbo: QBOClient, co: m.Company, findings: Findings) -> None:
    """Every payment, credit, refund, invoice, customer and item of `co` against its QBO realm."""
    realm = co.realm_id
    customers = [c async for c in qbo.query_all(realm, q.Customer)]
    items = [i async for i in qbo.query_all(realm, q.Item)]
    invoices = [i async for i in qbo.query_all(realm, q.Invoice)]
    payments = [p async for p in qbo.query_all(realm, q.Payment)]
    refunds: list[q.Transaction] = [r async for r in qbo.query_all(realm, q.RefundReceipt)]
    refunds += [j async for j in qbo.query_all(realm, q.JournalEntry)]

    def add(kind: Kind, what: str) -> None:
        findings.add(kind, co.company_id, what)

    item_names = {i.name for i in co.items.values() if i.id in co.items_sent}
    _check_names(add, "item", [i.Name or "" for i in items], item_names | {REFUND_ITEM_NAME},
                 optional={REFUND_ITEM_NAME})  # fmt: skip
    customer_names = {c.display_name for c in co.customers.values()}
    by_name = _check_names(add, "customer", [c.DisplayName or "" for c in customers],
                           customer_names, optional=set())  # fmt: skip
    customer_by_name = {c.DisplayName: c for c in customers}
    invoice_qbo = _one_each(add, "invoice", invoices, INVOICE_NOTE)
    payment_qbo = _one_each(add, "payment", payments, PAYMENT_NOTE)
    credit_qbo = _one_each(add, "credit", payments, CREDIT_NOTE)
    refund_qbo = _one_each(add, "refund", refunds, REFUND_NOTE)
    invoice_ids = {qid: sid for sid, txn in invoice_qbo.items() if (qid := txn.Id)}

    for cust in co.customers.values():
        found = customer_by_name.get(cust.display_name)
        if found is not None and by_name.get(cust.display_name) == 1:
            balance = found.Balance or Decimal(0)
            if balance != cust.balance:
                add(
                    "wrong_balance",
                    f"customer {cust.id} balance {balance} in QBO, {cust.balance} in Skimmer",
                )
        for invoice in cust.invoices.values():
            _check_invoice(add, invoice, invoice_qbo.get(invoice.id))
        for payment in cust.payments.values():
            _check_payment(add, payment, payment_qbo.get(payment.id), invoice_ids)
            for refund_id, amount in payment.refunds.items():
                _check_refund(add, refund_id, amount, refund_qbo.get(refund_id))
        for credit in cust.credits.values():
            _check_credit(add, credit, credit_qbo.get(credit.id), invoice_ids)
            for refund_id, amount in credit.refunds.items():
                _check_refund(add, refund_id, amount, refund_qbo.get(refund_id))
    expected = {
        "invoice": {i.id for c in co.customers.values() for i in c.invoices.values() if i.in_qbo},
        "payment": {p.id for c in co.customers.values() for p in c.payments.values()
                    if p.state != "deleted"},
        "credit": {x.id for c in co.customers.values() for x in c.credits.values()},
    }  # fmt: skip
    for kind, seen in (("invoice", invoice_qbo), ("payment", payment_qbo), ("credit", credit_qbo)):
        for stray in sorted(set(seen) - expected[kind]):
            if kind == "payment" and any(stray in c.payments for c in co.customers.values()):
                add(
                    "wrong_balance",
                    f"payment {stray} was deleted in Skimmer but is still in QBO (Id {seen[stray].Id})",
                )
            else:
                add("doubled", f"{kind} {stray} is in QBO but Skimmer never sent it")


def _check_names(
    add: Add, kind: str, names: list[str], expected: set[str], optional: set[str]
) -> dict[str, int]:
    """Each expected name exactly once; "name (2)" copies of it count as doubles."""
    counts: dict[str, int] = defaultdict(int)
    for name in names:
        plain = name.removesuffix(" (deleted)")
        numbered = NUMBERED.match(plain)
        base = numbered.group(1) if numbered and numbered.group(1) in expected else plain
        counts[base] += 1
    for name in sorted(expected):
        if counts[name] == 0 and name not in optional:
            add("lost", f"{kind} {name!r} is not in QBO")
        elif counts[name] > 1:
            copies = [n for n in names if n == name or n.startswith(f"{name} (")]
            add("doubled", f"{kind} {name!r} is in QBO {counts[name]} times: {copies}")
    return counts


def _one_each(add: Add, kind: str, txns: Sequence[T], note: re.Pattern[str]) -> dict[str, T]:
    """Skimmer id -> its one QBO transaction (found by PrivateNote); doubles are reported."""
    by_id: dict[str, list[T]] = defaultdict(list)
    for txn in txns:
        found = note.search(txn.PrivateNote or "")
        if found:
            by_id[found.group(1)].append(txn)
    for skimmer_id, copies in sorted(by_id.items()):
        if len(copies) > 1:
            ids = ", ".join(str(c.Id) for c in copies)
            add("doubled", f"{kind} {skimmer_id} is in QBO {len(copies)} times (Ids {ids})")
    return {skimmer_id: copies[0] for skimmer_id, copies in by_id.items()}


def _check_invoice(add: Add, invoice: m.Invoice, found: q.Invoice | None) -> None:
    if not invoice.in_qbo:
        if found is not None:
            add("doubled", f"invoice {invoice.id} is unpaid in Skimmer but in QBO (Id {found.Id})")
        return
    if found is None:
        add("lost", f"invoice {invoice.id} is not in QBO")
        return
    if (found.TotalAmt, found.Balance) != (invoice.total, invoice.amount_due):
        add("wrong_balance", f"invoice {invoice.id} (Id {found.Id}) total/balance "
            f"{found.TotalAmt}/{found.Balance} in QBO, {invoice.total}/{invoice.amount_due} in Skimmer")  # fmt: skip


def _check_payment(
    add: Add, payment: m.Payment, found: q.Payment | None, invoice_ids: dict[str, str]
) -> None:
    if payment.state == "deleted":
        return  # a deleted payment still in QBO is reported as a stray
    if found is None:
        add("lost", f"payment {payment.id} ({payment.state}) is not in QBO")
        return
    voided = (found.PrivateNote or "").startswith("Voided")
    if payment.state == "voided":
        if not voided or found.TotalAmt:
            add("wrong_balance", f"payment {payment.id} (Id {found.Id}) is voided in Skimmer, "
                f"not in QBO (TotalAmt {found.TotalAmt})")  # fmt: skip
        return
    paid = {invoice_ids.get(link.TxnId, f"QBO {link.TxnId}"): line.Amount for line in found.Line or []
            for link in line.LinkedTxn or []}  # fmt: skip
    if voided or found.TotalAmt != payment.amount or paid != {payment.invoice_id: payment.amount}:
        add("wrong_balance", f"payment {payment.id} (Id {found.Id}) is {found.TotalAmt} on {paid} "
            f"{'(voided) ' if voided else ''}in QBO, {payment.amount} on {payment.invoice_id} in Skimmer")  # fmt: skip


def _check_credit(
    add: Add, credit: m.Credit, found: q.Payment | None, invoice_ids: dict[str, str]
) -> None:
    if found is None:
        add("lost", f"credit {credit.id} is not in QBO")
        return
    applied: dict[str, Decimal] = defaultdict(Decimal)
    for line in found.Line or []:
        for link in line.LinkedTxn or []:
            if link.TxnType == "Invoice":
                applied[invoice_ids.get(link.TxnId, f"QBO {link.TxnId}")] += line.Amount
    if found.TotalAmt != credit.amount or (found.UnappliedAmt or 0) != credit.remaining:
        add("wrong_balance", f"credit {credit.id} (Id {found.Id}) is {found.TotalAmt} with "
            f"{found.UnappliedAmt} unapplied in QBO, {credit.amount} with {credit.remaining} in Skimmer")  # fmt: skip
    elif dict(applied) != {k: v for k, v in credit.applied.items() if v}:
        add("wrong_balance", f"credit {credit.id} (Id {found.Id}) is applied to {dict(applied)} "
            f"in QBO, to {credit.applied} in Skimmer")  # fmt: skip


def _check_refund(add: Add, refund_id: str, amount: Decimal, found: q.Transaction | None) -> None:
    if found is None:
        add("lost", f"refund {refund_id} is not in QBO")
    elif found.TotalAmt != amount:
        add(
            "wrong_balance",
            f"refund {refund_id} (Id {found.Id}) is {found.TotalAmt} in QBO, {amount} in Skimmer",
        )
