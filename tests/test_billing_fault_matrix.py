"""Every billing workflow × every transient fault on its key QBO write: one QBO effect, exactly."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest

from billing.events import BillingEvent
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, map_stock_accounts, run_event
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, new_id, payment, refund
from tests.payout_helpers import payout_paid, turn_on_payout_sync
from tests.test_sales_tax_sync import FLORIDA, ROUNDING_LINES, taxed_invoice

pytestmark = pytest.mark.usefixtures("worker")

FAULTS: dict[str, dict[str, object]] = {
    "5xx": {"kind": "status", "status": 503},
    "429": {"kind": "throttle", "seconds": 1},
    "dropped-after-commit": {"kind": "drop_after_commit"},
    "expired-token": {"kind": "expire_token"},
}


@dataclass
class Case:
    """Set up what the event needs, name the write to disturb, send it, check one effect."""

    path: str
    prepare: Callable[[Company, dict[str, str]], list[BillingEvent]]
    event: Callable[[Company, dict[str, str]], BillingEvent]
    check: Callable[[Books, dict[str, str]], Awaitable[None]]
    # What the company must have chosen first (e.g. payout accounts), beyond the `company` fixture.
    setup: Callable[[httpx.AsyncClient, str, Store, Company], Awaitable[object]] | None = None
    stock: bool = False  # the company maps its inventory asset and cost of goods accounts first


def ids() -> dict[str, str]:
    return {k: new_id(k) for k in ("cust", "inv", "pay", "cr", "ref", "inv2", "po")}


def recorded(
    c: Company, i: dict[str, str], amount: str = "120.00", method: str = "card"
) -> BillingEvent:
    return billing_event(
        c.company_id,
        "payment.recorded",
        {
            "payment": payment(i["pay"], i["inv"], i["cust"], amount, method=method),
            "invoice": invoice(i["inv"], i["cust"]),
            "customer": customer(i["cust"]),
        },
    )


def credited(c: Company, i: dict[str, str]) -> BillingEvent:
    return billing_event(
        c.company_id,
        "credit.recorded",
        {"credit": credit(i["cr"], i["cust"], "100.00"), "customer": customer(i["cust"])},
    )


async def one_payment_deleted(b: Books, i: dict[str, str]) -> None:
    assert await b.count(q.Payment) == 0
    assert (await b.invoice(i["inv"])).Balance == Decimal("120.00")


async def one_payment_voided(b: Books, i: dict[str, str]) -> None:
    (voided,) = await b.all(q.Payment)
    assert isinstance(voided, q.Payment) and voided.TotalAmt == 0
    assert (await b.invoice(i["inv"])).Balance == Decimal("120.00")


async def one_refund_receipt(b: Books, i: dict[str, str]) -> None:
    (receipt,) = await b.all(q.RefundReceipt)
    assert isinstance(receipt, q.RefundReceipt) and receipt.TotalAmt == Decimal("15.00")


async def one_credit(b: Books, i: dict[str, str]) -> None:
    (unapplied,) = await b.all(q.Payment)
    assert isinstance(unapplied, q.Payment) and unapplied.UnappliedAmt == Decimal("100.00")


async def applied_once(b: Books, i: dict[str, str]) -> None:
    unapplied = await b.qbo.read(b.company.realm_id, q.Payment, await b.qbo_id("credit", i["cr"]))
    assert unapplied.UnappliedAmt == Decimal("70.00") and len(unapplied.Line or []) == 1
    assert (await b.invoice(i["inv2"])).Balance == 0


async def refunded_once(b: Books, i: dict[str, str]) -> None:
    unapplied = await b.qbo.read(b.company.realm_id, q.Payment, await b.qbo_id("credit", i["cr"]))
    assert unapplied.UnappliedAmt == Decimal("60.00") and len(unapplied.Line or []) == 1
    assert await b.count(q.JournalEntry) == 1
    assert await b.customer_balance(i["cust"]) == Decimal("-60.00")


async def paid_in_full_once(b: Books, i: dict[str, str]) -> None:
    (paid,) = await b.all(q.Payment)
    assert isinstance(paid, q.Payment) and paid.TotalAmt == Decimal("120.00")
    assert (await b.invoice(i["inv"])).Balance == 0


async def credit_used_up_once(b: Books, i: dict[str, str]) -> None:
    unapplied = await b.qbo.read(b.company.realm_id, q.Payment, await b.qbo_id("credit", i["cr"]))
    assert unapplied.UnappliedAmt == 0 and len(unapplied.Line or []) == 1
    assert (await b.invoice(i["inv2"])).Balance == 0
    assert await b.customer_balance(i["cust"]) == 0


LAST_UNITS = "3"


def last_stock_sold(c: Company, i: dict[str, str]) -> BillingEvent:
    """The invoice sells exactly the quantity on hand of an inventory product."""
    sold = invoice(i["inv"], i["cust"], lines=[("prod_pump", LAST_UNITS, "40.00")])
    sold["lines"][0]["item"].update(kind="inventory", quantity_on_hand=LAST_UNITS)
    return billing_event(
        c.company_id,
        "payment.recorded",
        {
            "payment": payment(i["pay"], i["inv"], i["cust"], "120.00"),
            "invoice": sold,
            "customer": customer(i["cust"]),
        },
    )


async def last_stock_sold_once(b: Books, i: dict[str, str]) -> None:
    (item,) = await b.all(q.Item)
    (sold,) = await b.all(q.Invoice)
    assert isinstance(item, q.Item) and isinstance(sold, q.Invoice)
    (line,) = [x for x in sold.Line or [] if x.SalesItemLineDetail is not None]
    assert line.SalesItemLineDetail is not None
    assert line.SalesItemLineDetail.Qty == Decimal(LAST_UNITS)
    assert (item.Type, item.QtyOnHand) == ("Inventory", Decimal(0))
    assert sold.Balance == 0 and await b.count(q.Payment) == 1


def applied(c: Company, i: dict[str, str]) -> BillingEvent:
    return billing_event(
        c.company_id,
        "credit.applied",
        {
            "credit_id": i["cr"],
            "invoice": invoice(i["inv2"], i["cust"], lines=[("prod_net", "1", "30.00")]),
            "customer": customer(i["cust"]),
            "amount": "30.00",
        },
    )


def invoice_ended(
    how: str, invoice_key: str = "inv"
) -> Callable[[Company, dict[str, str]], BillingEvent]:
    return lambda c, i: billing_event(
        c.company_id, f"invoice.{how}", {"invoice_id": i[invoice_key]}
    )


async def voided_once(b: Books, i: dict[str, str]) -> None:
    (voided,) = await b.all(q.Invoice)
    (payment_voided,) = await b.all(q.Payment)
    assert isinstance(voided, q.Invoice) and voided.TotalAmt == 0
    assert isinstance(payment_voided, q.Payment) and payment_voided.TotalAmt == 0
    assert await b.customer_balance(i["cust"]) == 0


async def deleted_once(b: Books, i: dict[str, str]) -> None:
    assert await b.count(q.Invoice) == 0 and await b.count(q.Payment) == 0
    assert await b.customer_balance(i["cust"]) == 0


async def credit_back_once(b: Books, i: dict[str, str]) -> None:
    unapplied = await b.qbo.read(b.company.realm_id, q.Payment, await b.qbo_id("credit", i["cr"]))
    assert unapplied.UnappliedAmt == Decimal("100.00") and not unapplied.Line
    assert await b.count(q.Invoice) == 0 and await b.count(q.Payment) == 1
    assert await b.customer_balance(i["cust"]) == Decimal("-100.00")


async def invoice_matches(b: Books, i: dict[str, str]) -> None:
    synced = await b.invoice(i["inv"])
    assert (synced.TotalAmt, synced.Balance) == (Decimal("150.00"), Decimal("30.00"))
    assert await b.count(q.Invoice) == 1


CASES = {
    "RecordPayment(full balance)": Case("payment", lambda c, i: [], recorded, paid_in_full_once),
    "RecordPayment(last unit of stock)": Case(
        "invoice", lambda c, i: [], last_stock_sold, last_stock_sold_once, stock=True
    ),
    "VoidInvoice(card payment voided)": Case(
        "payment", lambda c, i: [recorded(c, i)], invoice_ended("voided"), voided_once
    ),
    "VoidInvoice": Case(
        "invoice", lambda c, i: [recorded(c, i)], invoice_ended("voided"), voided_once
    ),
    "DeleteInvoice(check payment deleted)": Case(
        "payment",
        lambda c, i: [recorded(c, i, "50.00", method="check")],
        invoice_ended("deleted"),
        deleted_once,
    ),
    "DeleteInvoice": Case(
        "invoice",
        lambda c, i: [recorded(c, i, "50.00", method="check")],
        invoice_ended("deleted"),
        deleted_once,
    ),
    "DeleteInvoice(credit unapplied)": Case(
        "payment",
        lambda c, i: [credited(c, i), applied(c, i)],
        invoice_ended("deleted", "inv2"),
        credit_back_once,
    ),
    "DeletePayment": Case(
        "payment",
        lambda c, i: [recorded(c, i)],
        lambda c, i: billing_event(
            c.company_id, "payment.deleted", {"payment_id": i["pay"], "invoice_id": i["inv"]}
        ),
        one_payment_deleted,
    ),
    "VoidPayment": Case(
        "payment",
        lambda c, i: [recorded(c, i)],
        lambda c, i: billing_event(
            c.company_id, "payment.voided", {"payment_id": i["pay"], "invoice_id": i["inv"]}
        ),
        one_payment_voided,
    ),
    "RefundPayment": Case(
        "refundreceipt",
        lambda c, i: [recorded(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "payment.refunded",
            {"payment_id": i["pay"], "refund": refund(i["ref"], "15.00")},
        ),
        one_refund_receipt,
    ),
    "RecordAccountCredit": Case("payment", lambda c, i: [], credited, one_credit),
    "ApplyCredit": Case(
        "payment",
        lambda c, i: [credited(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "credit.applied",
            {
                "credit_id": i["cr"],
                "invoice": invoice(i["inv2"], i["cust"], lines=[("prod_net", "1", "30.00")]),
                "customer": customer(i["cust"]),
                "amount": "30.00",
            },
        ),
        applied_once,
    ),
    "ApplyCredit(full)": Case(
        "payment",
        lambda c, i: [credited(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "credit.applied",
            {
                "credit_id": i["cr"],
                "invoice": invoice(i["inv2"], i["cust"], lines=[("prod_net", "1", "100.00")]),
                "customer": customer(i["cust"]),
                "amount": "100.00",
            },
        ),
        credit_used_up_once,
    ),
    "RefundCredit(journal entry)": Case(
        "journalentry",
        lambda c, i: [credited(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "credit.refunded",
            {"credit_id": i["cr"], "refund": refund(i["ref"], "40.00")},
        ),
        refunded_once,
    ),
    "RefundCredit(consume)": Case(
        "payment",
        lambda c, i: [credited(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "credit.refunded",
            {"credit_id": i["cr"], "refund": refund(i["ref"], "40.00")},
        ),
        refunded_once,
    ),
    "SyncInvoice": Case(
        "invoice",
        lambda c, i: [recorded(c, i)],
        lambda c, i: billing_event(
            c.company_id,
            "invoice.saved",
            {
                "invoice": invoice(
                    i["inv"],
                    i["cust"],
                    lines=[("prod_chlorine", "3", "30.00"), ("wot_weekly", "1", "60.00")],
                    amount_due="30.00",
                )
            },
        ),
        invoice_matches,
    ),
}


async def one_deposit(b: Books, i: dict[str, str]) -> None:
    (deposit,) = await b.all(q.Deposit)
    assert isinstance(deposit, q.Deposit) and deposit.TotalAmt == Decimal("116.20")
    assert deposit.Id == await b.qbo_id("payout", i["po"])


CASES["RecordPayout"] = Case(
    "deposit",
    lambda c, i: [recorded(c, i)],
    lambda c, i: payout_paid(c, i["po"], [i["pay"]], "120.00", "3.80", "116.20"),
    one_deposit,
    setup=turn_on_payout_sync,
)


def taxed_paid(c: Company, i: dict[str, str]) -> BillingEvent:
    """A manual-tax company's first taxed payment: its tax group becomes a QBO TaxCode."""
    the_invoice = taxed_invoice(i["inv"], i["cust"], ROUNDING_LINES, FLORIDA)
    return billing_event(
        c.company_id,
        "payment.recorded",
        {
            "payment": payment(i["pay"], i["inv"], i["cust"], the_invoice["total"]),
            "invoice": the_invoice,
            "customer": customer(i["cust"]),
        },
    )


