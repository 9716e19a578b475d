"""What an event costs Temporal: records QBO already holds as last written, and the service's own
store work (look-ups, activity-log lines), take no activity task: they run as local activities
inside the workflow task the event has anyway, so only QBO writes go through the task queue. An
event that ends with a QBO activity has that activity write its closing line: no local activity."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import customer, customer_saved, new_id, payment_recorded, wait_done
from tests.qbo_log import RequestLog

pytestmark = pytest.mark.usefixtures("worker")


async def scheduled_and_local(client: Client, workflow_id: str) -> tuple[list[str], int]:
    """The activity types the event's workflow scheduled as tasks, and its local activities."""
    history = await client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    local = sum(
        1
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_MARKER_RECORDED
        and e.marker_recorded_event_attributes.marker_name == "core_local_activity"
    )
    return scheduled, local


async def test_a_payment_on_a_synced_customer_and_items_is_one_activity_task(
    dispatcher: EventDispatcher, temporal_client: Client, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    first = await run_event(
        dispatcher,
        payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "120.00"),
    )
    scheduled, local = await scheduled_and_local(temporal_client, first.workflow_id)
    # The long way's one local activity is the look-up of synced records: apply_payment, which
    # ends the event, wrote its closing line.
    assert local == 1
    # A new customer: the one-step activity finds records to ensure, writes nothing; the long way.
    assert sorted(scheduled) == sorted(
        [
            "sync_paid_invoice",
            "ensure_customer",
            "ensure_item",
            "ensure_item",
            "upsert_invoice",
            "apply_payment",
        ]
    )

    second = await run_event(
        dispatcher,
        payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "80.00"),
    )
    scheduled, local = await scheduled_and_local(temporal_client, second.workflow_id)
    # Nothing else: the activity wrote the event's closing line too.
    assert (scheduled, local) == (["sync_paid_invoice"], 0)
    lines = await store.activity_for_workflow(second.workflow_id)
    assert [(x.outcome, x.action, x.record_type, x.customer_name, x.qbo_type) for x in lines] == [
        ("success", "record", "payment", "Jane Smith", "Payment")
    ]
    assert lines[0].message.startswith("Payment $80.00 on invoice ")


async def test_an_unchanged_customer_save_schedules_no_activity_task(
    dispatcher: EventDispatcher, temporal_client: Client, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await run_event(dispatcher, customer_saved(company.company_id, customer(cid)))
    again = await run_event(dispatcher, customer_saved(company.company_id, customer(cid)))

    scheduled, local = await scheduled_and_local(temporal_client, again.workflow_id)
    assert (scheduled, local) == ([], 2)
    lines = await store.activity_for_workflow(again.workflow_id)
    assert [(x.outcome, x.message) for x in lines] == [
        ("success", "Customer Jane Smith already matches QuickBooks")
    ]


async def test_a_payment_failing_after_its_invoice_in_the_one_activity_is_undone_by_the_saga(
    dispatcher: EventDispatcher, temporal_client: Client, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await run_event(
        dispatcher,
        payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "120.00"),
    )
    await store.update_settings(company.company_id, deposit_account_id=None)
    iid = new_id("inv")
    failed = await run_event(
        dispatcher,
        payment_recorded(company.company_id, cid, iid, new_id("pay"), "120.00"),
        expect="failed",
    )

    # The invoice step's result rode on the payment step's failure: the saga removed it.
    scheduled, _ = await scheduled_and_local(temporal_client, failed.workflow_id)
    assert scheduled == ["sync_paid_invoice", "delete_transaction"]
    assert failed.message is not None and "invoice" in failed.message
    assert await store.get_link(company.company_id, company.realm_id, "invoice", iid) is None


async def test_a_one_step_payment_retried_after_its_invoice_was_sent_goes_on_with_it(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    store: Store,
    company: Company,
    qbo_log: RequestLog,
    http: httpx.AsyncClient,
    sandbox_url: str,
    books: Books,
) -> None:
    cid = new_id("cust")
    await run_event(
        dispatcher,
        payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "120.00"),
    )
    # QBO makes the invoice but its answer is lost; before the retry, another lane rewrites a
    # shared item's link (its snapshot changed): the look-up would now say "ensure it first".
    fault = {"kind": "drop_after_commit", "path": "invoice", "method": "POST", "times": 1}
    faults_url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults"
    assert (await http.post(faults_url, json=fault)).status_code == 201
    before = len(await qbo_log.entries())
    iid = new_id("inv")
    event = payment_recorded(company.company_id, cid, iid, new_id("pay"), "120.00")
    await dispatcher.submit(event)
    while not any(e["path"].endswith("/invoice") for e in (await qbo_log.entries())[before:]):
        await asyncio.sleep(0.02)
    await store.forget_link_state(company.company_id, company.realm_id, "product", "prod_chlorine")

    done = await wait_done(dispatcher, event.event_id)
    assert done.status == "completed", done.message
    scheduled, _ = await scheduled_and_local(temporal_client, done.workflow_id)
    assert scheduled == ["sync_paid_invoice"]  # not the long way, whose requestids are new
    lines = await store.activity_for_workflow(done.workflow_id)
    assert [x.outcome for x in lines] == ["success"]  # one closing line, the retrying one gone
    assert await books.count(q.Invoice) == 2
    assert (await books.invoice(iid)).Balance == Decimal("0.00")
