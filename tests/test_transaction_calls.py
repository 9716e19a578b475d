"""Invoices, payments and refunds read QBO only when the links cannot say what QBO has: calls are
counted in the sandbox's request log, as `make bench-calls` counts them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from bench.qbo_calls import Count, count, tail_of
from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, invoice, new_id, payment_recorded, refund
from tests.qbo_log import RequestLog

pytestmark = pytest.mark.usefixtures("worker")

# The customer and item steps of a payment are measured on their own (tests of those steps).
OTHER_STEPS = ("customer", "item")
BIGGER = [("prod_chlorine", "4", "30.00"), ("wot_weekly", "1", "60.00")]
BIGGEST = [("prod_chlorine", "5", "30.00"), ("wot_weekly", "1", "60.00")]


def paid(
    company: Company, cid: str, iid: str, pid: str, amount: str, **invoice_args: Any
) -> BillingEvent:
    return payment_recorded(company.company_id, cid, iid, pid, amount, **invoice_args)


def saved(company: Company, iid: str, cid: str, **invoice_args: Any) -> BillingEvent:
    data = {"invoice": invoice(iid, cid, **invoice_args)}
    return billing_event(company.company_id, "invoice.saved", data)


def changed(company: Company, kind: str, pid: str, iid: str) -> BillingEvent:
    data = {"payment_id": pid, "invoice_id": iid}
    return billing_event(company.company_id, f"payment.{kind}", data)


def refunded(company: Company, pid: str, amount: str) -> BillingEvent:
    data = {"payment_id": pid, "refund": refund(new_id("ref"), amount)}
    return billing_event(company.company_id, "payment.refunded", data)


class Calls:
    """The QBO calls one event makes, from the sandbox's request log."""

    def __init__(self, log: RequestLog) -> None:
        self._log = log

    async def of(
        self, dispatcher: EventDispatcher, event: BillingEvent, expect: str = "completed"
    ) -> tuple[Count, list[int]]:
        """(reads and writes, and each counted call's HTTP status) of the event."""
        made, _ = await self._log.during(dispatcher, event, expect)
        entries = [e for e in made if tail_of(e["path"])[0] not in OTHER_STEPS]
        return count(entries), [int(e["status"]) for e in entries]


@pytest.fixture
def calls(qbo_log: RequestLog) -> Calls:
    return Calls(qbo_log)


