"""Skimmer's sales tax reaches QBO as sales tax, QBO's total equal to Skimmer's to the cent."""

from __future__ import annotations

import asyncio
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest

from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, new_id, payment

pytestmark = pytest.mark.usefixtures("worker")

CENT = Decimal("0.01")


def taxed_invoice(
    iid: str, cid: str, lines: list[tuple[str, str, str, bool]], rates: list[tuple[str, str]]
) -> dict[str, Any]:
    """An invoice whose lines are (item, qty, price, taxable), taxed per rate as Skimmer does:
    each rate's amount rounded on its own."""
    body = invoice(iid, cid, [(item, qty, price) for item, qty, price, _ in lines])
    for rendered, (*_, taxable) in zip(body["lines"], lines, strict=True):
        rendered["taxable"] = taxable
    taxable_amount = sum((Decimal(x["amount"]) for x in body["lines"] if x["taxable"]), Decimal(0))
    taxes = [
        {
            "name": name,
            "rate_percent": rate,
            "taxable_amount": str(taxable_amount),
            "amount": str(
                (taxable_amount * Decimal(rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP)
            ),
        }
        for name, rate in rates
    ]
    subtotal = Decimal(body["total"])
    total = subtotal + sum((Decimal(t["amount"]) for t in taxes), Decimal(0))
    return body | {
        "subtotal": str(subtotal),
        "taxes": taxes,
        "total": str(total),
        "amount_due": str(total),
    }


def paid(company: Company, the_invoice: dict[str, Any], amount: str | None = None) -> BillingEvent:
    """A payment of the invoice: all of it, or `amount`."""
    cid, iid = the_invoice["customer_id"], the_invoice["id"]
    return billing_event(
        company.company_id,
        "payment.recorded",
        {
            "payment": payment(new_id("pay"), iid, cid, amount or the_invoice["total"]),
            "invoice": the_invoice,
            "customer": customer(cid),
        },
    )


async def settings(
    http: httpx.AsyncClient, sandbox_url: str, company: Company, **changes: Any
) -> None:
    url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}/settings"
    assert (await http.put(url, json=changes)).status_code == 200


def codes(qbo_invoice: q.Invoice) -> list[str | None]:
    return [
        x.SalesItemLineDetail.TaxCodeRef.value if x.SalesItemLineDetail.TaxCodeRef else None
        for x in qbo_invoice.Line or []
        if x.SalesItemLineDetail
    ]


FLORIDA = [("FL State", "6"), ("Pinellas County", "1")]
# 6% of 13.38 is 0.8028 → 0.80 and 1% is 0.1338 → 0.13: 0.93, where 7% at once is 0.94.
ROUNDING_LINES = [("prod_acid", "1", "10.05", True), ("prod_tabs", "1", "3.33", True)]


