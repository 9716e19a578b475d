"""Reconciliation: QBO edited behind the service's back is reported in the activity log, and what
Skimmer owns is repaired; its schedule follows the sync switch. Real worker, Temporal, sandbox."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from click.testing import CliRunner
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from config import Settings
from devstack.api_access import carry_key
from qbo import models as q
from starter.cli import main as cli
from starter.dispatch import EventDispatcher
from starter.reconcile import reconcile_now, schedule_id
from store import ActivityLogEntry, Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import new_id, payment_recorded
from tests.processes import serve
from tests.test_sales_tax_sync import FLORIDA, codes, paid, taxed_invoice
from workflows.models import ReconcileResult

pytestmark = pytest.mark.usefixtures("worker")

EVERY = timedelta(hours=6)


async def reconcile(
    temporal_client: Client, settings: Settings, store: Store, company: Company
) -> tuple[ReconcileResult, list[ActivityLogEntry]]:
    """Reconcile on demand; its result and the activity-log lines this very run wrote."""
    workflow_id = await reconcile_now(temporal_client, company.company_id, settings.task_queue)
    handle = temporal_client.get_workflow_handle(workflow_id)
    result = ReconcileResult.model_validate(await handle.result())
    run_id = (await handle.describe()).run_id
    lines = [
        line
        for line in await store.list_activity(company.company_id, limit=500)
        if line.entry_key.startswith(f"{run_id}/")
    ]
    return result, lines


async def paid_invoice(dispatcher: EventDispatcher, company: Company) -> tuple[str, str, str, str]:
    """(customer, invoice, invoice number, payment): a $120.00 invoice paid in full, synced."""
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await run_event(dispatcher, payment_recorded(company.company_id, cid, iid, pid, "120.00"))
    return cid, iid, iid.upper(), pid


@pytest.fixture
async def synced(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    settings: Settings,
    store: Store,
    company: Company,
) -> tuple[str, str, str, str]:
    """A paid invoice, and a first reconciliation that found QBO as the service left it."""
    records = await paid_invoice(dispatcher, company)
    first, lines = await reconcile(temporal_client, settings, store, company)
    assert (first.mode, first.differences, lines) == ("read", 0, [])
    return records


async def test_a_payment_deleted_by_hand_in_qbo_is_reported_and_recreated(
    synced: tuple[str, str, str, str],
    temporal_client: Client,
    settings: Settings,
    store: Store,
    books: Books,
    company: Company,
) -> None:
    cid, iid, number, pid = synced
    deleted_id = await books.qbo_id("payment", pid)
    current = await books.qbo.read(company.realm_id, q.Payment, deleted_id)
    assert current.SyncToken is not None
    await books.qbo.delete(company.realm_id, q.Payment, deleted_id, current.SyncToken, new_id("r"))
    assert (await books.invoice(iid)).Balance == Decimal("120.00")

    result, lines = await reconcile(temporal_client, settings, store, company)

    assert result.mode == "changes"  # QBO's change feed since the first run, not full reads
    assert [(x.record_type, x.record_id, x.outcome, x.message) for x in lines] == [
        (
            "payment",
            pid,
            "success",
            f"Payment $120.00 on invoice {number} was deleted in QuickBooks by hand; recreated",
        )
    ]
    recreated_id = await books.qbo_id("payment", pid)
    assert recreated_id != deleted_id
    recreated = await books.qbo.read(company.realm_id, q.Payment, recreated_id)
    assert recreated.TotalAmt == Decimal("120.00")
    assert (await books.invoice(iid)).Balance == Decimal("0.00")
    assert await books.customer_balance(cid) == Decimal("0.00")
    assert await books.count(q.Payment) == 1

    again, quiet = await reconcile(temporal_client, settings, store, company)
    assert (again.mode, again.differences, quiet) == ("changes", 0, [])
    assert await books.count(q.Payment) == 1


async def test_invoice_lines_edited_by_hand_in_qbo_are_restored_from_skimmer(
    synced: tuple[str, str, str, str],
    temporal_client: Client,
    settings: Settings,
    store: Store,
    books: Books,
    company: Company,
) -> None:
    cid, iid, number, _ = synced
    invoice = await books.invoice(iid)
    assert invoice.Id and invoice.SyncToken and invoice.Line
    first = invoice.Line[0]
    assert first.SalesItemLineDetail is not None
    edited = first.model_copy(
        update={
            "Amount": Decimal("90.00"),
            "SalesItemLineDetail": first.SalesItemLineDetail.model_copy(update={"Qty": Decimal(3)}),
        }
    )
    by_hand = q.Invoice(
        Id=invoice.Id, SyncToken=invoice.SyncToken, Line=[edited, *invoice.Line[1:]]
    )
    await books.qbo.update(company.realm_id, by_hand, new_id("r"))
    assert (await books.invoice(iid)).TotalAmt == Decimal("150.00")

    result, lines = await reconcile(temporal_client, settings, store, company)

    assert [(x.record_type, x.record_id, x.outcome, x.message) for x in lines] == [
        (
            "invoice",
            iid,
            "success",
            f"Invoice {number}: its lines were changed in QuickBooks by hand; "
            "Skimmer's lines restored",
        )
    ]
    restored = await books.invoice(iid)
    assert (restored.TotalAmt, restored.Balance) == (Decimal("120.00"), Decimal("0.00"))
    assert [x.Amount for x in restored.Line or [] if x.SalesItemLineDetail] == [
        Decimal("60.00"),
        Decimal("60.00"),
    ]
    assert await books.customer_balance(cid) == Decimal("0.00")
    assert result.repaired == 1

    again, quiet = await reconcile(temporal_client, settings, store, company)
    assert (again.differences, quiet) == (0, [])


async def test_an_items_income_account_changed_by_hand_is_reported_and_left_alone(
    synced: tuple[str, str, str, str],
    temporal_client: Client,
    settings: Settings,
    store: Store,
    books: Books,
    company: Company,
) -> None:
    item_id = await books.qbo_id("product", "prod_chlorine")
    item = await books.qbo.read(company.realm_id, q.Item, item_id)
    assert item.SyncToken is not None
    accounts = await books.qbo.query(
        company.realm_id, q.Account, "SELECT * FROM Account WHERE AccountType = 'Income'"
    )
    chosen = next(a.Id for a in accounts if a.Id != company.accounts["Sales of Product Income"])
    await books.qbo.update(
        company.realm_id,
        q.Item(Id=item_id, SyncToken=item.SyncToken, IncomeAccountRef=q.Ref(value=chosen)),
        new_id("r"),
    )

    result, lines = await reconcile(temporal_client, settings, store, company)

    assert [(x.record_type, x.record_id, x.outcome, x.message) for x in lines] == [
        (
            "product",
            "prod_chlorine",
            "skipped",
            "Item Item prod_chlorine: its income account was changed in QuickBooks; "
            "left as the bookkeeper set it",
        )
    ]
    after = await books.qbo.read(company.realm_id, q.Item, item_id)
    assert after.IncomeAccountRef is not None and after.IncomeAccountRef.value == chosen
    assert result.repaired == 0

    again, quiet = await reconcile(temporal_client, settings, store, company)
    assert (again.differences, quiet) == (0, [])


async def test_a_balance_that_drifted_in_qbo_is_reported(
    synced: tuple[str, str, str, str],
    temporal_client: Client,
    settings: Settings,
    store: Store,
    books: Books,
    company: Company,
) -> None:
    cid, _, _, _ = synced
    # The bookkeeper invoices the customer $10.00 in QuickBooks; Skimmer knows nothing of it.
    customer_id = await books.qbo_id("customer", cid)
    item_id = await books.qbo_id("product", "prod_chlorine")
    line = q.TxnLine(
        Amount=Decimal("10.00"),
        DetailType="SalesItemLineDetail",
        SalesItemLineDetail=q.SalesDetail(
            ItemRef=q.Ref(value=item_id), Qty=Decimal(1), UnitPrice=Decimal("10.00")
        ),
    )
    await books.qbo.create(
        company.realm_id, q.Invoice(CustomerRef=q.Ref(value=customer_id), Line=[line]), new_id("r")
    )
    # ...and edits the memo of Skimmer's invoice, so the change feed names the customer.
    payment_id = await books.qbo_id("payment", synced[3])
    payment = await books.qbo.read(company.realm_id, q.Payment, payment_id)
    assert payment.SyncToken is not None
    await books.qbo.update(
        company.realm_id,
        q.Payment(Id=payment_id, SyncToken=payment.SyncToken, PrivateNote="checked"),
        new_id("r"),
    )

    _, lines = await reconcile(temporal_client, settings, store, company)

    assert [(x.record_type, x.record_id, x.outcome, x.message) for x in lines] == [
        ("customer", cid, "failed", "Customer Jane Smith: balance $10.00 in QuickBooks, $0.00 in Skimmer")
    ]  # fmt: skip


@pytest.fixture
async def api(
    settings: Settings, temporal_client: Client, store: Store, http: httpx.AsyncClient
) -> AsyncIterator[tuple[str, Settings]]:
    configured = settings.model_copy(update={"reconcile_every": EVERY})
    async for url in serve(configured, temporal_client, store):
        carry_key(http, [url], configured.admin_api_key)
        yield url, configured


async def test_the_schedule_follows_the_sync_switch_and_goes_with_a_disconnect(
    api: tuple[str, Settings],
    temporal_client: Client,
    company: Company,
    http: httpx.AsyncClient,
) -> None:
    url, _ = api
    settings_url = f"{url}/companies/{company.company_id}/quickbooks/settings"
    handle = temporal_client.get_schedule_handle(schedule_id(company.company_id))
    assert schedule_id(company.company_id) == f"reconcile/{company.company_id}"

    assert (await http.put(settings_url, json={"sync_enabled": True})).status_code == 200
    described = await handle.describe()
    assert [i.every for i in described.schedule.spec.intervals] == [EVERY]
    assert described.schedule.state.paused is False

    assert (await http.put(settings_url, json={"sync_enabled": False})).status_code == 200
    assert (await handle.describe()).schedule.state.paused is True
    assert (await http.put(settings_url, json={"sync_enabled": True})).status_code == 200
    assert (await handle.describe()).schedule.state.paused is False

    disconnect = await http.delete(f"{url}/companies/{company.company_id}/quickbooks/connection")
    assert disconnect.status_code == 200
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND


async def test_reconcile_on_demand_over_http_and_from_the_command_line(
    api: tuple[str, Settings],
    temporal_client: Client,
    store: Store,
    company: Company,
    http: httpx.AsyncClient,
) -> None:
    url, configured = api
    answer = await http.post(f"{url}/companies/{company.company_id}/reconcile")
    assert answer.status_code == 202
    workflow_id = answer.json()["workflow_id"]
    assert workflow_id == f"reconcile/{company.company_id}"
    await temporal_client.get_workflow_handle(workflow_id).result()
    unknown = await http.post(f"{url}/companies/co_nobody/reconcile")
    assert unknown.status_code == 404

    env = {
        "TEMPORAL_ADDRESS": temporal_client.service_client.config.target_host,
        "TEMPORAL_TASK_QUEUE": configured.task_queue,
        "DATABASE_URL": configured.database_url,
        "TOKEN_ENCRYPTION_KEY": configured.token_encryption_key,
        "PAYLOAD_ENCRYPTION_KEYS": configured.payload_encryption_keys,
    }
    typed = await asyncio.to_thread(
        CliRunner().invoke, cli, ["reconcile", company.company_id], env=env
    )
    assert typed.exit_code == 0, typed.output
    assert f"reconciliation of {company.company_id} started: {workflow_id}" in typed.output
    await temporal_client.get_workflow_handle(workflow_id).result()
    assert await store.reconciled_until(company.company_id, company.realm_id) is not None


async def test_a_taxed_invoice_whose_untaxed_line_was_marked_tax_by_hand_is_restored_with_its_tax(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    settings: Settings,
    store: Store,
    books: Books,
    company: Company,
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    lines = [("prod_chlorine", "2", "30.00", True), ("wot_weekly", "1", "60.00", False)]
    the_invoice = taxed_invoice(iid, cid, lines, FLORIDA)  # 7% of 60.00: $4.20 tax, $124.20
    await run_event(dispatcher, paid(company, the_invoice))
    first, quiet = await reconcile(temporal_client, settings, store, company)
    assert (first.differences, quiet) == (0, [])
    invoice = await books.invoice(iid)
    assert invoice.Id and invoice.SyncToken and invoice.Line
    # The bookkeeper marks the cleanup TAX as well: QBO taxes $120.00, the invoice grows $4.20.
    by_hand = q.Invoice(
        Id=invoice.Id,
        SyncToken=invoice.SyncToken,
        Line=[marked(line, "TAX") for line in invoice.Line if line.SalesItemLineDetail],
        TxnTaxDetail=invoice.TxnTaxDetail,
    )
    await books.qbo.update(company.realm_id, by_hand, new_id("r"))
    assert (await books.invoice(iid)).TotalAmt == Decimal("128.40")

    result, lines_logged = await reconcile(temporal_client, settings, store, company)

    number = the_invoice["number"]
    assert [(x.record_id, x.outcome, x.message) for x in lines_logged] == [
        (
            iid,
            "success",
            f"Invoice {number}: its lines were changed in QuickBooks by hand; "
            "Skimmer's lines restored",
        )
    ]
    restored = await books.invoice(iid)
    assert (restored.TotalAmt, restored.Balance) == (Decimal("124.20"), Decimal("0.00"))
    assert restored.TxnTaxDetail and restored.TxnTaxDetail.TotalTax == Decimal("4.20")
    assert codes(restored) == ["TAX", "NON"]
    assert await books.customer_balance(cid) == Decimal("0.00")
    assert result.repaired == 1
    again, quiet = await reconcile(temporal_client, settings, store, company)
    assert (again.differences, quiet) == (0, [])


def marked(line: q.TxnLine, code: str) -> q.TxnLine:
    """The line with another tax mark, as a bookkeeper would set it in QBO."""
    assert line.SalesItemLineDetail is not None
    detail = line.SalesItemLineDetail.model_copy(update={"TaxCodeRef": q.Ref(value=code)})
    return line.model_copy(update={"SalesItemLineDetail": detail})
