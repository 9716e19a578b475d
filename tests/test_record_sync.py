"""Customers and items reach QBO through Temporal: real dev server, real worker, sandbox over HTTP."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from temporalio.client import Client

from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.conftest import Company
from tests.events import customer, customer_saved, item, item_saved, new_id, wait_done

pytestmark = pytest.mark.usefixtures("worker")


async def sync(dispatcher: EventDispatcher, event) -> str:
    accepted = await dispatcher.submit(event)
    status = await wait_done(dispatcher, accepted.event_id)
    assert status.status == "completed", status.message
    return accepted.workflow_id


async def qbo_customers(qbo: QBOClient, company: Company) -> list[q.Customer]:
    return await qbo.query(
        company.realm_id, q.Customer, "SELECT * FROM Customer WHERE Active IN (true, false)"
    )


async def test_new_customer_is_created_in_qbo_with_its_fields(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))

    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None
    created = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert created.DisplayName == "Jane Smith"
    assert (created.GivenName, created.FamilyName) == ("Jane", "Smith")
    assert created.PrimaryEmailAddr and created.PrimaryEmailAddr.Address == "jane.smith@example.com"
    assert created.PrimaryPhone and created.PrimaryPhone.FreeFormNumber == "555-0100"
    assert created.BillAddr and created.BillAddr.Line1 == "12 Pool Lane"
    assert created.BillAddr.CountrySubDivisionCode == "AZ"
    log = await store.list_activity(company.company_id)
    assert [(e.record_id, e.outcome, e.qbo_id) for e in log] == [(cid, "success", link.qbo_id)]
    assert log[0].message == "Customer Jane Smith created in QuickBooks"


async def test_rename_in_skimmer_renames_the_same_qbo_customer(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    await sync(dispatcher, customer_saved(company.company_id, customer(cid, last="Doe")))

    customers = await qbo_customers(qbo, company)
    assert [c.DisplayName for c in customers] == ["Jane Doe"]
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id == customers[0].Id
    assert link.sync_token == customers[0].SyncToken == "1"


async def test_the_same_event_twice_runs_once(
    dispatcher: EventDispatcher, qbo: QBOClient, company: Company
) -> None:
    event = customer_saved(company.company_id, customer(new_id("cust")))
    first = await dispatcher.submit(event)
    second = await dispatcher.submit(event)
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert first.workflow_id == second.workflow_id
    await wait_done(dispatcher, event.event_id)
    assert len(await qbo_customers(qbo, company)) == 1


async def test_saves_in_quick_succession_apply_in_order(
    dispatcher: EventDispatcher, qbo: QBOClient, company: Company
) -> None:
    cid = new_id("cust")
    names = ["Ann", "Bea", "Cat", "Dee"]
    events = [customer_saved(company.company_id, customer(cid, first=n)) for n in names]
    for event in events:
        await dispatcher.submit(event)
    for event in events:
        assert (await wait_done(dispatcher, event.event_id)).status == "completed"
    customers = await qbo_customers(qbo, company)
    assert [c.DisplayName for c in customers] == ["Dee Smith"]
    assert customers[0].SyncToken == str(len(names) - 1)


async def test_same_name_and_email_links_the_existing_qbo_customer(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    existing = await qbo.create(
        company.realm_id,
        q.Customer(
            DisplayName="Jane Smith",
            PrimaryEmailAddr=q.EmailAddress(Address="JANE.SMITH@example.com"),
        ),
        request_id=new_id("req"),
    )
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id == existing.Id
    assert len(await qbo_customers(qbo, company)) == 1


async def test_same_name_but_other_person_gets_a_disambiguated_customer(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    stranger = await qbo.create(
        company.realm_id,
        q.Customer(
            DisplayName="Jane Smith",
            PrimaryEmailAddr=q.EmailAddress(Address="other@example.com"),
            BillAddr=q.PhysicalAddress(Line1="1 Elsewhere Road"),
        ),
        request_id=new_id("req"),
    )
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id != stranger.Id
    created = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert created.DisplayName == "Jane Smith (2)"
    (entry,) = await store.list_activity(company.company_id)
    assert "the name Jane Smith is taken in QuickBooks, so it is Jane Smith (2)" in entry.message

    # Saved again without a rename: it keeps its disambiguated name, nothing new is created.
    await sync(dispatcher, customer_saved(company.company_id, customer(cid, phone="555-0199")))
    again = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert again.DisplayName == "Jane Smith (2)"
    assert again.PrimaryPhone and again.PrimaryPhone.FreeFormNumber == "555-0199"
    assert len(await qbo_customers(qbo, company)) == 2


async def test_product_gets_default_income_account_and_keeps_a_change_made_in_qbo(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    pid = new_id("prod")
    await sync(dispatcher, item_saved(company.company_id, "product.saved", item(pid)))
    link = await store.get_link(company.company_id, company.realm_id, "product", pid)
    assert link is not None
    created = await qbo.read(company.realm_id, q.Item, link.qbo_id)
    assert created.IncomeAccountRef is not None
    assert created.IncomeAccountRef.value == company.accounts["Sales of Product Income"]
    assert (created.Name, created.UnitPrice, created.Type) == (
        "Chlorine tabs",
        Decimal("24.50"),
        "Service",
    )

    # The bookkeeper moves it to another income account in QuickBooks...
    services = company.accounts["Services"]
    assert created.Id is not None and created.SyncToken is not None
    await qbo.update(
        company.realm_id,
        q.Item(Id=created.Id, SyncToken=created.SyncToken, IncomeAccountRef=q.Ref(value=services)),
        request_id=new_id("req"),
    )
    # ...then the product is edited in Skimmer: the price changes, the account stays.
    await sync(
        dispatcher, item_saved(company.company_id, "product.saved", item(pid, price="26.00"))
    )
    edited = await qbo.read(company.realm_id, q.Item, link.qbo_id)
    assert edited.IncomeAccountRef is not None and edited.IncomeAccountRef.value == services
    assert edited.UnitPrice is not None and edited.UnitPrice == 26


async def test_item_with_an_existing_qbo_name_is_linked_not_duplicated(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    existing = await qbo.create(
        company.realm_id,
        q.Item(
            Name="Weekly service",
            Type="Service",
            IncomeAccountRef=q.Ref(value=company.accounts["Services"]),
        ),
        request_id=new_id("req"),
    )
    wid = new_id("wot")
    await sync(
        dispatcher,
        item_saved(company.company_id, "work_order_type.saved", item(wid, name="Weekly service")),
    )
    link = await store.get_link(company.company_id, company.realm_id, "work_order_type", wid)
    assert link is not None and link.qbo_id == existing.Id
    kept = await qbo.read(company.realm_id, q.Item, link.qbo_id)
    assert kept.IncomeAccountRef and kept.IncomeAccountRef.value == company.accounts["Services"]
    items = await qbo.query(company.realm_id, q.Item, "SELECT * FROM Item")
    assert [i.Name for i in items] == ["Weekly service"]


async def test_item_without_an_income_account_fails_clearly_and_changes_nothing(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    conn = await store.get_connection(company.company_id)
    assert conn is not None
    await store.update_settings(company.company_id, income_account_id=None)
    did = new_id("dos")
    event = item_saved(company.company_id, "dosage.saved", item(did, name="Acid"))
    await dispatcher.submit(event)
    status = await wait_done(dispatcher, event.event_id)

    assert status.status == "failed"
    assert status.message is not None and f"dosage {did}" in status.message
    assert "no default income account" in status.message
    (entry,) = await store.list_activity(company.company_id)
    assert (entry.outcome, entry.record_type, entry.record_id) == ("failed", "dosage", did)
    assert await qbo.query(company.realm_id, q.Item, "SELECT * FROM Item") == []


async def test_expired_access_token_is_refreshed_and_the_rotated_token_kept(
    dispatcher: EventDispatcher,
    store: Store,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    before = await store.load_tokens(company.realm_id)
    expired = await http.post(
        f"{sandbox_url}/__sandbox/realms/{company.realm_id}/expire-access-tokens"
    )
    assert expired.status_code == 204
    await sync(dispatcher, customer_saved(company.company_id, customer(new_id("cust"))))
    after = await store.load_tokens(company.realm_id)
    assert after.refresh_token != before.refresh_token
    assert after.access_token != before.access_token
    assert after.version == before.version + 1


async def test_revoked_connection_makes_events_wait_and_still_accepts_new_ones(
    dispatcher: EventDispatcher,
    store: Store,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/expire-access-tokens")
    await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/revoke")
    cid = new_id("cust")
    event = customer_saved(company.company_id, customer(cid))
    await dispatcher.submit(event)
    for _ in range(300):
        status = await dispatcher.status(event.event_id)
        lines = await store.list_activity(company.company_id)
        if status is not None and status.status == "waiting_for_reconnect" and lines:
            break
        await asyncio.sleep(0.1)
    else:
        raise AssertionError(f"never waited for the reconnect: {status}")
    (entry,) = lines
    assert entry.outcome == "waiting" and "Reconnect QuickBooks" in entry.message
    conn = await store.get_connection(company.company_id)
    assert conn is not None and conn.status == "reconnect_required"
    # Nothing is refused meanwhile: the next event is accepted and queues behind.
    later = await dispatcher.submit(customer_saved(company.company_id, customer(cid)))
    assert later.status == "accepted"


async def test_customer_made_inactive_in_skimmer_is_inactive_in_qbo(
    dispatcher: EventDispatcher, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    await sync(dispatcher, customer_saved(company.company_id, customer(cid, active=False)))
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None
    inactive = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert inactive.Active is False
    assert await qbo.query(company.realm_id, q.Customer, "SELECT * FROM Customer") == []
    # Reactivated in Skimmer: active again in QBO under its own name.
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    again = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert (again.Active, again.DisplayName) == (True, "Jane Smith")


async def test_reconnecting_to_another_qbo_company_never_reuses_old_links(
    dispatcher: EventDispatcher,
    qbo: QBOClient,
    store: Store,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    cid = new_id("cust")
    await sync(dispatcher, customer_saved(company.company_id, customer(cid)))
    # The other QBO company already has a customer 1 (the same id the first link points at).
    other = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    await store.save_connection(
        company.company_id, other["realm_id"], other["access_token"], other["refresh_token"], 3600
    )
    # Another QBO company starts afresh: sync is off until the office maps its accounts again.
    conn = await store.get_connection(company.company_id)
    assert conn is not None and (conn.sync_enabled, conn.income_account_id) == (False, None)
    accounts = {a["Name"]: a["Id"] for a in other["accounts"]}
    await store.update_settings(
        company.company_id,
        income_account_id=accounts["Sales of Product Income"],
        deposit_account_id=accounts["Undeposited Funds"],
        refund_account_id=accounts["Checking"],
        sync_enabled=True,
    )
    await qbo.create(other["realm_id"], q.Customer(DisplayName="Somebody Else"), new_id("req"))

    await sync(dispatcher, customer_saved(company.company_id, customer(cid, last="Doe")))
    names = await qbo.query(other["realm_id"], q.Customer, "SELECT * FROM Customer")
    assert sorted(c.DisplayName or "" for c in names) == ["Jane Doe", "Somebody Else"]
    new_link = await store.get_link(company.company_id, other["realm_id"], "customer", cid)
    old_link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert new_link is not None and old_link is not None and new_link.qbo_id != old_link.qbo_id


async def test_a_burst_of_saves_continues_the_lane_as_new_and_keeps_order(
    dispatcher: EventDispatcher, qbo: QBOClient, company: Company, temporal_client: Client
) -> None:
    cid = new_id("cust")
    events = [
        customer_saved(company.company_id, customer(cid, first=f"Name{n:02d}")) for n in range(16)
    ]
    for event in events:
        await dispatcher.submit(event)
    await dispatcher.submit(events[3])  # a late duplicate changes nothing
    for event in events:
        assert (await wait_done(dispatcher, event.event_id)).status == "completed"

    customers = await qbo_customers(qbo, company)
    assert [c.DisplayName for c in customers] == ["Name15 Smith"]
    assert customers[0].SyncToken == "15"  # one update per event, none repeated
    lane = f"lane/{company.company_id}/customer/{cid}"
    runs = [w async for w in temporal_client.list_workflows(f'WorkflowId = "{lane}"')]
    assert len(runs) > 1, "the lane should have continued as new"
