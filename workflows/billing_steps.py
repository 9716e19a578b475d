"""Steps several billing workflows share: the customer, the invoice's items, the invoice."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.common import STALE_REFERENCE
    from activities.customers import CustomerActivities
    from activities.invoices import InvoiceActivities
    from activities.items import ItemActivities, invoice_items
    from activities.models import (
        DeleteTransactionInput,
        EnsureCustomerInput,
        EnsureItemInput,
        InvoiceResult,
        RestoreInvoiceInput,
        SyncedQuery,
        SyncedRecords,
        SyncOutcome,
        UpsertInvoiceInput,
    )
    from activities.synced import SyncedActivities
    from billing.snapshots import Customer, Invoice
    from workflows.checks import currency_problem
    from workflows.common import bad_input
    from workflows.policies import STORE_LOOKUP
    from workflows.quickbooks import call_quickbooks
    from workflows.saga import Saga

# Patches (docs/DEPLOYS.md): the customer and an invoice's items are ensured in parallel; and
# first looked up in the store (a local activity), so records QBO holds as last written cost no
# activity task.
CUSTOMER_AND_ITEMS_AT_ONCE = "customer-and-items-at-once"
SYNCED_LOOKED_UP_FIRST = "synced-records-looked-up-first"


async def ensure_customer(
    company_id: str,
    customer: Customer,
    record: str,
    currency: str,
    *,
    synced: SyncOutcome | None = None,
    recheck: bool = False,
) -> SyncOutcome:
    """The customer in QBO (`synced`: the look-up found it as last written, nothing to run)."""
    outcome = synced
    if outcome is None:
        outcome = await call_quickbooks(
            CustomerActivities.ensure_customer,
            EnsureCustomerInput(company_id=company_id, customer=customer, recheck=recheck),
        )
    if problem := currency_problem(record, currency, outcome.currency):
        raise bad_input(problem)
    return outcome


async def ensure_items(
    company_id: str,
    invoice: Invoice,
    *,
    synced: Sequence[SyncOutcome | None] = (),
    recheck: bool = False,
) -> None:
    """Every item the invoice sells exists in QBO (in parallel); `synced[i]` set: item i was
    found as last written and needs nothing."""
    items = invoice_items(company_id, invoice, recheck)
    await asyncio.gather(
        *(
            call_quickbooks(ItemActivities.ensure_item, item)
            for i, item in enumerate(items)
            if i >= len(synced) or synced[i] is None
        )
    )


async def look_up_synced(
    company_id: str, customer: Customer | None, items: list[EnsureItemInput]
) -> SyncedRecords:
    """Which of the customer and the items QBO holds as last written (store only; runs from
    before SYNCED_LOOKED_UP_FIRST: none, as then)."""
    if (customer is None and not items) or not workflow.patched(SYNCED_LOOKED_UP_FIRST):
        return SyncedRecords()
    return await call_quickbooks(
        SyncedActivities.look_up_synced,
        SyncedQuery(company_id=company_id, customer=customer, items=items),
        STORE_LOOKUP,
    )


async def ensure_customer_and_items(
    company_id: str,
    customer: Customer,
    invoice: Invoice,
    record: str,
    currency: str,
    *,
    recheck: bool = False,
) -> SyncOutcome:
    """The customer and the invoice's items at once: neither needs the other. `recheck`: look
    at them in QBO even if their links say nothing changed."""
    if not workflow.patched(CUSTOMER_AND_ITEMS_AT_ONCE):  # runs from before: one after the other
        ensured = await ensure_customer(company_id, customer, record, currency)
        await ensure_items(company_id, invoice)
        return ensured
    synced = SyncedRecords()
    if not recheck:
        synced = await look_up_synced(company_id, customer, invoice_items(company_id, invoice))
    ensured, _ = await asyncio.gather(
        ensure_customer(
            company_id, customer, record, currency, synced=synced.customer, recheck=recheck
        ),
        ensure_items(company_id, invoice, synced=synced.items, recheck=recheck),
    )
    return ensured


async def ensure_then_upsert_invoice(
    company_id: str,
    customer: Customer,
    invoice: Invoice,
    record: str,
    currency: str,
    saga: Saga,
    *,
    recheck: bool = False,
) -> tuple[SyncOutcome, InvoiceResult]:
    """The customer and items ensured, then the invoice created or updated. If QBO refuses a
    reference to the customer or an item (made inactive or merged there by hand since our last
    write, which the links cannot know), they are looked at in QBO once and the invoice sent
    again (`recheck`: QBO refused it already, look at them at once)."""
    if not recheck:
        ensured = await ensure_customer_and_items(company_id, customer, invoice, record, currency)
        try:
            return ensured, await upsert_invoice(company_id, invoice, ensured.qbo_id, saga)
        except ActivityError as err:
            if not failed_with(err, STALE_REFERENCE):
                raise
    ensured = await ensure_customer_and_items(
        company_id, customer, invoice, record, currency, recheck=True
    )
    return ensured, await upsert_invoice(company_id, invoice, ensured.qbo_id, saga)


def failed_with(error: ActivityError, kind: str) -> bool:
    cause = error.cause
    return isinstance(cause, ApplicationError) and cause.type == kind


async def upsert_invoice(
    company_id: str, invoice: Invoice, customer_qbo_id: str | None, saga: Saga | None
) -> InvoiceResult:
    """Create or update the QBO invoice; with a saga, register how to undo what changed.
    Without a customer (a plain invoice save) only an invoice already in QBO is updated."""
    result: InvoiceResult = await call_quickbooks(
        InvoiceActivities.upsert_invoice,
        UpsertInvoiceInput(
            company_id=company_id,
            invoice=invoice,
            customer_qbo_id=customer_qbo_id,
            create_if_missing=customer_qbo_id is not None,
        ),
    )
    if saga is not None:
        undo_on_failure(saga, company_id, invoice, result)
    return result


def undo_on_failure(saga: Saga, company_id: str, invoice: Invoice, result: InvoiceResult) -> None:
    """Register how to undo what an invoice step did: remove what it created, put back the
    lines it replaced."""
    qbo_id = result.qbo_id
    if qbo_id is None:
        return
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
