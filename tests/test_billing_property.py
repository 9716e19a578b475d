"""Random sequences of billing events for a few customers (payments, credits, refunds, invoices
voided or deleted, card payouts, invoices with sales tax in manual or AST companies): afterwards every
QBO invoice balance, unapplied amount, customer balance, payout deposit and Undeposited Funds equals
what Skimmer's own bookkeeping says."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st

from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, payment, refund, wait_done
from tests.payout_helpers import balance, turn_on_payout_sync

pytestmark = pytest.mark.usefixtures("worker")

CUSTOMERS = ["c1", "c2"]
# Each invoice's two line amounts (before tax); which lines are taxable is drawn per example.
INVOICE_LINES = {"i1": ("60.00", "30.00"), "i2": ("30.25", "15.25"), "i3": ("99.99", "20.01")}
INVOICE_OWNER = {"i1": "c1", "i2": "c1", "i3": "c2"}
# Named rates as an AZ pool company charges them; one name, one rate, across every invoice.
RATES = {"AZ State": Decimal("5.6"), "Phoenix": Decimal("2.3"), "Maricopa": Decimal("0.7")}
CENT = Decimal("0.01")


@dataclass(frozen=True)
class SkimmerInvoice:
    """An invoice as Skimmer bills it: each rate's tax rounded on its own, half up."""

    lines: tuple[tuple[Decimal, bool], ...]  # (amount, taxable)
    rates: tuple[str, ...]

    @property
    def taxable_amount(self) -> Decimal:
        return sum((amount for amount, taxable in self.lines if taxable), Decimal(0))

    def tax(self, name: str) -> Decimal:
        return (self.taxable_amount * RATES[name] / 100).quantize(CENT, rounding=ROUND_HALF_UP)

    @property
    def total_tax(self) -> Decimal:
        return sum((self.tax(name) for name in self.rates), Decimal(0))

    @property
    def total(self) -> Decimal:
        return sum((amount for amount, _ in self.lines), Decimal(0)) + self.total_tax


@dataclass
class Skimmer:
    """What Skimmer Billing knows; every operation it emits is valid for it."""

    payments: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # id → invoice, amount
    credits: dict[str, tuple[str, Decimal]] = field(default_factory=dict)  # id → customer, amount
    applied: dict[str, list[tuple[str, Decimal]]] = field(
        default_factory=dict
    )  # credit → (invoice, amt)
    refunded: dict[str, Decimal] = field(default_factory=dict)  # credit → refunded
    in_qbo: set[str] = field(default_factory=set)  # invoices QBO knows
    ended: dict[str, str] = field(default_factory=dict)  # invoice → "voided" | "deleted"
    cards: set[str] = field(default_factory=set)  # card payments (only these are paid out)
    payouts: dict[str, tuple[list[str], Decimal]] = field(
        default_factory=dict
    )  # id → payments, fee
    invoices: dict[str, SkimmerInvoice] = field(default_factory=dict)
    automated_sales_tax: bool = False  # the QBO company's tax mode (AST or manual)

    def end_invoice(self, iid: str, how: str) -> None:
        """Skimmer voids or deletes it: its payments go, credits applied to it come back."""
        self.payments = {p: (i, a) for p, (i, a) in self.payments.items() if i != iid}
        self.applied = {
            c: [(i, a) for i, a in apps if i != iid] for c, apps in self.applied.items()
        }
        self.in_qbo.discard(iid)
        self.ended[iid] = how

    def deposited(self) -> set[str]:
        return {p for pids, _ in self.payouts.values() for p in pids}

    def removable_payments(self) -> list[str]:
        """QBO refuses to delete or void a payment a deposit holds: Skimmer never asks it to."""
        return sorted(set(self.payments) - self.deposited())

    def removable_invoices(self) -> list[str]:
        """Ending an invoice ends its payments, so not one with a paid-out payment."""
        held = {self.payments[p][0] for p in self.deposited()}
        return sorted(self.in_qbo - held)

    def undeposited_cards(self) -> list[str]:
        return sorted((self.cards & set(self.payments)) - self.deposited())

    def payout_gross(self, poid: str) -> Decimal:
        return sum((self.payments[p][1] for p in self.payouts[poid][0]), Decimal(0))

    def undeposited_funds(self) -> Decimal:
        """Live payments not yet paid out, and every credit (refunds are paid from Checking)."""
        waiting = sum(
            (a for p, (_, a) in self.payments.items() if p not in self.deposited()), Decimal(0)
        )
        return waiting + sum((a for _, a in self.credits.values()), Decimal(0))

    def open_invoices(self) -> list[str]:
        return sorted(i for i in self.invoices if i not in self.ended and self.invoice_open(i) > 0)

    def invoice_open(self, iid: str) -> Decimal:
        paid = sum((a for i, a in self.payments.values() if i == iid), Decimal(0))
        credited = sum(
            (a for apps in self.applied.values() for i, a in apps if i == iid), Decimal(0)
        )
        return self.invoices[iid].total - paid - credited

    def credit_left(self, crid: str) -> Decimal:
        used = sum((a for _, a in self.applied.get(crid, [])), Decimal(0))
        return self.credits[crid][1] - used - self.refunded.get(crid, Decimal(0))

    def customer_balance(self, cid: str) -> Decimal:
        owed = sum(
            (self.invoice_open(i) for i in self.in_qbo if INVOICE_OWNER[i] == cid), Decimal(0)
        )
        credit_left = sum(
            (self.credit_left(c) for c, (who, _) in self.credits.items() if who == cid), Decimal(0)
        )
        return owed - credit_left


