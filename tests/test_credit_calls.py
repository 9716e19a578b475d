"""Account credits at the QBO read floor: the credit's link keeps what its events need from the
Payment, so they read it only when QBO says it changed (counted in the sandbox's request log)."""

from __future__ import annotations

from decimal import Decimal

import httpx
import pytest

from bench.qbo_calls import describe
from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, new_id, refund
from tests.qbo_log import RequestLog

pytestmark = pytest.mark.usefixtures("worker")


class Calls:
    """The QBO calls one event made, as `GET payment`, `POST payment`, `query`, ..."""

    def __init__(self, log: RequestLog) -> None:
        self._log = log
        self.status = ""  # the last event's message

    async def of(
        self, dispatcher: EventDispatcher, event: BillingEvent, expect: str = "completed"
    ) -> list[str]:
        made, status = await self._log.during(dispatcher, event, expect)
        self.status = status.message or ""
        return [describe(e) + ("" if e["status"] == 200 else f" {e['status']}") for e in made]


@pytest.fixture
def calls(qbo_log: RequestLog) -> Calls:
    return Calls(qbo_log)


def on_the_credit(made: list[str]) -> list[str]:
    """The calls about the credit's Payment (not the customer's, items' or invoice's)."""
    return [c for c in made if c.split()[1:2] == ["payment"]]


def recorded(company: Company, cid: str, crid: str, amount: str) -> BillingEvent:
    data = {"credit": credit(crid, cid, amount), "customer": customer(cid)}
    return billing_event(company.company_id, "credit.recorded", data)


def applied(company: Company, cid: str, crid: str, iid: str, amount: str) -> BillingEvent:
    data = {
        "credit_id": crid,
        "invoice": invoice(iid, cid, lines=[("prod_net", "1", amount)], amount_due="0.00"),
        "customer": customer(cid),
        "amount": amount,
    }
    return billing_event(company.company_id, "credit.applied", data)


def refunded(company: Company, crid: str, amount: str) -> BillingEvent:
    data = {"credit_id": crid, "refund": refund(new_id("ref"), amount)}
    return billing_event(company.company_id, "credit.refunded", data)


async def journal_entry_ids(books: Books) -> list[str | None]:
    return [e.Id for e in await books.all(q.JournalEntry) if isinstance(e, q.JournalEntry)]


def linked(payment: q.Payment) -> list[tuple[str, str, Decimal]]:
    return [
        (link.TxnType, link.TxnId, line.Amount)
        for line in payment.Line or []
        for link in line.LinkedTxn or []
    ]


async def test_credit_recorded_applied_and_refunded_never_read_the_credit_payment(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company, calls: Calls
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    made = await calls.of(dispatcher, recorded(company, cid, crid, "100.00"))
    assert on_the_credit(made) == ["POST payment"]

    made = await calls.of(dispatcher, applied(company, cid, crid, iid, "30.00"))
    assert on_the_credit(made) == ["POST payment"]  # the apply: no GET of the credit

    made = await calls.of(dispatcher, refunded(company, crid, "20.00"))
    # The company's first credit refund finds its Accounts Receivable account (a query) once.
    assert made == ["query", "POST journalentry", "POST payment"]
    made = await calls.of(dispatcher, refunded(company, crid, "50.00"))
    assert made == ["POST journalentry", "POST payment"]  # 0 reads, 2 writes

    payment = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))
    entries = await journal_entry_ids(books)
    assert linked(payment) == [
        ("Invoice", await books.qbo_id("invoice", iid), Decimal("30.00")),
        ("JournalEntry", entries[0], Decimal("20.00")),
        ("JournalEntry", entries[1], Decimal("50.00")),
    ]
    assert payment.UnappliedAmt == 0 and await books.customer_balance(cid) == 0


async def test_the_receivable_account_is_looked_up_once_per_company(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company, calls: Calls
) -> None:
    cid, first, second = new_id("cust"), new_id("cr"), new_id("cr")
    await run_event(dispatcher, recorded(company, cid, first, "40.00"))
    await run_event(dispatcher, recorded(company, cid, second, "60.00"))
    made = await calls.of(dispatcher, refunded(company, first, "40.00"))
    assert made == ["query", "POST journalentry", "POST payment"]
    made = await calls.of(dispatcher, refunded(company, second, "60.00"))
    assert made == ["POST journalentry", "POST payment"]

    (receivable,) = await books.qbo.query(
        company.realm_id,
        q.Account,
        "SELECT * FROM Account WHERE AccountType = 'Accounts Receivable'",
    )
    connection = await store.get_connection(company.company_id)
    assert connection is not None and connection.receivable_account_id == receivable.Id
    for entry in await books.all(q.JournalEntry):
        assert isinstance(entry, q.JournalEntry)
        debit = (entry.Line or [])[0].JournalEntryLineDetail
        assert debit is not None and debit.AccountRef.value == receivable.Id
    assert await books.customer_balance(cid) == 0


