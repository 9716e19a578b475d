"""Billing events reach QBO exactly once, in order, to the cent (real dev server + sandbox)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import (
    billing_event,
    credit,
    customer,
    invoice,
    new_id,
    payment_recorded,
    refund,
)

pytestmark = pytest.mark.usefixtures("worker")


def paid(
    company: Company, cid: str, iid: str, pid: str, amount: str, **invoice_args: Any
) -> BillingEvent:
    return payment_recorded(company.company_id, cid, iid, pid, amount, **invoice_args)


async def test_payment_creates_customer_items_invoice_and_payment_to_the_cent(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    status = await run_event(dispatcher, paid(company, cid, iid, pid, "120.00", number="1043"))
    assert status.message == "Payment $120.00 on invoice 1043 applied in QuickBooks"

    qbo_invoice = await books.invoice(iid)
    assert (qbo_invoice.TotalAmt, qbo_invoice.Balance, qbo_invoice.DocNumber) == (
        Decimal("120.00"),
        Decimal("0"),
        "1043",
    )
    lines = [x for x in qbo_invoice.Line or [] if x.SalesItemLineDetail]
    assert [(x.Amount, x.SalesItemLineDetail.Qty) for x in lines if x.SalesItemLineDetail] == [
        (Decimal("60.00"), Decimal("2")),
        (Decimal("60.00"), Decimal("1")),
    ]
    qbo_payment = await books.qbo.read(
        company.realm_id, q.Payment, await books.qbo_id("payment", pid)
    )
    assert qbo_payment.TotalAmt == Decimal("120.00") and qbo_payment.UnappliedAmt == 0
    assert qbo_payment.DepositToAccountRef and (
        qbo_payment.DepositToAccountRef.value == company.accounts["Undeposited Funds"]
    )
    assert await books.customer_balance(cid) == 0
    (entry,) = await store.list_activity(company.company_id)
    assert (entry.record_type, entry.record_id, entry.outcome, entry.qbo_type) == (
        "payment",
        pid,
        "success",
        "Payment",
    )


async def test_partial_payments_and_several_on_one_invoice(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "50.00", amount_due="70.00"))
    invoice_after_first = await books.invoice(iid)
    assert invoice_after_first.Balance == Decimal("70.00")
    assert await books.customer_balance(cid) == Decimal("70.00")
    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "70.00", amount_due="0.00"))
    assert (await books.invoice(iid)).Balance == 0
    assert await books.count(q.Payment) == 2 and await books.count(q.Invoice) == 1


async def test_deleted_payment_in_skimmer_reopens_the_invoice_in_qbo(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    status = await run_event(
        dispatcher,
        billing_event(
            company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": iid}
        ),
    )
    assert status.message == "Payment $120.00 deleted in QuickBooks; its invoice is due again"
    assert (await books.invoice(iid)).Balance == Decimal("120.00")
    assert await books.count(q.Payment) == 0
    assert await books.customer_balance(cid) == Decimal("120.00")


async def test_voided_payment_reopens_the_invoice(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    await run_event(
        dispatcher,
        billing_event(company.company_id, "payment.voided", {"payment_id": pid, "invoice_id": iid}),
    )
    assert (await books.invoice(iid)).Balance == Decimal("120.00")
    voided = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("payment", pid))
    assert voided.TotalAmt == 0 and (voided.PrivateNote or "").startswith("Voided")


async def test_refunded_payment_is_a_refund_receipt_from_the_refund_account(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid, pid, rid = new_id("cust"), new_id("inv"), new_id("pay"), new_id("ref")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "payment.refunded",
            {"payment_id": pid, "refund": refund(rid, "20.00")},
        ),
    )
    receipt = await books.qbo.read(
        company.realm_id, q.RefundReceipt, await books.qbo_id("refund", rid)
    )
    assert receipt.TotalAmt == Decimal("20.00")
    assert (
        receipt.DepositToAccountRef
        and receipt.DepositToAccountRef.value == company.accounts["Checking"]
    )
    assert (await books.invoice(iid)).Balance == 0  # the invoice stays paid
    assert await books.customer_balance(cid) == 0


async def test_account_credit_applied_then_refunded_in_part_and_in_full(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    status = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.recorded",
            {"credit": credit(crid, cid, "100.00"), "customer": customer(cid)},
        ),
    )
    assert status.message == "Account credit $100.00 recorded in QuickBooks as an unapplied payment"
    unapplied = await books.qbo.read(
        company.realm_id, q.Payment, await books.qbo_id("credit", crid)
    )
    assert (unapplied.TotalAmt, unapplied.UnappliedAmt, unapplied.Line or []) == (
        Decimal("100.00"),
        Decimal("100.00"),
        [],
    )
    assert await books.customer_balance(cid) == Decimal("-100.00")

    await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.applied",
            {
                "credit_id": crid,
                "invoice": invoice(iid, cid, lines=[("prod_net", "1", "30.00")], amount_due="0.00"),
                "customer": customer(cid),
                "amount": "30.00",
            },
        ),
    )
    assert (await books.invoice(iid)).Balance == 0
    assert await books.customer_balance(cid) == Decimal("-70.00")

    partial = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.refunded",
            {"credit_id": crid, "refund": refund(new_id("ref"), "20.00")},
        ),
    )
    assert (
        partial.message == "Credit refund $20.00 recorded in QuickBooks; $50.00 of credit remains"
    )
    assert await books.customer_balance(cid) == Decimal("-50.00")
    full = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.refunded",
            {"credit_id": crid, "refund": refund(new_id("ref"), "50.00")},
        ),
    )
    assert full.message == "Credit refund $50.00 recorded in QuickBooks; the credit is used up"
    consumed = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))
    assert consumed.UnappliedAmt == 0
    assert await books.customer_balance(cid) == 0
    assert await books.count(q.JournalEntry) == 2


async def test_invoice_edited_after_sync_matches_again_and_unpaid_ones_stay_in_skimmer(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    unpaid = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "invoice.saved",
            {"invoice": invoice(new_id("inv"), cid, number="2001")},
        ),
    )
    assert unpaid.message == "Invoice 2001 not sent: unpaid invoices stay in Skimmer"
    assert await books.count(q.Invoice) == 0

    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "50.00", amount_due="70.00"))
    edited = invoice(
        iid,
        cid,
        lines=[("prod_chlorine", "3", "30.00"), ("wot_weekly", "1", "60.00")],
        amount_due="100.00",
    )
    await run_event(
        dispatcher, billing_event(company.company_id, "invoice.saved", {"invoice": edited})
    )
    qbo_invoice = await books.invoice(iid)
    assert (qbo_invoice.TotalAmt, qbo_invoice.Balance) == (Decimal("150.00"), Decimal("100.00"))


async def test_invoice_created_before_sync_start_is_never_sent(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    event = paid(company, cid, iid, new_id("pay"), "120.00", created_at="2020-01-01T00:00:00Z")
    status = await run_event(dispatcher, event)
    assert (
        status.message is not None
        and "created before QuickBooks sync was switched on" in status.message
    )
    assert await books.count(q.Invoice) == 0 and await books.count(q.Payment) == 0
