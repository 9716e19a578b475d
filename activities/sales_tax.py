"""Skimmer's sales tax on a QBO invoice: each line TAX/NON, and the tax as QBO's `TxnTaxDetail`.

AST companies take Skimmer's total tax as an override; manual and non-US companies get Skimmer's
rates as QBO TaxRates and the invoice's group of rates as one TaxCode, made once by name.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from temporalio.exceptions import ApplicationError

from activities.common import permanent, request_key
from billing.money import CENT, format_usd
from billing.snapshots import Invoice, Tax
from qbo import DuplicateNameError, QBOClient
from qbo import models as q
from qbo.client import quote
from store import Connection, Store

AGENCY_NAME = "Skimmer sales tax"
UNTAXED_CODES = ("Zero-rated", "Exempt")
"""What a non-US QBO company calls the codes of untaxed lines, preferred first."""
AST = "ast"
MANUAL = "manual"


@dataclass(frozen=True)
class SalesTax:
    """What a taxed invoice sends: every line's tax code and the invoice's `TxnTaxDetail`."""

    line_codes: list[str]
    detail: q.TaxDetail | None
    # Non-US companies: "TaxExcluded" (QBO adds the lines' codes' rates on top).
    calculation: str | None = None


def code_name(taxes: list[Tax]) -> str:
    """The QBO TaxCode of one Skimmer tax group, e.g. "FL State 6% + County 1%"."""
    return " + ".join(f"{tax.name} {tax.rate_percent.normalize():f}%" for tax in taxes)[:100]


def qbo_rate_amount(tax: Tax) -> Decimal:
    """What QBO computes for one rate: its own cent amount, rounded half up."""
    return (tax.taxable_amount * tax.rate_percent / 100).quantize(CENT, rounding=ROUND_HALF_UP)


async def sales_tax_mode(qbo: QBOClient, store: Store, conn: Connection) -> str:
    """ "ast", "manual" or a non-US country code; read from QBO once and kept on the connection."""
    if conn.sales_tax_mode:
        return conn.sales_tax_mode
    info = await qbo.read(conn.realm_id, q.CompanyInfo, conn.realm_id)
    country = (info.Country or "US").upper()
    if country != "US":
        mode = country
    else:
        prefs = await qbo.query(conn.realm_id, q.Preferences, "SELECT * FROM Preferences")
        tax_prefs = (prefs[0].TaxPrefs or {}) if prefs else {}
        mode = AST if tax_prefs.get("PartnerTaxEnabled") else MANUAL
    await store.remember_sales_tax_mode(conn.company_id, conn.realm_id, mode)
    conn.sales_tax_mode = mode  # the caller's copy knows it too: read once per activity at most
    return mode


async def invoice_sales_tax(
    qbo: QBOClient, store: Store, conn: Connection, invoice: Invoice
) -> SalesTax | None:
    """The tax of an invoice as this QBO company needs it (shared tax records made once); None
    for an untaxed invoice in a US company, which sends no codes at all."""
    if not invoice.taxes and conn.sales_tax_mode in (AST, MANUAL):
        return None
    mode = await sales_tax_mode(qbo, store, conn)
    record = f"invoice {invoice.number}"
    if mode not in (AST, MANUAL):
        return await per_line_sales_tax(qbo, conn.realm_id, invoice, record)
    if not invoice.taxes:
        return None
    codes = ["TAX" if line.taxable else "NON" for line in invoice.lines]
    total_tax = sum((tax.amount for tax in invoice.taxes), Decimal(0))
    if mode == AST:
        # QBO's AST override: Skimmer's total tax replaces the engine's own.
        return SalesTax(codes, q.TaxDetail(TotalTax=total_tax))
    refuse_drift(invoice, record)
    code = await ensure_tax_code(qbo, conn.realm_id, list(invoice.taxes), record)
    return SalesTax(codes, q.TaxDetail(TxnTaxCodeRef=q.Ref(value=code)))


async def per_line_sales_tax(qbo: QBOClient, realm: str, invoice: Invoice, record: str) -> SalesTax:
    """Non-US companies: a real code on every line, the group's code on taxable lines and the
    company's zero-rated code on the others (QBO refuses a line without one)."""
    untaxed = await untaxed_code(qbo, realm, record)
    if not invoice.taxes:
        return SalesTax([untaxed] * len(invoice.lines), None, "TaxExcluded")
    refuse_drift(invoice, record)
    code = await ensure_tax_code(qbo, realm, list(invoice.taxes), record)
    codes = [code if line.taxable else untaxed for line in invoice.lines]
    return SalesTax(codes, None, "TaxExcluded")


