"""invoice.voided / invoice.deleted: QBO takes the invoice's payments off it first (card and ACH
voided, others deleted, credits unapplied), then voids or deletes the invoice; balances follow."""

from __future__ import annotations

from decimal import Decimal
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest

from billing.events import BillingEvent
from qbo import ObjectNotFoundError
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, new_id, payment

pytestmark = pytest.mark.usefixtures("worker")


def paid(
    c: Company, cid: str, iid: str, pid: str, amount: str, method: str, **invoice_args: Any
) -> BillingEvent:
    return billing_event(
        c.company_id,
        "payment.recorded",
        {
            "payment": payment(pid, iid, cid, amount, method=method),
            "invoice": invoice(iid, cid, number=iid[-8:].upper(), **invoice_args),
            "customer": customer(cid),
        },
    )


def ended(c: Company, how: str, iid: str) -> BillingEvent:
    return billing_event(c.company_id, f"invoice.{how}", {"invoice_id": iid})


async def writes(http: httpx.AsyncClient, sandbox_url: str, realm_id: str) -> list[str]:
    """The QBO writes in the order QBO took them: "<entity> <operation>" ("save": create/update)."""
    log = (await http.get(f"{sandbox_url}/__sandbox/realms/{realm_id}/requests")).json()
    done = [r for r in log["requests"] if r["method"] == "POST" and r["status"] == 200]
    ops = [parse_qs(r["query"]) for r in done]
    return [
        f"{r['path'].rsplit('/', 1)[-1]} {op.get('include', op.get('operation', ['save']))[0]}"
        for r, op in zip(done, ops, strict=True)
    ]


async def test_paid_invoice_voided_voids_its_card_payment_then_the_invoice(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00", "card"))
    number = iid[-8:].upper()

    status = await run_event(dispatcher, ended(company, "voided", iid))

    assert status.message == (
        f"Invoice {number} voided in QuickBooks (first payment $120.00 voided)"
    )
    voided_invoice = await books.invoice(iid)
    assert voided_invoice.TotalAmt == 0 and (voided_invoice.PrivateNote or "").startswith("Voided")
    (voided_payment,) = await books.all(q.Payment)
    assert isinstance(voided_payment, q.Payment) and voided_payment.TotalAmt == 0
    assert (voided_payment.PrivateNote or "").startswith("Voided")
    assert await books.customer_balance(cid) == 0  # Skimmer: nothing owed, nothing paid
    sent = await writes(http, sandbox_url, company.realm_id)
    assert [w for w in sent if w.endswith("void")] == ["payment void", "invoice void"], sent


async def test_partly_paid_invoice_deleted_deletes_its_check_payment_then_the_invoice(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "50.00", "check"))
    invoice_qbo_id = await books.qbo_id("invoice", iid)
    assert await books.customer_balance(cid) == Decimal("70.00")

    status = await run_event(dispatcher, ended(company, "deleted", iid))

    assert status.message is not None and "deleted in QuickBooks" in status.message
    assert "first payment $50.00 deleted" in status.message
    assert await books.count(q.Payment) == 0 and await books.count(q.Invoice) == 0
    with pytest.raises(ObjectNotFoundError):
        await books.qbo.read(company.realm_id, q.Invoice, invoice_qbo_id)
    assert await store.get_link(company.company_id, company.realm_id, "invoice", iid) is None
    assert await store.get_link(company.company_id, company.realm_id, "payment", pid) is None
    assert await books.customer_balance(cid) == 0