def cents(draw: st.DrawFn, low: Decimal, high: Decimal) -> Decimal:
    n = draw(st.integers(int(low * 100), int(high * 100)))
    return Decimal(n) / 100


def plan(draw: st.DrawFn, steps: int) -> list[tuple[str, dict[str, Any]]]:
    """A random but valid sequence of billing events, tracked in a Skimmer model."""
    model = Skimmer(automated_sales_tax=draw(st.booleans()))
    for iid, amounts in INVOICE_LINES.items():
        rates = tuple(draw(st.lists(st.sampled_from(sorted(RATES)), max_size=2, unique=True)))
        taxable = [draw(st.booleans()) for _ in amounts] if rates else [False] * len(amounts)
        if rates and not any(taxable):
            taxable[0] = True  # a taxed invoice taxes something
        model.invoices[iid] = SkimmerInvoice(
            tuple((Decimal(a), t) for a, t in zip(amounts, taxable, strict=True)), rates
        )
    events: list[tuple[str, dict[str, Any]]] = []
    for n in range(steps):
        options = ["pay", "pay", "credit"]  # payments twice as likely: payouts need them
        if model.removable_payments():
            options += ["delete", "void"]
        if any(model.credit_left(c) > 0 for c in model.credits):
            options += ["apply", "refund_credit"]
        if model.removable_invoices():
            options += ["void_invoice", "delete_invoice"]
        if model.undeposited_cards():
            options += ["payout"] * 3  # weighted: most runs then pay something out
        action = draw(st.sampled_from(options))
        if action == "pay":
            iid = draw(st.sampled_from(model.open_invoices() or ["none"]))
            if iid == "none":
                continue
            amount = cents(draw, Decimal("0.01"), model.invoice_open(iid))
            pid = f"p{n}"
            cid = INVOICE_OWNER[iid]
            model.payments[pid] = (iid, amount)
            model.in_qbo.add(iid)
            # Card payments are voided with their invoice, checks deleted.
            method = draw(st.sampled_from(["card", "check"]))
            if method == "card":
                model.cards.add(pid)
            events.append(
                (
                    "payment.recorded",
                    {
                        "payment": payment(pid, iid, cid, str(amount), method=method),
                        "invoice": the_invoice(iid, model),
                        "customer": person(cid),
                    },
                )
            )
        elif action in ("delete", "void"):
            pid = draw(st.sampled_from(model.removable_payments()))
            iid, _ = model.payments.pop(pid)
            events.append(
                (
                    f"payment.{'deleted' if action == 'delete' else 'voided'}",
                    {"payment_id": pid, "invoice_id": iid},
                )
            )
        elif action in ("void_invoice", "delete_invoice"):
            iid = draw(st.sampled_from(model.removable_invoices()))
            how = "voided" if action == "void_invoice" else "deleted"
            model.end_invoice(iid, how)
            events.append((f"invoice.{how}", {"invoice_id": iid}))
        elif action == "payout":
            pids = draw(
                st.lists(st.sampled_from(model.undeposited_cards()), min_size=1, unique=True)
            )
            events.append(pay_out(draw, model, f"po{n}", pids))
        elif action == "credit":
            cid = draw(st.sampled_from(CUSTOMERS))
            amount = cents(draw, Decimal("1.00"), Decimal("80.00"))
            model.credits[f"cr{n}"] = (cid, amount)
            events.append(
                (
                    "credit.recorded",
                    {"credit": credit(f"cr{n}", cid, str(amount)), "customer": person(cid)},
                )
            )
        else:
            crid = draw(
                st.sampled_from(sorted(c for c in model.credits if model.credit_left(c) > 0))
            )
            cid = model.credits[crid][0]
            if action == "apply":
                targets = [i for i in model.open_invoices() if INVOICE_OWNER[i] == cid]
                if not targets:
                    continue
                iid = draw(st.sampled_from(targets))
                amount = cents(
                    draw, Decimal("0.01"), min(model.credit_left(crid), model.invoice_open(iid))
                )
                model.applied.setdefault(crid, []).append((iid, amount))
                model.in_qbo.add(iid)
                events.append(
                    (
                        "credit.applied",
                        {
                            "credit_id": crid,
                            "invoice": the_invoice(iid, model),
                            "customer": person(cid),
                            "amount": str(amount),
                        },
                    )
                )
            else:
                amount = cents(draw, Decimal("0.01"), model.credit_left(crid))
                model.refunded[crid] = model.refunded.get(crid, Decimal(0)) + amount
                events.append(
                    (
                        "credit.refunded",
                        {"credit_id": crid, "refund": refund(f"rf{n}", str(amount))},
                    )
                )
    # Often Stripe then pays out whatever card money is still waiting.
    last_payout: bool = draw(st.booleans())
    if model.undeposited_cards() and last_payout:
        events.append(pay_out(draw, model, "po_last", model.undeposited_cards()))
    events.append(("__model__", {"model": model}))
    return events


