"""Random sequences of billing events for a few customers (payments, credits, refunds, invoices
voided or deleted, card payouts): afterwards every QBO invoice balance, unapplied amount, customer
balance, payout deposit and Undeposited Funds equals what Skimmer's own bookkeeping says."""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
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
INVOICE_TOTALS = {"i1": Decimal("90.00"), "i2": Decimal("45.50"), "i3": Decimal("120.00")}
INVOICE_OWNER = {"i1": "c1", "i2": "c1", "i3": "c2"}


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
        return sorted(i for i in INVOICE_TOTALS if i not in self.ended and self.invoice_open(i) > 0)

    def invoice_open(self, iid: str) -> Decimal:
        paid = sum((a for i, a in self.payments.values() if i == iid), Decimal(0))
        credited = sum(
            (a for apps in self.applied.values() for i, a in apps if i == iid), Decimal(0)
        )
        return INVOICE_TOTALS[iid] - paid - credited

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
    model = Skimmer()
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
    total = INVOICE_TOTALS[iid]
    return invoice(
        iid,
        INVOICE_OWNER[iid],
        lines=[("prod_x", "1", str(total))],
        amount_due=str(model.invoice_open(iid)),
    )


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
    for type_, body in events:
        note(f"{type_}: {body}")
    company = await new_company(sandbox_url, store, http)
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
        assert (await books.invoice(iid)).Balance == model.invoice_open(iid), iid
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