async def one_tax_code_and_one_taxed_invoice(b: Books, i: dict[str, str]) -> None:
    assert await b.count(q.TaxCode) == 1 and await b.count(q.TaxRate) == 2
    assert await b.count(q.Invoice) == 1 and await b.count(q.Payment) == 1
    taxed = await b.invoice(i["inv"])
    assert (taxed.TotalAmt, taxed.Balance) == (Decimal("14.31"), Decimal(0))


CASES["RecordPayment(taxed, first tax code)"] = Case(
    "taxservice/taxcode", lambda c, i: [], taxed_paid, one_tax_code_and_one_taxed_invoice
)


@pytest.mark.parametrize("fault", list(FAULTS))
@pytest.mark.parametrize("workflow", list(CASES))
async def test_transient_fault_leaves_exactly_one_qbo_effect(
    workflow: str,
    fault: str,
    dispatcher: EventDispatcher,
    qbo: QBOClient,
    store: Store,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    case = CASES[workflow]
    i = ids()
    if case.setup is not None:
        await case.setup(http, sandbox_url, store, company)
    if case.stock:
        await map_stock_accounts(Books(qbo, store, company), http, sandbox_url)
    for event in case.prepare(company, i):
        await run_event(dispatcher, event)
    spec = {**FAULTS[fault], "path": case.path, "method": "POST", "times": 1}
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults", json=spec)
    assert reply.status_code == 201, reply.text

    await run_event(dispatcher, case.event(company, i))

    faults = (await http.get(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults")).json()[
        "faults"
    ]
    assert [f["hits"] for f in faults] == [1], "the fault should have hit the write once"
    await case.check(Books(qbo, store, company), i)
