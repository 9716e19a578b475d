"""SyncInvoice: an invoice already in QBO was edited in Skimmer; its lines and totals match again."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities
    from activities.models import LinkQuery, SyncOutcome
    from workflows.billing_steps import ensure_items, upsert_invoice
    from workflows.checks import invoice_problem
    from workflows.common import bad_input, run_logged
    from workflows.models import SyncInvoiceInput
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