def pay_out(
    draw: st.DrawFn, model: Skimmer, poid: str, pids: list[str]
) -> tuple[str, dict[str, Any]]:
    """A Stripe payout of these card payments, less a fee that leaves a positive net."""
    gross = sum((model.payments[p][1] for p in pids), Decimal(0))
    fee = cents(draw, Decimal("0.00"), min(Decimal("5.00"), gross - Decimal("0.01")))
    model.payouts[poid] = (pids, fee)
    payout = {
        "id": poid, "arrived_on": "2030-01-06", "gross": str(gross), "fees": str(fee),
        "net": str(gross - fee), "payment_ids": pids,
    }  # fmt: skip
    return "payout.paid", {"payout": payout}


def person(cid: str) -> dict[str, Any]:
    """Distinct people: the same name and email would (rightly) match one QBO customer."""
    return customer(cid, first=cid.upper(), email=f"{cid}@example.com")


def the_invoice(iid: str, model: Skimmer) -> dict[str, Any]:
    billed = model.invoices[iid]
    body = invoice(
        iid,
        INVOICE_OWNER[iid],
        lines=[("prod_x", "1", str(amount)) for amount, _ in billed.lines],
        amount_due=str(model.invoice_open(iid)),
    )
    if not billed.rates:
        return body
    for line, (_, taxable) in zip(body["lines"], billed.lines, strict=True):
        line["taxable"] = taxable
    taxes = [
        {
            "name": name,
            "rate_percent": str(RATES[name]),
            "taxable_amount": str(billed.taxable_amount),
            "amount": str(billed.tax(name)),
        }
        for name in billed.rates
    ]
    return body | {"subtotal": body["total"], "taxes": taxes, "total": str(billed.total)}