async def test_a_second_payment_on_an_unchanged_invoice_writes_only_the_payment(
    dispatcher: EventDispatcher, calls: Calls, books: Books, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(dispatcher, paid(company, cid, iid, new_id("pay"), "50.00", amount_due="70.00"))
    second = paid(company, cid, iid, new_id("pay"), "70.00", amount_due="0.00")
    tally, _ = await calls.of(dispatcher, second)
    assert (tally.reads, tally.writes, tally.calls) == (0, 1, ["POST payment"])
    assert (await books.invoice(iid)).Balance == Decimal("0.00")


async def test_a_stale_invoice_token_after_a_payment_costs_one_read_and_the_change_lands(
    dispatcher: EventDispatcher, calls: Calls, books: Books, company: Company
) -> None:
    # QBO gives an invoice a new SyncToken when a payment is applied to it.
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    tally, statuses = await calls.of(
        dispatcher, saved(company, iid, cid, lines=BIGGER, amount_due="160.00")
    )
    assert tally.calls == ["POST invoice", "GET invoice", "POST invoice"]
    assert (tally.reads, statuses) == (1, [400, 200, 200])  # 5010, then read once, then written
    assert ((await books.invoice(iid)).TotalAmt, (await books.invoice(iid)).Balance) == (
        Decimal("180.00"),
        Decimal("160.00"),
    )


async def test_an_invoice_with_changed_lines_is_updated_without_a_read_and_restored_on_failure(
    dispatcher: EventDispatcher, calls: Calls, books: Books, store: Store, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    await run_event(dispatcher, saved(company, iid, cid, lines=BIGGER, amount_due="160.00"))
    # The link now holds the token of that update: the next change needs no read.
    tally, _ = await calls.of(dispatcher, saved(company, iid, cid, amount_due="100.00"))
    assert (tally.reads, tally.writes, tally.calls) == (0, 1, ["POST invoice"])
    assert (await books.invoice(iid)).TotalAmt == Decimal("120.00")

    # A payment that changes the lines again, then fails: the saga puts back the lines the
    # link kept (those of the update before), not QBO's lines read before the update.
    await store.update_settings(company.company_id, deposit_account_id=None)
    failing = paid(company, cid, iid, new_id("pay"), "10.00", lines=BIGGEST, amount_due="190.00")
    tally, _ = await calls.of(dispatcher, failing, expect="failed")
    assert tally.calls[0] == "POST invoice"  # the update, sent without reading first
    restored = await books.invoice(iid)
    assert (restored.TotalAmt, restored.Balance) == (Decimal("120.00"), Decimal("100.00"))
    # The restore left the link knowing nothing: the same lines again are checked against QBO.
    tally, _ = await calls.of(dispatcher, saved(company, iid, cid, amount_due="100.00"))
    assert (tally.reads, tally.writes) == (1, 0)


async def test_a_stored_balance_never_refuses_a_payment_qbo_would_take(
    dispatcher: EventDispatcher, calls: Calls, books: Books, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "50.00", amount_due="70.00"))
    # The bookkeeper deletes the payment in QBO: the invoice is open for 120 again, the link
    # still says 70.
    qbo_id = await books.qbo_id("payment", pid)
    current = await books.qbo.read(company.realm_id, q.Payment, qbo_id)
    assert current.SyncToken is not None
    await books.qbo.delete(company.realm_id, q.Payment, qbo_id, current.SyncToken, new_id("r"))
    tally, _ = await calls.of(
        dispatcher, paid(company, cid, iid, new_id("pay"), "100.00", amount_due="20.00")
    )
    assert tally.calls == ["GET invoice", "POST payment"]  # read only to check the refusal
    assert (await books.invoice(iid)).Balance == Decimal("20.00")


async def test_qbo_refusing_a_payment_over_the_balance_reads_the_balance_for_the_message(
    dispatcher: EventDispatcher, calls: Calls, books: Books, store: Store, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    # A payment made by hand in QBO leaves 10 open; the link still says 100.
    customer_id, invoice_id = (
        await books.qbo_id("customer", cid),
        await books.qbo_id("invoice", iid),
    )
    by_hand = q.Payment(
        CustomerRef=q.Ref(value=customer_id),
        TotalAmt=Decimal("90.00"),
        Line=[
            q.TxnLine(
                Amount=Decimal("90.00"), LinkedTxn=[q.TxnLink(TxnId=invoice_id, TxnType="Invoice")]
            )
        ],
    )
    await books.qbo.create(company.realm_id, by_hand, new_id("r"))
    pid = new_id("pay")
    tally, statuses = await calls.of(
        dispatcher, paid(company, cid, iid, pid, "50.00", amount_due="50.00"), expect="failed"
    )
    assert (tally.calls, statuses) == (["POST payment", "GET invoice"], [400, 200])
    entries = [e for e in await store.list_activity(company.company_id) if e.record_id == pid]
    assert entries and entries[-1].message is not None
    assert (
        f"payment {pid}: $50.00 is more than the open balance $10.00 of invoice "
        f"{iid.upper()} in QuickBooks, and the payment carries no credit for the rest"
    ) in entries[-1].message


@pytest.mark.parametrize("kind", ["deleted", "voided"])
async def test_a_payment_deleted_or_voided_is_one_write_and_no_read(
    dispatcher: EventDispatcher, calls: Calls, books: Books, company: Company, kind: str
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    tally, _ = await calls.of(dispatcher, changed(company, kind, pid, iid))
    assert (tally.reads, tally.writes) == (0, 1)
    assert (await books.invoice(iid)).Balance == Decimal("120.00")
    # The link kept the balance that is due again: a new payment of all of it is not refused.
    tally, _ = await calls.of(dispatcher, paid(company, cid, iid, new_id("pay"), "120.00"))
    assert tally.calls == ["POST payment"]
    assert (await books.invoice(iid)).Balance == Decimal("0.00")


async def test_a_payment_voided_twice_is_voided_once_without_asking_qbo(
    dispatcher: EventDispatcher, calls: Calls, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    await run_event(dispatcher, changed(company, "voided", pid, iid))
    tally, _ = await calls.of(dispatcher, changed(company, "voided", pid, iid))
    assert (tally.reads, tally.writes) == (0, 0)


async def test_a_payment_deleted_in_qbo_by_hand_is_already_deleted_after_one_refused_write(
    dispatcher: EventDispatcher, calls: Calls, books: Books, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    qbo_id = await books.qbo_id("payment", pid)
    current = await books.qbo.read(company.realm_id, q.Payment, qbo_id)
    assert current.SyncToken is not None
    await books.qbo.delete(company.realm_id, q.Payment, qbo_id, current.SyncToken, new_id("r"))
    status = await run_event(dispatcher, changed(company, "deleted", pid, iid))
    assert status.message == f"Payment {pid} was already deleted in QuickBooks"


async def test_refunds_are_one_write_once_the_refund_item_is_kept(
    dispatcher: EventDispatcher, calls: Calls, store: Store, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    await run_event(dispatcher, refunded(company, pid, "10.00"))  # finds or makes the item
    conn = await store.get_connection(company.company_id)
    assert conn is not None and conn.refund_item_id is not None
    tally, _ = await calls.of(dispatcher, refunded(company, pid, "20.00"))
    assert (tally.reads, tally.writes, tally.calls) == (0, 1, ["POST refundreceipt"])


async def test_a_kept_refund_item_made_inactive_in_qbo_is_reactivated_and_the_refund_lands(
    dispatcher: EventDispatcher, calls: Calls, books: Books, store: Store, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "120.00"))
    await run_event(dispatcher, refunded(company, pid, "10.00"))
    conn = await store.get_connection(company.company_id)
    assert conn is not None and conn.refund_item_id is not None
    item = await books.qbo.read(company.realm_id, q.Item, conn.refund_item_id)
    assert item.Id and item.SyncToken and item.Name
    await books.qbo.update(
        company.realm_id,
        q.Item(Id=item.Id, SyncToken=item.SyncToken, Name=item.Name, Active=False),
        new_id("r"),
    )
    before = await books.count(q.RefundReceipt)
    await run_event(dispatcher, refunded(company, pid, "20.00"))
    assert await books.count(q.RefundReceipt) == before + 1
    assert (await books.qbo.read(company.realm_id, q.Item, item.Id)).Active is True
    again = await store.get_connection(company.company_id)
    assert again is not None and again.refund_item_id == item.Id


async def test_links_written_without_state_by_an_older_release_still_work_by_reading(
    dispatcher: EventDispatcher, calls: Calls, books: Books, store: Store, company: Company
) -> None:
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, paid(company, cid, iid, pid, "50.00", amount_due="70.00"))
    for kind, record in (("invoice", iid), ("payment", pid)):
        await store.forget_link_state(company.company_id, company.realm_id, kind, record)
    tally, _ = await calls.of(
        dispatcher, paid(company, cid, iid, new_id("pay"), "20.00", amount_due="50.00")
    )
    assert tally.calls == ["GET invoice", "POST payment"]
    tally, _ = await calls.of(dispatcher, refunded(company, pid, "10.00"))
    assert tally.calls[0] == "GET payment"
    tally, _ = await calls.of(dispatcher, changed(company, "deleted", pid, iid))
    assert tally.calls == ["GET payment", "POST payment delete"]
    assert (await books.invoice(iid)).Balance == Decimal("100.00")
