"""A company whose QuickBooks login is refused loses nothing: its events wait (durably, one log
line each), new events are accepted and queue behind them, and reconnecting runs them all, in
order. Connecting a different QBO company starts afresh."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus

from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import customer, event_json, invoice, new_id, payment, wait_done
from tests.test_replay import replay_and_keep

pytestmark = pytest.mark.usefixtures("worker")


async def revoke_at_intuit(
    http: httpx.AsyncClient, sandbox_url: str, store: Store, realm: str
) -> None:
    """What happens when someone disconnects the app inside QuickBooks."""
    refresh_token = (await store.load_tokens(realm)).refresh_token
    reply = await http.post(
        f"{sandbox_url}/v2/oauth2/tokens/revoke",
        json={"token": refresh_token},
        auth=("skimmer-dev", "skimmer-dev-secret"),
    )
    assert reply.status_code == 200


async def reconnect(http: httpx.AsyncClient, api: str, company_id: str, realm_id: str) -> None:
    """The office clicks "Reconnect QuickBooks" and picks `realm_id` at Intuit."""
    start = await http.get(f"{api}/companies/{company_id}/quickbooks/connect")
    approved = await http.get(
        httpx.URL(start.headers["location"]).copy_set_param("realm_id", realm_id)
    )
    assert (await http.get(approved.headers["location"])).status_code == 302


async def waiting_lines(store: Store, company_id: str) -> list[str]:
    return [
        e.event_id or "" for e in await store.list_activity(company_id) if e.outcome == "waiting"
    ]


async def test_revoked_login_makes_events_wait_then_reconnecting_runs_them_in_order(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    company: Company,
    books: Books,
    sandbox_url: str,
    dispatcher: EventDispatcher,
    temporal_client: Client,
) -> None:
    co = company.company_id
    started = await store.get_connection(co)
    assert started is not None and started.sync_started_at is not None
    await revoke_at_intuit(http, sandbox_url, store, company.realm_id)

    cid, iid, pid, pid2 = new_id("cust"), new_id("inv"), new_id("pay"), new_id("pay")
    events = [
        event_json(co, "payment.recorded", {"payment": payment(pid, iid, cid, "50.00"), "invoice": invoice(iid, cid), "customer": customer(cid)}),
        event_json(co, "payment.deleted", {"payment_id": pid, "invoice_id": iid}),
    ]  # fmt: skip
    for body in events:
        assert (await http.post(f"{api}/events", json=body)).status_code == 202

    # The first event finds the login refused and waits; the company is "reconnect required".
    for _ in range(200):
        if await waiting_lines(store, co):
            break
        await asyncio.sleep(0.1)
    assert await waiting_lines(store, co) == [events[0]["event_id"]]
    conn = await store.get_connection(co)
    assert conn is not None and conn.status == "reconnect_required"

    # Events sent meanwhile are accepted (not 409) and queue behind, in order.
    later = event_json(co, "payment.recorded", {"payment": payment(pid2, iid, cid, "20.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
    assert (await http.post(f"{api}/events", json=later)).status_code == 202
    waiting = [
        w async for w in temporal_client.list_workflows(f'CompanyId = "{co}" AND SyncState = "waiting_for_reconnect"')
    ]  # fmt: skip
    assert [w.status for w in waiting] == [WorkflowExecutionStatus.RUNNING]
    first = await dispatcher.status(str(events[0]["event_id"]))
    behind = await dispatcher.status(str(events[1]["event_id"]))
    assert first is not None and first.status == "waiting_for_reconnect"
    assert behind is not None and behind.status == "queued"
    assert behind.waiting_for == events[0]["event_id"]

    await reconnect(http, api, co, company.realm_id)
    for body in [*events, later]:
        status = await wait_done(dispatcher, str(body["event_id"]), timeout=90)
        assert status.status == "completed", status.message
    assert await waiting_lines(store, co) == [events[0]["event_id"]]  # one line, not a loop
    waited = await dispatcher.status(str(events[0]["event_id"]))
    assert waited is not None
    await replay_and_keep(
        temporal_client, temporal_client.get_workflow_handle(waited.workflow_id), "reconnect"
    )

    conn = await store.get_connection(co)
    assert conn is not None and conn.status == "connected" and conn.sync_enabled
    assert conn.sync_started_at == started.sync_started_at  # reconnecting keeps the sync start
    (left,) = await books.all(q.Payment)  # recorded, deleted, recorded: in that order
    assert isinstance(left, q.Payment) and left.TotalAmt == Decimal("20.00")
    assert (await books.invoice(iid)).Balance == Decimal("100.00")


async def test_connecting_another_qbo_company_fails_what_waited_and_starts_afresh(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    company: Company,
    sandbox_url: str,
    dispatcher: EventDispatcher,
) -> None:
    co = company.company_id
    await revoke_at_intuit(http, sandbox_url, store, company.realm_id)
    body = event_json(co, "customer.saved", {"customer": customer(new_id("cust"))})
    assert (await http.post(f"{api}/events", json=body)).status_code == 202
    for _ in range(200):
        if await waiting_lines(store, co):
            break
        await asyncio.sleep(0.1)
    assert await waiting_lines(store, co)

    other = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()["realm_id"]
    await reconnect(http, api, co, other)
    status = await wait_done(dispatcher, str(body["event_id"]), timeout=60)
    assert status.status == "failed"
    assert "connected a different QuickBooks company" in (status.message or "")
    conn = await store.get_connection(co)
    assert conn is not None and conn.realm_id == other
    assert (conn.sync_enabled, conn.sync_started_at, conn.income_account_id) == (False, None, None)
    again = event_json(co, "customer.saved", {"customer": customer(new_id("cust"))})
    assert (await http.post(f"{api}/events", json=again)).status_code == 409  # sync is off
