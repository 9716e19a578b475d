"""Random sequences of billing events for a few customers (payments, credits, refunds, invoices
voided or deleted): afterwards every QBO invoice balance, unapplied amount and customer balance
equals what Skimmer's own bookkeeping says."""

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

    def end_invoice(self, iid: str, how: str) -> None:
        """Skimmer voids or deletes it: its payments go, credits applied to it come back."""
        self.payments = {p: (i, a) for p, (i, a) in self.payments.items() if i != iid}
        self.applied = {
            c: [(i, a) for i, a in apps if i != iid] for c, apps in self.applied.items()
        }
        self.in_qbo.discard(iid)
        self.ended[iid] = how

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
        options = ["pay", "credit"]
        if model.payments:
            options += ["delete", "void"]
        if any(model.credit_left(c) > 0 for c in model.credits):
            options += ["apply", "refund_credit"]
        if model.in_qbo:
            options += ["void_invoice", "delete_invoice"]
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
            pid = draw(st.sampled_from(sorted(model.payments)))
            iid, _ = model.payments.pop(pid)
            events.append(
                (
                    f"payment.{'deleted' if action == 'delete' else 'voided'}",
                    {"payment_id": pid, "invoice_id": iid},
                )
            )
        elif action in ("void_invoice", "delete_invoice"):
            iid = draw(st.sampled_from(sorted(model.in_qbo)))
            how = "voided" if action == "void_invoice" else "deleted"
            model.end_invoice(iid, how)
            events.append((f"invoice.{how}", {"invoice_id": iid}))
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
    events.append(("__model__", {"model": model}))
    return events


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
    for type_, body in events:
        note(f"{type_}: {body}")
    company = await new_company(sandbox_url, store, http)
    sent = [billing_event(company.company_id, type_, body) for type_, body in events]
    for event in sent:
        await dispatcher.submit(event)
    for event in sent:
        status = await wait_done(dispatcher, event.event_id)
        assert status.status == "completed", (event.type, status.message)

    books = Books(qbo, store, company)
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