async def untaxed_code(qbo: QBOClient, realm: str, record: str) -> str:
    """The company's own "Zero-rated" code (else "Exempt"), which carries no tax."""
    names = ", ".join(quote(name) for name in UNTAXED_CODES)
    rows = await qbo.query(realm, q.TaxCode, f"SELECT * FROM TaxCode WHERE Name IN ({names})")
    by_name = {(row.Name or "").casefold(): row.Id for row in rows if row.Active is not False}
    for name in UNTAXED_CODES:
        found = by_name.get(name.casefold())
        if found:
            return found
    raise permanent(
        f"{record}: the QuickBooks company has no Zero-rated or Exempt tax code for its "
        "untaxed lines, so it was not sent"
    )


def refuse_drift(invoice: Invoice, record: str) -> None:
    """QBO ignores a sent TotalTax and rounds each rate on its own. When Skimmer's amounts are
    not those, QBO's total would drift from Skimmer's by a cent: the books would be wrong, and no
    tax-only fix exists (an adjustment line would not be sales tax), so refuse."""
    total_tax = sum((tax.amount for tax in invoice.taxes), Decimal(0))
    qbo_tax = sum((qbo_rate_amount(tax) for tax in invoice.taxes), Decimal(0))
    if qbo_tax != total_tax:
        lines = sum((line.amount for line in invoice.lines), Decimal(0))
        raise permanent(
            f"{record}: QuickBooks would total {format_usd(lines + qbo_tax)} (tax "
            f"{format_usd(qbo_tax)}, each rate rounded on its own) but Skimmer's total is "
            f"{format_usd(invoice.total)} (tax {format_usd(total_tax)}); not sent, so the books "
            "do not drift"
        )


async def find_tax_code(qbo: QBOClient, realm: str, name: str) -> q.TaxCode | None:
    rows = await qbo.query(realm, q.TaxCode, f"SELECT * FROM TaxCode WHERE Name = {quote(name)}")
    return rows[0] if rows else None


async def find_tax_rates(qbo: QBOClient, realm: str, taxes: list[Tax]) -> dict[str, q.TaxRate]:
    names = ", ".join(quote(tax.name) for tax in taxes)
    rows = await qbo.query(realm, q.TaxRate, f"SELECT * FROM TaxRate WHERE Name IN ({names})")
    return {(row.Name or "").casefold(): row for row in rows}


async def ensure_agency(qbo: QBOClient, realm: str) -> str:
    """The agency Skimmer's rates are filed under, created once (6240: another lane made it)."""
    statement = f"SELECT * FROM TaxAgency WHERE DisplayName = {quote(AGENCY_NAME)}"
    for _ in range(2):
        rows = await qbo.query(realm, q.TaxAgency, statement)
        if rows and rows[0].Id:
            return rows[0].Id
        try:
            made = await qbo.create(
                realm,
                q.TaxAgency(DisplayName=AGENCY_NAME),
                request_key(f"{realm}/taxagency/{AGENCY_NAME}"),
            )
        except DuplicateNameError:
            continue
        assert made.Id is not None
        return made.Id
    raise not_listed_yet("tax agency", AGENCY_NAME)


async def ensure_tax_code(qbo: QBOClient, realm: str, taxes: list[Tax], record: str) -> str:
    """The TaxCode of the invoice's tax group: found by name, else made with its rates once."""
    name = code_name(taxes)
    found = await find_tax_code(qbo, realm, name)
    if found is not None and found.Id:
        return found.Id
    rates = await find_tax_rates(qbo, realm, taxes)
    details: list[dict[str, object]] = []
    agency: str | None = None
    for tax in taxes:
        rate = rates.get(tax.name.casefold())
        if rate is not None:
            if rate.RateValue is not None and rate.RateValue != tax.rate_percent:
                raise permanent(
                    f"{record}: the QuickBooks tax rate {tax.name} is {rate.RateValue}%, "
                    f"Skimmer's is {tax.rate_percent}%; rename one of them"
                )
            details.append({"TaxRateId": rate.Id})
            continue
        agency = agency or await ensure_agency(qbo, realm)
        details.append(
            {
                "TaxRateName": tax.name,
                "RateValue": tax.rate_percent,
                "TaxAgencyId": agency,
                "TaxApplicableOn": "Sales",
            }
        )
    body = {"TaxCode": name, "TaxRateDetails": details}
    try:
        reply = await qbo.tax_service(realm, body, request_key(f"{realm}/taxcode/{name}"))
    except DuplicateNameError:
        # Another lane made the code or one of its rates meanwhile: take its code, or retry
        # (the next attempt reuses the rates it finds).
        found = await find_tax_code(qbo, realm, name)
        if found is not None and found.Id:
            return found.Id
        raise not_listed_yet("tax code", name) from None
    return str(reply["TaxCodeId"])


def not_listed_yet(kind: str, name: str) -> ApplicationError:
    # QBO's queries can trail its writes by a moment: look again on the next attempt.
    return ApplicationError(
        f"QuickBooks says a {kind} named {name!r} exists but does not list it yet",
        type="QBOUnavailable",
    )
