"""SyncInvoice: an invoice already in QBO was edited in Skimmer; its lines and totals match again.
VoidInvoice / DeleteInvoice: it was voided or deleted in Skimmer; QBO follows, payments first."""

from __future__ import annotations

from typing import Literal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoice_removal import InvoiceRemovalActivities, what_was_removed
    from activities.invoices import InvoiceActivities
    from activities.models import (
        EndInvoiceInput,
        InvoiceRefInput,
        InvoiceRemoval,
        LinkQuery,
        RemoveInvoicePaymentInput,
        SyncOutcome,
    )
    from workflows.billing_steps import ensure_items, upsert_invoice
    from workflows.checks import invoice_problem
    from workflows.common import bad_input, run_logged
    from workflows.models import InvoiceChangeInput, SyncInvoiceInput
    from workflows.policies import LOCAL_STORE_WORK, QBO_CALL, STORE_LOOKUP
    from workflows.quickbooks import call_quickbooks


@workflow.defn
class SyncInvoice:
    @workflow.run
    async def run(self, input: SyncInvoiceInput) -> SyncOutcome:
        return await run_logged(
            self._sync(input),
            company_id=input.company_id,
            record_type="invoice",
            record_id=input.invoice.id,
            action="sync",
            event_id=input.event_id,
        )

    async def _sync(self, input: SyncInvoiceInput) -> SyncOutcome:
        invoice = input.invoice
        linked: str | None = await call_quickbooks(
            InvoiceActivities.find_link,
            LinkQuery(company_id=input.company_id, record_kind="invoice", record_id=invoice.id),
            STORE_LOOKUP if workflow.patched(LOCAL_STORE_WORK) else QBO_CALL,
        )
        if linked is None:  # unpaid and never synced: it stays in Skimmer, nothing is sent
            return SyncOutcome(
                action="skipped",
                qbo_type="Invoice",
                qbo_id="",
                message=f"Invoice {invoice.number} not sent: unpaid invoices stay in Skimmer",
            )
        if problem := invoice_problem(invoice):
            raise bad_input(problem)
        await ensure_items(input.company_id, invoice)
        result = await upsert_invoice(input.company_id, invoice, None, saga=None)
        return SyncOutcome(
            action=result.action,
            qbo_type="Invoice",
            qbo_id=result.qbo_id or "",
            message=result.message,
        )


@workflow.defn
class VoidInvoice:
    """Its QBO payments voided (card, ACH) or deleted, credits unapplied; then the invoice voided."""

    @workflow.run
    async def run(self, input: InvoiceChangeInput) -> SyncOutcome:
        return await _end_invoice(input, "void")


@workflow.defn
class DeleteInvoice:
    """Its QBO payments voided (card, ACH) or deleted, credits unapplied; then the invoice deleted."""

    @workflow.run
    async def run(self, input: InvoiceChangeInput) -> SyncOutcome:
        return await _end_invoice(input, "delete")


async def _end_invoice(input: InvoiceChangeInput, how: Literal["void", "delete"]) -> SyncOutcome:
    return await run_logged(
        _remove_from_quickbooks(input, how),
        company_id=input.company_id,
        record_type="invoice",
        record_id=input.invoice_id,
        action=how,
        event_id=input.event_id,
    )


async def _remove_from_quickbooks(
    input: InvoiceChangeInput, how: Literal["void", "delete"]
) -> SyncOutcome:
    company = input.company_id
    found: InvoiceRemoval = await call_quickbooks(
        InvoiceRemovalActivities.invoice_payments,
        InvoiceRefInput(company_id=company, invoice_id=input.invoice_id, how=how),
    )
    if found.action != "remove":
        return SyncOutcome(
            action=found.action, qbo_type="Invoice", qbo_id=found.qbo_id, message=found.message
        )
    # QBO refuses to void or delete an invoice while anything applies to it.
    for payment in found.payments:
        await call_quickbooks(
            InvoiceRemovalActivities.remove_invoice_payment,
            RemoveInvoicePaymentInput(
                company_id=company,
                invoice_id=input.invoice_id,
                invoice_qbo_id=found.qbo_id,
                payment=payment,
            ),
        )
    ended: SyncOutcome = await call_quickbooks(
        InvoiceRemovalActivities.remove_invoice,
        EndInvoiceInput(
            company_id=company,
            invoice_id=input.invoice_id,
            qbo_id=found.qbo_id,
            number=found.number,
            how=how,
        ),
    )
    if found.payments:
        before = ", ".join(what_was_removed(p) for p in found.payments)
        ended = ended.model_copy(update={"message": f"{ended.message} (first {before})"})
    return ended