async def test_a_credit_changed_in_quickbooks_meanwhile_is_read_once_and_their_change_kept(
    dispatcher: EventDispatcher, books: Books, company: Company, calls: Calls
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    await run_event(dispatcher, recorded(company, cid, crid, "100.00"))
    await run_event(dispatcher, applied(company, cid, crid, iid, "30.00"))

    # Someone applies $40 of the credit to an invoice of their own in QuickBooks.
    realm, credit_qbo_id = company.realm_id, await books.qbo_id("credit", crid)
    ours = await books.invoice(iid)
    sold = next(x.SalesItemLineDetail for x in ours.Line or [] if x.SalesItemLineDetail)
    detail = q.SalesDetail(ItemRef=sold.ItemRef, Qty=Decimal(1), UnitPrice=Decimal(40))
    line = q.TxnLine(
        Amount=Decimal(40), DetailType="SalesItemLineDetail", SalesItemLineDetail=detail
    )
    theirs = await books.qbo.create(
        realm, q.Invoice(CustomerRef=ours.CustomerRef, Line=[line]), new_id("req")
    )
    assert theirs.Id is not None
    payment = await books.qbo.read(realm, q.Payment, credit_qbo_id)
    their_line = q.TxnLine(
        Amount=Decimal(40), LinkedTxn=[q.TxnLink(TxnId=theirs.Id, TxnType="Invoice")]
    )
    await books.qbo.update(
        realm,
        q.Payment(
            Id=payment.Id, SyncToken=payment.SyncToken, Line=[*(payment.Line or []), their_line]
        ),
        new_id("req"),
    )

    made = await calls.of(dispatcher, refunded(company, crid, "20.00"))
    # Our stored SyncToken is refused (5010), the retry reads the credit once and lands.
    assert made == [
        "query",
        "POST journalentry",
        "POST payment 400",
        "GET payment",
        "POST payment",
    ]
    payment = await books.qbo.read(realm, q.Payment, credit_qbo_id)
    (entry,) = await journal_entry_ids(books)
    assert linked(payment) == [
        ("Invoice", ours.Id, Decimal("30.00")),
        ("Invoice", theirs.Id, Decimal("40.00")),
        ("JournalEntry", entry, Decimal("20.00")),
    ]
    assert payment.UnappliedAmt == Decimal("10.00")

    # What that read saw is kept: the next event is back at the floor.
    made = await calls.of(dispatcher, refunded(company, crid, "10.00"))
    assert made == ["POST journalentry", "POST payment"]


async def test_a_refund_larger_than_what_is_left_of_the_credit_fails_clearly_and_writes_nothing(
    dispatcher: EventDispatcher, books: Books, company: Company, calls: Calls
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    await run_event(dispatcher, recorded(company, cid, crid, "100.00"))
    await run_event(dispatcher, applied(company, cid, crid, iid, "30.00"))
    before = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))

    made = await calls.of(dispatcher, refunded(company, crid, "80.00"), expect="failed")
    assert "$80.00 is more than what is left of the credit in QuickBooks ($70.00)" in calls.status
    assert not [c for c in made if c.startswith("POST")]
    after = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))
    assert (after.SyncToken, after.UnappliedAmt) == (before.SyncToken, Decimal("70.00"))
    assert await books.count(q.JournalEntry) == 0


async def test_a_credit_linked_by_the_previous_release_is_read_once_then_kept(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company, calls: Calls
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    await run_event(dispatcher, recorded(company, cid, crid, "100.00"))
    # The previous release kept only the link and its SyncToken.
    link = await store.get_link(company.company_id, company.realm_id, "credit", crid)
    assert link is not None and link.state is not None
    await store.save_link(
        company.company_id,
        company.realm_id,
        "credit",
        crid,
        "Payment",
        link.qbo_id,
        link.sync_token,
    )

    made = await calls.of(dispatcher, applied(company, cid, crid, iid, "30.00"))
    assert on_the_credit(made) == ["GET payment", "POST payment"]
    made = await calls.of(dispatcher, refunded(company, crid, "70.00"))
    assert made == ["query", "POST journalentry", "POST payment"]
    assert calls.status == "Credit refund $70.00 recorded in QuickBooks; the credit is used up"
    assert await books.customer_balance(cid) == 0


async def test_a_credit_applied_after_a_concurrent_change_is_read_once_and_applied(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    calls: Calls,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    cid, crid, iid = new_id("cust"), new_id("cr"), new_id("inv")
    await run_event(dispatcher, recorded(company, cid, crid, "100.00"))
    # Another writer changes the credit's Payment just before our update reaches QBO.
    fault = {"kind": "stale_synctoken", "path": "payment", "method": "POST", "times": 1}
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults", json=fault)
    assert reply.status_code == 201, reply.text

    made = await calls.of(dispatcher, applied(company, cid, crid, iid, "30.00"))
    assert on_the_credit(made) == ["POST payment 400", "GET payment", "POST payment"]
    payment = await books.qbo.read(company.realm_id, q.Payment, await books.qbo_id("credit", crid))
    assert linked(payment) == [("Invoice", await books.qbo_id("invoice", iid), Decimal("30.00"))]
    assert payment.UnappliedAmt == Decimal("70.00")
