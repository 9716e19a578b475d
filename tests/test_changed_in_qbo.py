"""Records changed by hand in QBO are states to handle, never endless retries."""

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
from tests.events import billing_event, invoice, new_id, payment_recorded

pytestmark = pytest.mark.usefixtures("worker")


def paid(
    company: Company, cid: str, iid: str, pid: str, amount: str, **invoice_args: Any
) -> BillingEvent:
    return payment_recorded(company.company_id, cid, iid, pid, amount, **invoice_args)


async def test_customer_made_inactive_in_qbo_is_active_again_with_its_next_payment(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid = new_id("cust")
    await run_event(dispatcher, paid(company, cid, new_id("inv"), new_id("pay"), "120.00"))
    qbo_id = await books.qbo_id("customer", cid)
    current = await books.qbo.read(company.realm_id, q.Customer, qbo_id)
    assert current.SyncToken is not None
    await books.qbo.update(
        company.realm_id,
        q.Customer(Id=qbo_id, SyncToken=current.SyncToken, Active=False),
        new_id("req"),
    )

    await run_event(dispatcher, paid(company, cid, new_id("inv"), new_id("pay"), "120.00"))
    again = await books.qbo.read(company.realm_id, q.Customer, qbo_id)
    assert (again.Active, again.DisplayName) == (True, "Jane Smith")
    assert await books.count(q.Customer) == 1


async def test_item_made_inactive_in_qbo_is_active_again_with_its_next_payment(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    # The link says the item is as last written, so the payment sends it nothing; QBO then
    # refuses the invoice's reference to it, and the item is looked at in QBO once.
    cid = new_id("cust")
    await run_event(dispatcher, paid(company, cid, new_id("inv"), new_id("pay"), "120.00"))
    qbo_id = await books.qbo_id("product", "prod_chlorine")
    current = await books.qbo.read(company.realm_id, q.Item, qbo_id)
    assert current.SyncToken is not None and current.Name is not None
    await books.qbo.update(
        company.realm_id,
        q.Item(Id=qbo_id, SyncToken=current.SyncToken, Name=current.Name, Active=False),
        new_id("req"),
    )

    iid = new_id("inv")
    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "120.00"))
    again = await books.qbo.read(company.realm_id, q.Item, qbo_id)
    assert (again.Active, again.Name) == (True, current.Name)
    assert (await books.invoice(iid)).Balance == Decimal("0.00")
    assert await books.count(q.Invoice) == 2


async def test_invoice_deleted_in_qbo_is_recreated_by_the_next_payment_but_not_by_an_edit(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    first = await books.invoice(iid)
    # The bookkeeper deletes the payment and then the invoice in QuickBooks.
    (qbo_payment,) = await books.all(q.Payment)
    assert isinstance(qbo_payment, q.Payment) and qbo_payment.Id and qbo_payment.SyncToken
    await books.qbo.delete(
        company.realm_id, q.Payment, qbo_payment.Id, qbo_payment.SyncToken, new_id("req")
    )
    first = await books.invoice(iid)
    assert first.Id and first.SyncToken
    await books.qbo.delete(company.realm_id, q.Invoice, first.Id, first.SyncToken, new_id("req"))

    # An edit that changes the lines is sent by the link's id, and QBO says it is gone.
    edited = invoice(iid, cid, lines=[("prod_chlorine", "3", "30.00")], amount_due="70.00")
    edit = billing_event(company.company_id, "invoice.saved", {"invoice": edited})
    status = await run_event(dispatcher, edit, expect="failed")
    assert status.message is not None and "was deleted in QuickBooks" in status.message

    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "30.00", amount_due="70.00"))
    recreated = await books.invoice(iid)
    assert recreated.Id != first.Id
    assert (recreated.TotalAmt, recreated.Balance) == (Decimal("120.00"), Decimal("90.00"))


async def test_invoice_deleted_in_qbo_is_recreated_by_a_payment_that_changes_nothing_on_it(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    # The link knows the invoice as last written, so the payment sends it no update: QBO's
    # refusal of the payment says it is gone, and the workflow sends it again first.
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    (qbo_payment,) = await books.all(q.Payment)
    assert isinstance(qbo_payment, q.Payment) and qbo_payment.Id and qbo_payment.SyncToken
    await books.qbo.delete(
        company.realm_id, q.Payment, qbo_payment.Id, qbo_payment.SyncToken, new_id("req")
    )
    first = await books.invoice(iid)
    assert first.Id and first.SyncToken
    await books.qbo.delete(company.realm_id, q.Invoice, first.Id, first.SyncToken, new_id("req"))

    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "30.00", amount_due="70.00"))
    recreated = await books.invoice(iid)
    assert recreated.Id != first.Id
    assert (recreated.TotalAmt, recreated.Balance) == (Decimal("120.00"), Decimal("90.00"))
    assert await books.count(q.Invoice) == 1


async def test_payment_deleted_in_qbo_first_makes_the_skimmer_delete_a_no_op(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    qbo_id = await books.qbo_id("payment", pid)
    current = await books.qbo.read(company.realm_id, q.Payment, qbo_id)
    assert current.SyncToken is not None
    await books.qbo.delete(company.realm_id, q.Payment, qbo_id, current.SyncToken, new_id("req"))

    status = await run_event(
        dispatcher,
        billing_event(
            company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": iid}
        ),
    )
    assert status.message == f"Payment {pid} was already deleted in QuickBooks"
    voided = await run_event(
        dispatcher,
        billing_event(company.company_id, "payment.voided", {"payment_id": pid, "invoice_id": iid}),
        expect="failed",
    )
    assert voided.message is not None and "is not in QuickBooks" in voided.message
