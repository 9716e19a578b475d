"""SyncCustomer and SyncItem: name-list records (customers, products, work order types, dosages)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.customers import CustomerActivities
    from activities.items import ItemActivities
    from activities.models import EnsureCustomerInput, EnsureItemInput, SyncOutcome
    from workflows.billing_steps import look_up_synced
    from workflows.common import run_logged
    from workflows.models import SyncCustomerInput, SyncItemInput
    from workflows.quickbooks import call_quickbooks


@workflow.defn
class SyncCustomer:
    """customer.saved: create or update the QBO customer; a rename in Skimmer renames it."""

    @workflow.run
    async def run(self, input: SyncCustomerInput) -> SyncOutcome:
        return await run_logged(
            self._sync(input),
            company_id=input.company_id,
            record_type="customer",
            record_id=input.customer.id,
            action="sync",
            event_id=input.event_id,
            customer_name=input.customer.display_name,
        )

    async def _sync(self, input: SyncCustomerInput) -> SyncOutcome:
        synced = (await look_up_synced(input.company_id, input.customer, [])).customer
        if synced is not None:
            return synced
        return await call_quickbooks(
            CustomerActivities.ensure_customer,
            EnsureCustomerInput(company_id=input.company_id, customer=input.customer),
        )


@workflow.defn
class SyncItem:
    """product / work_order_type / dosage saved: create (default income account) or update."""

    @workflow.run
    async def run(self, input: SyncItemInput) -> SyncOutcome:
        return await run_logged(
            self._sync(input),
            company_id=input.company_id,
            record_type=input.item_type,
            record_id=input.item.id,
            action="sync",
            event_id=input.event_id,
        )

    async def _sync(self, input: SyncItemInput) -> SyncOutcome:
        item = EnsureItemInput(
            company_id=input.company_id, item_type=input.item_type, item=input.item
        )
        synced = (await look_up_synced(input.company_id, None, [item])).items
        if synced and synced[0] is not None:
            return synced[0]
        return await call_quickbooks(ItemActivities.ensure_item, item)