async def test_an_ast_company_takes_skimmers_total_tax_and_each_lines_tax_mark(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await settings(http, sandbox_url, company, automated_sales_tax=True, ast_rate_percent=8.25)
    cid, iid = new_id("cust"), new_id("inv")
    lines = [("prod_chlorine", "2", "30.00", True), ("wot_weekly", "1", "60.00", False)]
    the_invoice = taxed_invoice(iid, cid, lines, FLORIDA)  # 7% of 60.00 = 4.20, not AST's 8.25%
    await run_event(dispatcher, paid(company, the_invoice))

    qbo_invoice = await books.invoice(iid)
    assert qbo_invoice.TotalAmt == Decimal(the_invoice["total"]) == Decimal("124.20")
    assert qbo_invoice.TxnTaxDetail and qbo_invoice.TxnTaxDetail.TotalTax == Decimal("4.20")
    assert codes(qbo_invoice) == ["TAX", "NON"]
    assert qbo_invoice.Balance == 0 and await books.customer_balance(cid) == 0
    # The tax is sales tax, never an item line.
    assert len([x for x in qbo_invoice.Line or [] if x.SalesItemLineDetail]) == 2


async def test_a_manual_company_gets_skimmers_rates_and_one_code_made_once(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    lines = [("prod_chlorine", "2", "30.00", True), ("wot_weekly", "1", "60.00", False)]
    first = taxed_invoice(new_id("inv"), new_id("cust"), lines, FLORIDA)
    await run_event(dispatcher, paid(company, first))
    second = taxed_invoice(new_id("inv"), new_id("cust"), ROUNDING_LINES, FLORIDA)
    await run_event(dispatcher, paid(company, second))

    for the_invoice in (first, second):
        qbo_invoice = await books.invoice(the_invoice["id"])
        assert qbo_invoice.TotalAmt == Decimal(the_invoice["total"])
        assert qbo_invoice.Balance == 0
    rates = await books.all(q.TaxRate)
    assert sorted((r.Name, r.RateValue) for r in rates if isinstance(r, q.TaxRate)) == [
        ("FL State", Decimal("6")),
        ("Pinellas County", Decimal("1")),
    ]
    tax_codes = [c for c in await books.all(q.TaxCode) if isinstance(c, q.TaxCode)]
    assert [c.Name for c in tax_codes] == ["FL State 6% + Pinellas County 1%"]
    qbo_first = await books.invoice(first["id"])
    assert qbo_first.TxnTaxDetail and qbo_first.TxnTaxDetail.TxnTaxCodeRef
    assert qbo_first.TxnTaxDetail.TxnTaxCodeRef.value == tax_codes[0].Id
    assert qbo_first.TxnTaxDetail.TotalTax == Decimal("4.20")
    assert codes(qbo_first) == ["TAX", "NON"]
    assert await books.count(q.TaxAgency) == 1


async def test_rounding_each_rate_not_the_combined_rate_keeps_qbo_equal_to_skimmer(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    the_invoice = taxed_invoice(new_id("inv"), new_id("cust"), ROUNDING_LINES, FLORIDA)
    assert the_invoice["total"] == "14.31"  # 13.38 + 0.80 + 0.13 (7% at once: 14.32)
    await run_event(dispatcher, paid(company, the_invoice))
    qbo_invoice = await books.invoice(the_invoice["id"])
    assert qbo_invoice.TotalAmt == Decimal("14.31") and qbo_invoice.Balance == 0


async def test_a_skimmer_total_that_qbo_cannot_reach_is_refused_not_drifted(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    the_invoice = taxed_invoice(new_id("inv"), new_id("cust"), ROUNDING_LINES, FLORIDA)
    # Skimmer rounded the combined 7% and gave the extra cent to the county.
    the_invoice["taxes"][1]["amount"] = "0.14"
    the_invoice["total"] = the_invoice["amount_due"] = "14.32"
    status = await run_event(dispatcher, paid(company, the_invoice), expect="failed")
    assert status.message and "$14.31" in status.message and "$14.32" in status.message
    assert await books.count(q.Invoice) == 0


async def test_two_lanes_taxing_with_one_new_group_make_one_code_and_one_set_of_rates(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    invoices = [
        taxed_invoice(new_id("inv"), new_id("cust"), ROUNDING_LINES, FLORIDA) for _ in range(2)
    ]
    await asyncio.gather(*(run_event(dispatcher, paid(company, x)) for x in invoices))
    assert await books.count(q.TaxCode) == 1
    assert await books.count(q.TaxRate) == 2
    assert await books.count(q.TaxAgency) == 1
    for the_invoice in invoices:
        assert (await books.invoice(the_invoice["id"])).TotalAmt == Decimal("14.31")


async def test_an_untaxed_invoice_is_sent_as_before_without_tax(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    the_invoice = invoice(iid, cid)
    await run_event(dispatcher, paid(company, the_invoice))
    qbo_invoice = await books.invoice(iid)
    assert qbo_invoice.TotalAmt == Decimal("120.00") and qbo_invoice.Balance == 0
    assert not (qbo_invoice.TxnTaxDetail and qbo_invoice.TxnTaxDetail.TotalTax)
    assert await books.count(q.TaxCode) == 0


@pytest.mark.parametrize("automated", [True, False], ids=["ast", "manual"])
async def test_a_taxed_invoice_update_undone_by_a_failed_payment_gets_its_old_tax_back(
    automated: bool,
    dispatcher: EventDispatcher,
    books: Books,
    store: Store,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await settings(http, sandbox_url, company, automated_sales_tax=automated)
    cid, iid = new_id("cust"), new_id("inv")
    lines = [("prod_chlorine", "2", "30.00", True), ("wot_weekly", "1", "60.00", False)]
    first = taxed_invoice(iid, cid, lines, FLORIDA)  # tax 4.20, total 124.20
    await run_event(dispatcher, paid(company, first | {"amount_due": "104.20"}, "20.00"))
    before = await books.invoice(iid)
    assert before.TotalAmt == Decimal("124.20") and before.TxnTaxDetail is not None

    # More taxable chlorine (tax 8.40), paid where QBO cannot take it: the payment fails for
    # good, and the invoice's update is undone, its tax included.
    await store.update_settings(company.company_id, deposit_account_id=None)
    bigger = taxed_invoice(iid, cid, [("prod_chlorine", "4", "30.00", True), lines[1]], FLORIDA)
    assert bigger["total"] == "188.40"
    status = await run_event(
        dispatcher, paid(company, bigger | {"amount_due": "158.40"}, "10.00"), expect="failed"
    )
    assert status.message and "lines restored" in status.message

    after = await books.invoice(iid)
    assert (after.TotalAmt, after.Balance) == (Decimal("124.20"), Decimal("104.20"))
    assert after.TxnTaxDetail is not None
    assert after.TxnTaxDetail.TotalTax == before.TxnTaxDetail.TotalTax == Decimal("4.20")
    assert after.TxnTaxDetail.TxnTaxCodeRef == before.TxnTaxDetail.TxnTaxCodeRef
    assert codes(after) == ["TAX", "NON"]


CANADA = [("GST", "5"), ("BC PST", "7")]


async def test_a_canadian_company_gets_a_real_code_on_every_line_and_skimmers_total(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await settings(http, sandbox_url, company, country="CA")
    cid, iid = new_id("cust"), new_id("inv")
    lines = [("prod_chlorine", "2", "30.00", True), ("wot_weekly", "1", "60.00", False)]
    the_invoice = taxed_invoice(iid, cid, lines, CANADA)  # 3.00 GST + 4.20 PST on 60.00
    await run_event(dispatcher, paid(company, the_invoice))

    qbo_invoice = await books.invoice(iid)
    assert qbo_invoice.TotalAmt == Decimal(the_invoice["total"]) == Decimal("127.20")
    assert qbo_invoice.Balance == 0 and await books.customer_balance(cid) == 0
    assert qbo_invoice.GlobalTaxCalculation == "TaxExcluded"
    assert not (qbo_invoice.TxnTaxDetail and qbo_invoice.TxnTaxDetail.TxnTaxCodeRef)
    by_name = {c.Name: c.Id for c in await books.all(q.TaxCode) if isinstance(c, q.TaxCode)}
    assert codes(qbo_invoice) == [by_name["GST 5% + BC PST 7%"], by_name["Zero-rated"]]


async def test_a_canadian_total_qbo_cannot_reach_is_refused_naming_both_totals(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await settings(http, sandbox_url, company, country="CA")
    the_invoice = taxed_invoice(new_id("inv"), new_id("cust"), ROUNDING_LINES, CANADA)
    assert the_invoice["total"] == "14.99"  # 13.38 + 0.67 + 0.94
    the_invoice["taxes"][1]["amount"] = "0.95"
    the_invoice["total"] = the_invoice["amount_due"] = "15.00"
    status = await run_event(dispatcher, paid(company, the_invoice), expect="failed")
    assert status.message and "$14.99" in status.message and "$15.00" in status.message
    assert await books.count(q.Invoice) == 0


async def test_an_untaxed_invoice_in_a_canadian_company_is_zero_rated_line_by_line(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await settings(http, sandbox_url, company, country="CA")
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(dispatcher, paid(company, invoice(iid, cid)))
    qbo_invoice = await books.invoice(iid)
    assert qbo_invoice.TotalAmt == Decimal("120.00") and qbo_invoice.Balance == 0
    zero_rated = next(
        c.Id
        for c in await books.all(q.TaxCode)
        if isinstance(c, q.TaxCode) and c.Name == "Zero-rated"
    )
    assert set(codes(qbo_invoice)) == {zero_rated}