async def new_company(sandbox_url: str, store: Store, http: httpx.AsyncClient) -> Company:
    reply = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    company_id = f"co_{uuid.uuid4().hex[:10]}"
    await store.save_connection(
        company_id, reply["realm_id"], reply["access_token"], reply["refresh_token"], 3600
    )
    accounts = {a["Name"]: a["Id"] for a in reply["accounts"]}
    await store.update_settings(
        company_id,
        income_account_id=accounts["Sales of Product Income"],
        deposit_account_id=accounts["Undeposited Funds"],
        refund_account_id=accounts["Checking"],
        sync_enabled=True,
    )
    return Company(company_id, reply["realm_id"], accounts)


# No shrinking: every example drives the real stack; a failure prints its whole sequence instead.
# BILLING_EXAMPLES=40 for a longer run than CI's.
@settings(
    max_examples=int(os.environ.get("BILLING_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(data=st.data())
async def test_random_billing_sequences_keep_qbo_equal_to_skimmer(
    data: st.DataObject,
    dispatcher: EventDispatcher,
    qbo: QBOClient,
    store: Store,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    steps = data.draw(st.integers(3, 9), label="steps")
    events = data.draw(
        st.builds(lambda: None).flatmap(lambda _: st.composite(lambda d: plan(d, steps))())
    )
    model: Skimmer = events.pop()[1]["model"]
    print(
        "PAYOUTS",
        {k: (v[0], str(v[1])) for k, v in model.payouts.items()},
        "UF",
        model.undeposited_funds(),
        "credits",
        len(model.credits),
    )
    note(f"automated sales tax: {model.automated_sales_tax}, invoices: {model.invoices}")
    for type_, body in events:
        note(f"{type_}: {body}")
    company = await new_company(sandbox_url, store, http)
    if model.automated_sales_tax:
        url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}/settings"
        assert (await http.put(url, json={"automated_sales_tax": True})).status_code == 200
    payouts = await turn_on_payout_sync(http, sandbox_url, store, company)
    books = Books(qbo, store, company)
    undeposited = company.accounts["Undeposited Funds"]
    undeposited_before = await balance(books, undeposited)
    sent = [billing_event(company.company_id, type_, body) for type_, body in events]
    for event in sent:
        await dispatcher.submit(event)
    for event in sent:
        status = await wait_done(dispatcher, event.event_id)
        assert status.status == "completed", (event.type, status.message)

    for iid in sorted(model.in_qbo):
        qbo_invoice = await books.invoice(iid)
        assert qbo_invoice.Balance == model.invoice_open(iid), iid
        assert qbo_invoice.TotalAmt == model.invoices[iid].total, iid
        qbo_tax = qbo_invoice.TxnTaxDetail.TotalTax if qbo_invoice.TxnTaxDetail else None
        assert (qbo_tax or Decimal(0)) == model.invoices[iid].total_tax, iid
    for iid, how in model.ended.items():
        if how == "voided":
            assert (await books.invoice(iid)).TotalAmt == 0, iid
        else:
            link = await store.get_link(company.company_id, company.realm_id, "invoice", iid)
            assert link is None, iid
    for crid in model.credits:
        unapplied = await qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))
        assert unapplied.UnappliedAmt == model.credit_left(crid), crid
    for cid in {INVOICE_OWNER[i] for i in [*model.in_qbo, *model.ended]} | {
        who for who, _ in model.credits.values()
    }:
        assert await books.customer_balance(cid) == model.customer_balance(cid), cid
    for poid, (pids, fee) in model.payouts.items():
        deposit = await qbo.read(company.realm_id, q.Deposit, await books.qbo_id("payout", poid))
        assert deposit.TotalAmt == model.payout_gross(poid) - fee, poid
        linked = sorted(
            (link.TxnId, line.Amount)
            for line in deposit.Line or []
            for link in line.LinkedTxn or []
        )
        assert linked == sorted(
            [(await books.qbo_id("payment", p), model.payments[p][1]) for p in pids]
        ), poid
        fee_lines = [
            (line.Amount, line.DepositLineDetail.AccountRef.value)
            for line in deposit.Line or []
            if line.DepositLineDetail and line.DepositLineDetail.AccountRef
        ]
        assert fee_lines == ([(-fee, payouts.fees)] if fee else []), poid
    assert await balance(books, payouts.bank) == sum(
        (model.payout_gross(po) - fee for po, (_, fee) in model.payouts.items()), Decimal(0)
    )
    assert await balance(books, undeposited) == undeposited_before + model.undeposited_funds()
