"""Customers and items cost QBO calls only for what changed: counted per event in the sandbox's
request log (reads: GETs and queries; writes: every other call QBO answered, refusals included)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from bench.qbo_calls import Count, count
from billing.events import BillingEvent
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.conftest import Company
from tests.events import customer, customer_saved, item, item_saved, new_id
from tests.qbo_log import Entry, RequestLog

pytestmark = pytest.mark.usefixtures("worker")


class Calls:
    """The QBO calls one event makes, from the sandbox's request log."""

    def __init__(self, dispatcher: EventDispatcher, log: RequestLog) -> None:
        self._dispatcher = dispatcher
        self._log = log

    async def log(self) -> list[Entry]:
        return await self._log.entries()

    async def sync(self, event: BillingEvent) -> Count:
        """Run the event to completion; the calls QBO saw meanwhile."""
        made, _ = await self._log.during(self._dispatcher, event)
        return count(made)


@pytest.fixture
def calls(dispatcher: EventDispatcher, qbo_log: RequestLog) -> Calls:
    return Calls(dispatcher, qbo_log)


def reads_writes(tally: Count) -> tuple[int, int]:
    return tally.reads, tally.writes


async def last_message(store: Store, company: Company) -> str:
    newest, *_ = await store.list_activity(company.company_id)
    return newest.message


async def all_customers(qbo: QBOClient, company: Company) -> list[q.Customer]:
    return await qbo.query(
        company.realm_id, q.Customer, "SELECT * FROM Customer WHERE Active IN (true, false)"
    )


def product_saved(company: Company, pid: str, **changes: Any) -> BillingEvent:
    return item_saved(company.company_id, "product.saved", item(pid, **changes))


