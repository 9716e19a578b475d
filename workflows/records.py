"""SyncCustomer and SyncItem: name-list records (customers, products, work order types, dosages)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customers import CustomerActivities
    from activities.items import ItemActivities
    from activities.models import EnsureCustomerInput, EnsureItemInput, SyncOutcome
    from workflows.common import run_logged
    from workflows.models import SyncCustomerInput, SyncItemInput
    from workflows.quickbooks import call_quickbooks


@workflow.defn
class SyncCustomer:
    """customer.saved: create or update the QBO customer; a rename in Skimmer renames it."""

    @workflow.run
    async def run(self, input: SyncCustomerInput) -> SyncOutcome:
        return await run_logged(
            call_quickbooks(
                CustomerActivities.ensure_customer,
                EnsureCustomerInput(company_id=input.company_id, customer=input.customer),
            ),
            company_id=input.company_id,
            record_type="customer",
            record_id=input.customer.id,
            action="sync",
            event_id=input.event_id,
            customer_name=input.customer.display_name,
        )


@workflow.defn
class SyncItem:
    """product / work_order_type / dosage saved: create (default income account) or update."""

    @workflow.run
    async def run(self, input: SyncItemInput) -> SyncOutcome:
        return await run_logged(
            call_quickbooks(
                ItemActivities.ensure_item,
                EnsureItemInput(
                    company_id=input.company_id, item_type=input.item_type, item=input.item
                ),
            ),
            company_id=input.company_id,
            record_type=input.item_type,
            record_id=input.item.id,
            action="sync",
            event_id=input.event_id,
        )
