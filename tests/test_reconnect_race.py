"""A refusal that races a reconnect: the activity began with the old login, QuickBooks refused it,
and the workflow hears of it only after the company has reconnected. The event then runs again
at once; it does not wait, and the activity log shows no waiting line for it.

Under load this is a matter of milliseconds (an event's customer and items run at once, and one
of them reports its refusal after the reconnect's signal). Here the order is made certain with
workers that run only workflows or only activities, started and stopped between the steps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import httpx
from temporalio.client import Client, WorkflowHandle

from activities.common import Deps
from config import Settings
from qbo import models as q
from qbo.client import QBOClient
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import customer, event_json, new_id, wait_done
from tests.test_reconnect import reconnect, revoke_at_intuit, waiting_lines
from tests.test_replay import replay_and_keep
from worker import make_worker


async def pending_activities(handle: WorkflowHandle[object, object]) -> list[str]:
    described = await handle.describe()
    return [a.activity_type.name for a in described.raw_description.pending_activities]


async def until(check: Callable[[], Awaitable[bool]], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if await check():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"not seen within {seconds} s: {what}")


async def test_a_refusal_heard_after_the_reconnect_runs_again_without_waiting(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    qbo: QBOClient,
    company: Company,
    books: Books,
    sandbox_url: str,
    dispatcher: EventDispatcher,
    temporal_client: Client,
    settings: Settings,
) -> None:
    co = company.company_id
    deps = Deps(store=store, qbo=qbo)
    await revoke_at_intuit(http, sandbox_url, store, company.realm_id)
    cid = new_id("cust")
    body = event_json(co, "customer.saved", {"customer": customer(cid)})
    event_id = str(body["event_id"])

    # The event's workflow schedules its activity; no worker runs activities yet.
    async with make_worker(temporal_client, deps, settings.task_queue, runs="workflows"):
        assert (await http.post(f"{api}/events", json=body)).status_code == 202

        async def scheduled() -> bool:
            status = await dispatcher.status(event_id)
            if status is None or status.workflow_id is None:
                return False
            handle = temporal_client.get_workflow_handle(status.workflow_id)
            return await pending_activities(handle) == ["ensure_customer"]

        await until(scheduled, "the customer's activity scheduled")
    status = await dispatcher.status(event_id)
    assert status is not None and status.workflow_id is not None
    handle = temporal_client.get_workflow_handle(status.workflow_id)

    # The activity runs with the revoked login and is refused; no worker runs workflows now.
    async with make_worker(temporal_client, deps, settings.task_queue, runs="activities"):

        async def refused() -> bool:
            return await pending_activities(handle) == []

        await until(refused, "the customer's activity refused")
    conn = await store.get_connection(co)
    assert conn is not None and conn.status == "reconnect_required"
    assert await waiting_lines(store, co) == []  # the workflow has not heard of it yet

    await reconnect(http, api, co, company.realm_id)

    # Only now does the workflow hear of the refusal: the company is connected, so it runs again.
    async with make_worker(temporal_client, deps, settings.task_queue):
        done = await wait_done(dispatcher, event_id, timeout=60)
        assert done.status == "completed", done.message
        await replay_and_keep(temporal_client, handle, "reconnect-raced")
    assert await waiting_lines(store, co) == []
    assert await books.count(q.Customer) == 1  # written once, with the new login
    assert await books.qbo_id("customer", cid)