async def test_a_customer_saved_again_unchanged_makes_no_qbo_call(
    calls: Calls, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await calls.sync(customer_saved(company.company_id, customer(cid)))

    again = await calls.sync(customer_saved(company.company_id, customer(cid)))

    assert reads_writes(again) == (0, 0)
    assert await last_message(store, company) == "Customer Jane Smith already matches QuickBooks"


async def test_an_item_saved_again_unchanged_makes_no_qbo_call(
    calls: Calls, store: Store, company: Company
) -> None:
    pid = new_id("prod")
    await calls.sync(product_saved(company, pid))

    again = await calls.sync(product_saved(company, pid))

    assert reads_writes(again) == (0, 0)
    assert await last_message(store, company) == "Product Chlorine tabs already matches QuickBooks"


async def test_a_renamed_customer_is_one_update_without_a_read(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await calls.sync(customer_saved(company.company_id, customer(cid)))

    renamed = await calls.sync(customer_saved(company.company_id, customer(cid, last="Doe")))

    assert renamed.calls == ["POST customer"]
    (only,) = await all_customers(qbo, company)
    assert only.DisplayName == "Jane Doe"
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and (link.qbo_id, link.sync_token) == (only.Id, only.SyncToken)


async def test_a_renamed_item_is_one_update_without_a_read(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    pid = new_id("prod")
    await calls.sync(product_saved(company, pid))

    renamed = await calls.sync(product_saved(company, pid, name="Chlorine tablets"))

    assert renamed.calls == ["POST item"]
    (only,) = await qbo.query(company.realm_id, q.Item, "SELECT * FROM Item")
    assert only.Name == "Chlorine tablets"
    assert await last_message(store, company) == "Product Chlorine tablets updated in QuickBooks"


async def test_a_new_customer_is_one_create_without_a_read(
    calls: Calls, store: Store, company: Company
) -> None:
    created = await calls.sync(customer_saved(company.company_id, customer(new_id("cust"))))

    assert created.calls == ["POST customer"]
    assert await last_message(store, company) == "Customer Jane Smith created in QuickBooks"


async def test_a_new_item_is_one_create_without_a_read(calls: Calls, company: Company) -> None:
    created = await calls.sync(product_saved(company, new_id("prod")))

    assert created.calls == ["POST item"]


async def test_a_new_customer_whose_name_a_matching_qbo_customer_holds_is_linked_to_it(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    existing = await qbo.create(
        company.realm_id,
        q.Customer(DisplayName="Jane Smith", BillAddr=q.PhysicalAddress(Line1="12 Pool Lane")),
        request_id=new_id("req"),
    )
    cid = new_id("cust")

    linked = await calls.sync(customer_saved(company.company_id, customer(cid)))

    # QBO refuses the name (6240), then one query finds the same customer, which is updated.
    assert linked.calls == ["POST customer", "query", "POST customer"]
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id == existing.Id
    (only,) = await all_customers(qbo, company)
    assert only.PrimaryEmailAddr and only.PrimaryEmailAddr.Address == "jane.smith@example.com"
    assert (
        await last_message(store, company) == "Customer Jane Smith matched and linked in QuickBooks"
    )


async def test_a_new_customer_whose_name_another_person_holds_gets_a_2_and_keeps_it(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    stranger = await qbo.create(
        company.realm_id,
        q.Customer(DisplayName="Jane Smith", BillAddr=q.PhysicalAddress(Line1="1 Elsewhere Road")),
        request_id=new_id("req"),
    )
    cid = new_id("cust")

    created = await calls.sync(customer_saved(company.company_id, customer(cid)))

    assert created.calls == ["POST customer", "query", "POST customer"]
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id != stranger.Id
    assert (await qbo.read(company.realm_id, q.Customer, link.qbo_id)).DisplayName == (
        "Jane Smith (2)"
    )

    # From the name kept in the link: unchanged costs nothing, a new phone one update.
    assert reads_writes(await calls.sync(customer_saved(company.company_id, customer(cid)))) == (
        0,
        0,
    )
    changed = await calls.sync(customer_saved(company.company_id, customer(cid, phone="555-0199")))
    assert changed.calls == ["POST customer"]
    again = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert again.DisplayName == "Jane Smith (2)"
    assert again.PrimaryPhone and again.PrimaryPhone.FreeFormNumber == "555-0199"
    assert len(await all_customers(qbo, company)) == 2


async def test_a_customer_changed_meanwhile_in_qbo_is_read_once_and_still_updated(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await calls.sync(customer_saved(company.company_id, customer(cid)))
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.sync_token is not None
    # A bookkeeper edits the customer in QBO: the SyncToken the link keeps is now stale.
    await qbo.update(
        company.realm_id,
        q.Customer(Id=link.qbo_id, SyncToken=link.sync_token, CompanyName="Smith Pools"),
        request_id=new_id("req"),
    )

    renamed = await calls.sync(customer_saved(company.company_id, customer(cid, last="Doe")))

    # 5010 on the stored SyncToken, then the retry reads the customer once and updates it.
    assert renamed.calls == ["POST customer", "GET customer", "POST customer"]
    current = await qbo.read(company.realm_id, q.Customer, link.qbo_id)
    assert (current.DisplayName, current.CompanyName) == ("Jane Doe", "Smith Pools")
    relinked = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert relinked is not None and relinked.sync_token == current.SyncToken
    # The state is whole again: the next unchanged save costs nothing.
    unchanged = customer_saved(company.company_id, customer(cid, last="Doe"))
    assert reads_writes(await calls.sync(unchanged)) == (0, 0)


async def test_an_item_changed_meanwhile_in_qbo_is_read_once_and_still_updated(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    pid = new_id("prod")
    await calls.sync(product_saved(company, pid))
    link = await store.get_link(company.company_id, company.realm_id, "product", pid)
    assert link is not None and link.sync_token is not None
    await qbo.update(
        company.realm_id,
        q.Item(Id=link.qbo_id, SyncToken=link.sync_token, Description="Edited in QBO"),
        request_id=new_id("req"),
    )

    priced = await calls.sync(product_saved(company, pid, price="26.00"))

    assert priced.calls == ["POST item", "GET item", "POST item"]
    current = await qbo.read(company.realm_id, q.Item, link.qbo_id)
    assert current.UnitPrice == 26


async def test_a_customer_gone_from_qbo_is_created_again_without_a_read(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    # Linked (by this release) to a QBO customer that is gone, as after a merge in QBO.
    await store.save_link(
        company.company_id,
        company.realm_id,
        "customer",
        cid,
        "Customer",
        "987654",
        "3",
        fingerprint="an older snapshot",
        state={"name": "Jane Smith", "currency": "USD"},
    )

    again = await calls.sync(customer_saved(company.company_id, customer(cid)))

    # The update answers 610, so the link goes and the customer is created anew.
    assert again.calls == ["POST customer", "POST customer"]
    (only,) = await all_customers(qbo, company)
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None and link.qbo_id == only.Id != "987654"
    assert await last_message(store, company) == "Customer Jane Smith created in QuickBooks"


async def test_an_item_gone_from_qbo_is_created_again_without_a_read(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    pid = new_id("prod")
    await store.save_link(
        company.company_id,
        company.realm_id,
        "product",
        pid,
        "Item",
        "987654",
        "0",
        fingerprint="an older snapshot",
        state={"name": "Chlorine tabs"},
    )

    again = await calls.sync(product_saved(company, pid))

    assert again.calls == ["POST item", "POST item"]
    (only,) = await qbo.query(company.realm_id, q.Item, "SELECT * FROM Item")
    link = await store.get_link(company.company_id, company.realm_id, "product", pid)
    assert link is not None and link.qbo_id == only.Id


async def test_a_link_from_the_previous_release_is_read_once_then_kept_whole(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
) -> None:
    cid = new_id("cust")
    await calls.sync(customer_saved(company.company_id, customer(cid)))
    link = await store.get_link(company.company_id, company.realm_id, "customer", cid)
    assert link is not None
    # What the previous release saved: the link and SyncToken, no fingerprint, no state.
    await store.save_link(
        company.company_id, company.realm_id, "customer", cid, "Customer", link.qbo_id, "0"
    )

    first = await calls.sync(customer_saved(company.company_id, customer(cid)))
    assert first.calls == ["GET customer", "POST customer"]
    second = await calls.sync(customer_saved(company.company_id, customer(cid)))
    assert reads_writes(second) == (0, 0)


async def test_an_item_without_an_income_account_still_links_the_qbo_item_of_its_name(
    calls: Calls, qbo: QBOClient, store: Store, company: Company
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
    await store.update_settings(company.company_id, income_account_id=None)
    wid = new_id("wot")
    event = item_saved(
        company.company_id, "work_order_type.saved", item(wid, name="Weekly service")
    )

    linked = await calls.sync(event)

    # Nothing to create it with, so it looks first: the item of that name is the one.
    assert linked.calls == ["query", "POST item"]
    link = await store.get_link(company.company_id, company.realm_id, "work_order_type", wid)
    assert link is not None and link.qbo_id == existing.Id


async def test_a_new_customer_whose_create_reply_was_lost_is_created_once(
    calls: Calls, qbo: QBOClient, http: httpx.AsyncClient, sandbox_url: str, company: Company
) -> None:
    # QBO commits the create, then the connection drops before its answer arrives.
    fault = {"kind": "drop_after_commit", "path": "customer", "method": "POST", "times": 1}
    faults_url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults"
    assert (await http.post(faults_url, json=fault)).status_code == 201
    before = len(await calls.log())

    await calls.sync(customer_saved(company.company_id, customer(new_id("cust"))))

    creates = [r for r in (await calls.log())[before:] if r["path"].endswith("/customer")]
    assert len({r["request_id"] for r in creates}) == 1  # the retry sent the same requestid...
    assert creates[-1]["replayed"] is True  # ...and got QBO's stored answer
    assert len(await all_customers(qbo, company)) == 1
