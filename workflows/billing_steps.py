"""Steps several billing workflows share: the customer, the invoice's items, the invoice."""

from __future__ import annotations

import asyncio

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customers import CustomerActivities
    from activities.invoices import InvoiceActivities
    from activities.items import ItemActivities
    from activities.models import (
        DeleteTransactionInput,
        EnsureCustomerInput,
        EnsureItemInput,
        InvoiceResult,
        RestoreInvoiceInput,
        SyncOutcome,
        UpsertInvoiceInput,
    )
    from billing.snapshots import Customer, Invoice
    from workflows.checks import currency_problem
    from workflows.common import bad_input
    from workflows.quickbooks import call_quickbooks
    from workflows.saga import Saga

# Patch (docs/DEPLOYS.md): the customer and an invoice's items are ensured in parallel.
CUSTOMER_AND_ITEMS_AT_ONCE = "customer-and-items-at-once"


async def ensure_customer(
    company_id: str, customer: Customer, record: str, currency: str
) -> SyncOutcome:
    outcome: SyncOutcome = await call_quickbooks(
        CustomerActivities.ensure_customer,
        EnsureCustomerInput(company_id=company_id, customer=customer),
    )
    if problem := currency_problem(record, currency, outcome.currency):
        raise bad_input(problem)
    return outcome


async def ensure_items(company_id: str, invoice: Invoice) -> None:
    """Every item the invoice sells that comes with a snapshot exists in QBO (in parallel)."""
    distinct = {(line.item_type, line.item_id): line for line in invoice.lines if line.item}
    await asyncio.gather(
        *(
            call_quickbooks(
                ItemActivities.ensure_item,
                EnsureItemInput(company_id=company_id, item_type=line.item_type, item=line.item),
            )
            for line in distinct.values()
            if line.item is not None
        )
    )


async def ensure_customer_and_items(
    company_id: str, customer: Customer, invoice: Invoice, record: str, currency: str
) -> SyncOutcome:
    """The customer and the invoice's items at once: neither needs the other."""
    if not workflow.patched(CUSTOMER_AND_ITEMS_AT_ONCE):  # runs from before: one after the other
        ensured = await ensure_customer(company_id, customer, record, currency)
        await ensure_items(company_id, invoice)
        return ensured
    ensured, _ = await asyncio.gather(
        ensure_customer(company_id, customer, record, currency), ensure_items(company_id, invoice)
    )
    return ensured


async def upsert_invoice(
    company_id: str, invoice: Invoice, customer_qbo_id: str | None, saga: Saga | None
) -> InvoiceResult:
    """Without a customer (a plain invoice save) only an invoice already in QBO is updated."""
    """Create or update the QBO invoice; with a saga, register how to undo what changed."""
    result: InvoiceResult = await call_quickbooks(
        InvoiceActivities.upsert_invoice,
        UpsertInvoiceInput(
            company_id=company_id,
            invoice=invoice,
            customer_qbo_id=customer_qbo_id,
            create_if_missing=customer_qbo_id is not None,
        ),
    )
    qbo_id = result.qbo_id
    if saga is not None and qbo_id is not None:
        if result.action == "created":
            undo = DeleteTransactionInput(
                company_id=company_id,
                qbo_type="Invoice",
                qbo_id=qbo_id,
                record_kind="invoice",
                record_id=invoice.id,
            )
            saga.on_failure(
                f"invoice {invoice.number} removed",
                lambda: call_quickbooks(InvoiceActivities.delete_transaction, undo),
            )
        elif result.action == "updated" and result.previous_lines is not None:
            restore = RestoreInvoiceInput(
                company_id=company_id,
                invoice_id=invoice.id,
                qbo_id=qbo_id,
                lines=result.previous_lines,
                tax_detail=result.previous_tax,
            )
            saga.on_failure(
                f"invoice {invoice.number} lines restored",
                lambda: call_quickbooks(InvoiceActivities.restore_invoice_lines, restore),
            )
    return result
