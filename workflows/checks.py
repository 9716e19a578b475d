"""Checks of an event's own numbers, done before anything reaches QBO (pure, deterministic)."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

from billing.money import CENT, format_usd
from billing.snapshots import Customer, Invoice, Payment, Payout


def invoice_problem(invoice: Invoice) -> str | None:
    for n, line in enumerate(invoice.lines, start=1):
        expected = (line.quantity * line.unit_price).quantize(CENT, rounding=ROUND_HALF_UP)
        if expected != line.amount:
            return (
                f"invoice {invoice.number} line {n}: amount {format_usd(line.amount)} is not "
                f"quantity {line.quantity} × unit price {format_usd(line.unit_price)}"
            )
    lines_total = sum((line.amount for line in invoice.lines), Decimal(0))
    if invoice.subtotal is not None and invoice.subtotal != lines_total:
        return (
            f"invoice {invoice.number}: its lines add up to {format_usd(lines_total)}, "
            f"not its subtotal {format_usd(invoice.subtotal)}"
        )
    taxable_total = sum((line.amount for line in invoice.lines if line.taxable), Decimal(0))
    for tax in invoice.taxes:
        if tax.amount < 0:
            return f"invoice {invoice.number}: tax {tax.name} {format_usd(tax.amount)} is negative"
        if tax.taxable_amount != taxable_total:
            return (
                f"invoice {invoice.number}: tax {tax.name} is on {format_usd(tax.taxable_amount)}, "
                f"but its taxable lines add up to {format_usd(taxable_total)}"
            )
    taxes_total = sum((tax.amount for tax in invoice.taxes), Decimal(0))
    if lines_total + taxes_total != invoice.total:
        if invoice.taxes:
            return (
                f"invoice {invoice.number}: its lines {format_usd(lines_total)} and taxes "
                f"{format_usd(taxes_total)} add up to {format_usd(lines_total + taxes_total)}, "
                f"not its total {format_usd(invoice.total)}"
            )
        return (
            f"invoice {invoice.number}: its lines add up to {format_usd(lines_total)}, "
            f"not its total {format_usd(invoice.total)}"
        )
    if invoice.total <= 0:
        return f"invoice {invoice.number}: total {format_usd(invoice.total)} must be positive"
    return None


def payment_problem(payment: Payment, invoice: Invoice, customer: Customer) -> str | None:
    if payment.amount <= 0:
        return f"payment {payment.id}: amount {format_usd(payment.amount)} must be positive"
    if payment.invoice_id != invoice.id:
        return f"payment {payment.id} is on invoice {payment.invoice_id}, but the event carries invoice {invoice.id}"
    if payment.customer_id != customer.id or invoice.customer_id != customer.id:
        return f"payment {payment.id}: the payment, the invoice and the customer do not belong together"
    if payment.currency != invoice.currency:
        return f"payment {payment.id} is in {payment.currency} but invoice {invoice.number} is in {invoice.currency}"
    if payment.amount > invoice.total:
        return (
            f"payment {payment.id}: {format_usd(payment.amount)} is more than invoice "
            f"{invoice.number}'s total {format_usd(invoice.total)}"
        )
    return invoice_problem(invoice)


def currency_problem(record: str, currency: str, qbo_currency: str | None) -> str | None:
    if qbo_currency and qbo_currency != currency:
        return (
            f"{record} is in {currency}, but the customer's QuickBooks currency is {qbo_currency}"
        )
    return None


def payout_problem(payout: Payout) -> str | None:
    """The payout's own numbers; that its payments add up to `gross` is checked against QBO."""
    record = f"payout {payout.id}"
    if payout.gross <= 0 or payout.net <= 0:
        return f"{record}: gross {format_usd(payout.gross)} and net {format_usd(payout.net)} must be positive"
    if payout.fees < 0:
        return f"{record}: fees {format_usd(payout.fees)} must not be negative"
    if not payout.payment_ids:
        return f"{record} names no payments"
    refunds = payout.gross - payout.fees - payout.net
    if not payout.refund_ids and refunds != 0:
        return (
            f"{record}: net {format_usd(payout.net)} is not gross {format_usd(payout.gross)} "
            f"less fees {format_usd(payout.fees)}, and the payout carries no refunds"
        )
    if payout.refund_ids and refunds <= 0:
        return (
            f"{record}: gross {format_usd(payout.gross)} less fees {format_usd(payout.fees)} "
            f"leaves nothing for its refunds (net {format_usd(payout.net)})"
        )
    return None
