"""Stripe payouts reach QBO as one Bank Deposit each, to the cent, once (real dev server + sandbox)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal

import httpx
import pytest
from pydantic import ValidationError

from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import ActivityLogEntry, Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, new_id, payment_recorded, refund, wait_done
from tests.payout_helpers import PayoutAccounts, balance, payout_paid, turn_on_payout_sync

pytestmark = pytest.mark.usefixtures("worker")


@pytest.fixture
async def payouts(
    http: httpx.AsyncClient, sandbox_url: str, store: Store, company: Company
) -> PayoutAccounts:
    return await turn_on_payout_sync(http, sandbox_url, store, company)


def card_payment(company: Company, pid: str, amount: str) -> BillingEvent:
    """A card payment paying one invoice of its own customer in full."""
    cid, iid = new_id("cust"), new_id("inv")
    return payment_recorded(
        company.company_id, cid, iid, pid, amount, lines=[("prod_chlorine", "1", amount)]
    )


async def the_deposit(books: Books, payout_id: str) -> q.Deposit:
    return await books.qbo.read(
        books.company.realm_id, q.Deposit, await books.qbo_id("payout", payout_id)
    )


async def payout_lines(store: Store, company: Company, payout_id: str) -> list[ActivityLogEntry]:
    return await store.record_activity(company.company_id, "payout", payout_id)


async def test_payout_of_two_card_payments_with_a_fee_is_one_deposit_to_the_cent(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    p1, p2, po = new_id("pay"), new_id("pay"), new_id("po")
    await run_event(dispatcher, card_payment(company, p1, "120.00"))
    await run_event(dispatcher, card_payment(company, p2, "80.00"))
    undeposited = company.accounts["Undeposited Funds"]
    waiting_before, bank_before = (
        await balance(books, undeposited),
        await balance(books, payouts.bank),
    )

    status = await run_event(
        dispatcher, payout_paid(company, po, [p1, p2], "200.00", "5.80", "194.20")
    )

    assert status.message == (
        "Payout $194.20 deposited in QuickBooks: 2 payments $200.00, fees $5.80"
    )
    (deposit,) = await books.all(q.Deposit)
    assert isinstance(deposit, q.Deposit)
    assert deposit.TotalAmt == Decimal("194.20")
    assert deposit.DepositToAccountRef and deposit.DepositToAccountRef.value == payouts.bank
    linked = [
        (line.Amount, link.TxnType, link.TxnId)
        for line in deposit.Line or []
        for link in line.LinkedTxn or []
    ]
    assert linked == [
        (Decimal("120.00"), "Payment", await books.qbo_id("payment", p1)),
        (Decimal("80.00"), "Payment", await books.qbo_id("payment", p2)),
    ]
    fee_lines = [
        (line.Amount, line.DepositLineDetail.AccountRef.value)
        for line in deposit.Line or []
        if line.DepositLineDetail and line.DepositLineDetail.AccountRef
    ]
    assert fee_lines == [(Decimal("-5.80"), payouts.fees)]
    assert await balance(books, undeposited) == waiting_before - Decimal("200.00")
    assert await balance(books, payouts.bank) == bank_before + Decimal("194.20")
    assert (await the_deposit(books, po)).Id == deposit.Id
    (line,) = await payout_lines(store, company, po)
    assert (line.outcome, line.qbo_type, line.qbo_id) == ("success", "Deposit", deposit.Id)


async def test_a_refund_in_the_payout_is_subtracted_and_paid_by_the_payout_not_checking(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    p1, p2, po, rid = new_id("pay"), new_id("pay"), new_id("po"), new_id("ref")
    await run_event(dispatcher, card_payment(company, p1, "120.00"))
    await run_event(dispatcher, card_payment(company, p2, "80.00"))
    checking, undeposited = company.accounts["Checking"], company.accounts["Undeposited Funds"]
    checking_before = await balance(books, checking)
    waiting_before, bank_before = (
        await balance(books, undeposited),
        await balance(books, payouts.bank),
    )
    refunded = billing_event(
        company.company_id, "payment.refunded", {"payment_id": p1, "refund": refund(rid, "15.00")}
    )
    await run_event(dispatcher, refunded)
    assert await balance(books, checking) == checking_before - Decimal("15.00")

    # 200.00 of payments, less 5.80 fees, less the 15.00 refund Stripe took from the payout.
    status = await run_event(
        dispatcher, payout_paid(company, po, [p1, p2], "200.00", "5.80", "179.20", [rid])
    )

    assert status.message == (
        "Payout $179.20 deposited in QuickBooks: 2 payments $200.00, 1 refund, fees $5.80"
    )
    deposit = await the_deposit(books, po)
    assert deposit.TotalAmt == Decimal("179.20")
    account_lines = sorted(
        (line.Amount, line.DepositLineDetail.AccountRef.value)
        for line in deposit.Line or []
        if line.DepositLineDetail and line.DepositLineDetail.AccountRef
    )
    assert account_lines == [(Decimal("-15.00"), checking), (Decimal("-5.80"), payouts.fees)]
    assert await balance(books, undeposited) == waiting_before - Decimal("200.00")
    assert await balance(books, payouts.bank) == bank_before + Decimal("179.20")
    # The refund left the payout, not Checking: Checking is back where it was.
    assert await balance(books, checking) == checking_before
    assert await books.count(q.RefundReceipt) == 1


async def test_a_payout_arriving_before_one_of_its_payments_waits_then_completes(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    p1, p2, po = new_id("pay"), new_id("pay"), new_id("po")
    await run_event(dispatcher, card_payment(company, p1, "120.00"))
    early = payout_paid(company, po, [p1, p2], "200.00", "5.80", "194.20")
    await dispatcher.submit(early)

    deadline = time.monotonic() + 30
    while not [x for x in await payout_lines(store, company, po) if x.outcome == "waiting"]:
        assert time.monotonic() < deadline, "the payout never said it was waiting"
        await asyncio.sleep(0.2)
    (waiting,) = await payout_lines(store, company, po)
    assert f"waits for payment {p2} to reach QuickBooks" in waiting.message
    assert p1 not in waiting.message
    assert await books.count(q.Deposit) == 0
    assert (await dispatcher.status(early.event_id)).status == "running"  # type: ignore[union-attr]

    await asyncio.sleep(3)  # the payment comes a few seconds later
    await run_event(dispatcher, card_payment(company, p2, "80.00"))

    status = await wait_done(dispatcher, early.event_id, timeout=90)
    assert status.status == "completed", status.message
    deposit = await the_deposit(books, po)
    assert deposit.TotalAmt == Decimal("194.20")
    assert await books.count(q.Deposit) == 1
    assert [x.outcome for x in await payout_lines(store, company, po)] == ["waiting", "success"]


async def test_payout_sync_off_skips_the_payout_saying_why(
    dispatcher: EventDispatcher, books: Books, store: Store, company: Company
) -> None:
    pid, po = new_id("pay"), new_id("po")
    await run_event(dispatcher, card_payment(company, pid, "120.00"))

    status = await run_event(
        dispatcher, payout_paid(company, po, [pid], "120.00", "3.50", "116.50")
    )

    assert status.message == (
        "Payout $116.50 not sent: payout sync is off: choose a payouts bank account and a fees account"
    )
    (line,) = await payout_lines(store, company, po)
    assert line.outcome == "skipped"
    assert await books.count(q.Deposit) == 0


async def test_a_repeated_payout_event_makes_one_deposit(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    pid, po = new_id("pay"), new_id("po")
    await run_event(dispatcher, card_payment(company, pid, "120.00"))
    first = payout_paid(company, po, [pid], "120.00", "3.50", "116.50")
    await run_event(dispatcher, first)

    again = await dispatcher.submit(first)  # the very same event: the door answers duplicate
    assert again.status == "duplicate"
    resent = payout_paid(company, po, [pid], "120.00", "3.50", "116.50")  # a new event id
    status = await run_event(dispatcher, resent)

    assert status.message == "Payout $116.50 was already deposited in QuickBooks"
    assert await books.count(q.Deposit) == 1


async def test_a_payout_naming_a_deleted_or_voided_payment_fails_clearly_and_deposits_nothing(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    deleted, voided = new_id("pay"), new_id("pay")
    for pid, change in ((deleted, "payment.deleted"), (voided, "payment.voided")):
        recorded = card_payment(company, pid, "50.00")
        await run_event(dispatcher, recorded)
        invoice_id = recorded.data.payment.invoice_id  # type: ignore[union-attr]
        ref = {"payment_id": pid, "invoice_id": invoice_id}
        await run_event(dispatcher, billing_event(company.company_id, change, ref))

    for pid, why in ((deleted, "was deleted"), (voided, "was voided")):
        po = new_id("po")
        status = await run_event(
            dispatcher, payout_paid(company, po, [pid], "50.00", "1.75", "48.25"), expect="failed"
        )
        assert f"payout {po}" in (status.message or "")
        assert f"payment {pid} {why}" in (status.message or "")
    assert await books.count(q.Deposit) == 0


async def test_a_payout_whose_payments_do_not_add_up_to_its_gross_changes_nothing(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    pid, po = new_id("pay"), new_id("po")
    await run_event(dispatcher, card_payment(company, pid, "120.00"))

    status = await run_event(
        dispatcher, payout_paid(company, po, [pid], "125.00", "3.50", "121.50"), expect="failed"
    )

    assert "its payments (1) add up to $120.00 in QuickBooks, not the payout's gross $125.00" in (
        status.message or ""
    )
    assert await books.count(q.Deposit) == 0
    assert await store.get_link(company.company_id, company.realm_id, "payout", po) is None


@pytest.mark.parametrize(
    ("numbers", "refund_ids", "why"),
    [
        (("100.00", "3.00", "96.00"), None, "net must be gross − fees"),
        (("100.00", "3.00", "97.00"), ["r1"], "the refunds more than zero"),
        (("100.00", "-3.00", "103.00"), None, "must not be negative"),
    ],
)
def test_a_payout_whose_own_numbers_disagree_is_refused_at_the_door(
    numbers: tuple[str, str, str], refund_ids: list[str] | None, why: str
) -> None:
    somebody = Company("co_1", "realm_1", {})
    with pytest.raises(ValidationError, match=why):
        payout_paid(somebody, "po_1", ["p1"], *numbers, refund_ids=refund_ids)


async def test_a_payout_naming_a_payment_whose_sync_failed_for_good_fails_naming_it(
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    payouts: PayoutAccounts,
) -> None:
    pid, po = new_id("pay"), new_id("po")
    too_much = payment_recorded(
        company.company_id, new_id("cust"), new_id("inv"), pid, "999.00",
        lines=[("prod_chlorine", "1", "50.00")],
    )  # fmt: skip
    await run_event(dispatcher, too_much, expect="failed")

    status = await run_event(
        dispatcher, payout_paid(company, po, [pid], "999.00", "9.00", "990.00"), expect="failed"
    )

    assert f"payment {pid} failed to reach QuickBooks" in (status.message or "")
    assert [x.outcome for x in await payout_lines(store, company, po)] == ["failed"]
    assert await books.count(q.Deposit) == 0