async def test_credit_applied_to_a_voided_invoice_is_unapplied_again(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    """Skimmer gives the credit back to the customer's account: QBO's unapplied payment too."""
    cid, iid, crid, pid = new_id("cust"), new_id("inv"), new_id("cr"), new_id("pay")
    co = company.company_id
    the_invoice = invoice(iid, cid, lines=[("prod_net", "1", "90.00")])
    await run_event(
        dispatcher,
        billing_event(
            co,
            "credit.recorded",
            {"credit": credit(crid, cid, "100.00"), "customer": customer(cid)},
        ),
    )
    await run_event(
        dispatcher,
        billing_event(
            co,
            "credit.applied",
            {
                "credit_id": crid,
                "invoice": the_invoice,
                "customer": customer(cid),
                "amount": "30.00",
            },
        ),
    )
    await run_event(
        dispatcher,
        billing_event(
            co,
            "payment.recorded",
            {
                "payment": payment(pid, iid, cid, "60.00", method="cash"),
                "invoice": {**the_invoice, "amount_due": "60.00"},
                "customer": customer(cid),
            },
        ),
    )
    assert await books.customer_balance(cid) == Decimal("-70.00")  # 100 credit, 30 of it used

    status = await run_event(dispatcher, ended(company, "voided", iid))

    assert status.message is not None
    assert "payment $60.00 deleted" in status.message
    assert "credit $30.00 unapplied" in status.message
    unapplied = await books.qbo.read(
        company.realm_id, q.Payment, await books.qbo_id("credit", crid)
    )
    assert unapplied.UnappliedAmt == Decimal("100.00") and not unapplied.Line
    assert (await books.invoice(iid)).TotalAmt == 0
    assert await books.customer_balance(cid) == Decimal("-100.00")  # Skimmer: the whole credit


async def test_invoice_never_synced_is_skipped_in_plain_words(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company
) -> None:
    cid, unpaid, early = new_id("cust"), new_id("inv"), new_id("inv")
    await run_event(
        dispatcher,
        billing_event(company.company_id, "invoice.saved", {"invoice": invoice(unpaid, cid)}),
    )
    created = "2020-01-01T00:00:00Z"  # before the sync start
    await run_event(
        dispatcher, paid(company, cid, early, new_id("pay"), "1", "card", created_at=created)
    )

    for iid, how in [(unpaid, "voided"), (early, "deleted"), (new_id("inv"), "voided")]:
        event = ended(company, how, iid)
        status = await run_event(dispatcher, event)
        assert status.message == (
            f"Invoice {iid} not {how} in QuickBooks: it was never sent there (unpaid, or "
            "created before QuickBooks sync was switched on)"
        )
        (line,) = [
            e for e in await store.list_activity(company.company_id) if e.event_id == event.event_id
        ]
        action = {"voided": "void", "deleted": "delete"}[how]
        assert (line.outcome, line.action, line.record_id) == ("skipped", action, iid)
    assert await books.count(q.Invoice) == 0


async def test_voided_twice_or_deleted_in_quickbooks_already_is_a_clear_no_op(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid, gone = new_id("cust"), new_id("inv"), new_id("inv")
    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "120.00", "ach"))
    await run_event(dispatcher, ended(company, "voided", iid))

    again = await run_event(dispatcher, ended(company, "voided", iid))
    assert again.message == f"Invoice {iid[-8:].upper()} was already voided in QuickBooks"

    # Deleted by hand in QuickBooks (payment first, as QBO insists), then deleted in Skimmer.
    await run_event(dispatcher, paid(company, cid, gone, new_id("pay"), "120.00", "check"))
    realm, by_hand = company.realm_id, await books.invoice(gone)
    (pay,) = [
        p
        for p in await books.all(q.Payment)
        if isinstance(p, q.Payment) and p.TotalAmt == Decimal("120.00")
    ]
    assert pay.Id and pay.SyncToken and by_hand.Id
    await books.qbo.delete(realm, q.Payment, pay.Id, pay.SyncToken, new_id("rq"))
    fresh = await books.qbo.read(realm, q.Invoice, by_hand.Id)
    assert fresh.SyncToken
    await books.qbo.delete(realm, q.Invoice, by_hand.Id, fresh.SyncToken, new_id("rq"))

    status = await run_event(dispatcher, ended(company, "deleted", gone))
    assert status.message == f"Invoice {gone} was already deleted in QuickBooks"
