"""Operators retry failed events: each runs again in its record's lane with the later failed events
of that record after it, in order, so a retry never brings back what Skimmer removed."""

from __future__ import annotations

import asyncio
import sys

import httpx
import pytest
from temporalio.client import Client

from config import Settings
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import customer, event_json, invoice, new_id, payment, wait_done
from tests.processes import REPO_ROOT, service_env

pytestmark = pytest.mark.usefixtures("worker")


async def send(http: httpx.AsyncClient, api: str, body: dict[str, object]) -> None:
    assert (await http.post(f"{api}/events", json=body)).status_code == 202


async def test_retrying_a_payment_never_resurrects_what_its_later_deletion_removed(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    company: Company,
    books: Books,
    dispatcher: EventDispatcher,
) -> None:
    co = company.company_id
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    await store.update_settings(co, deposit_account_id=None)  # the payment cannot be recorded
    recorded = event_json(co, "payment.recorded", {"payment": payment(pid, iid, cid, "120.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
    deleted = event_json(co, "payment.deleted", {"payment_id": pid, "invoice_id": iid})
    for body in (recorded, deleted):
        await send(http, api, body)
    first = await wait_done(dispatcher, str(recorded["event_id"]))
    assert first.status == "failed" and "no deposit account" in (first.message or "")
    second = await wait_done(dispatcher, str(deleted["event_id"]))
    assert second.status == "failed" and "never synced" in (second.message or "")

    # The office chooses the account; the operator retries the payment.
    await store.update_settings(co, deposit_account_id=company.accounts["Undeposited Funds"])
    reply = await http.post(f"{api}/events/{recorded['event_id']}/retry")
    assert reply.status_code == 202, reply.text
    assert reply.json()["workflow_id"].endswith("/retry-1")
    for body in (recorded, deleted):
        status = await wait_done(dispatcher, str(body["event_id"]), timeout=90)
        assert status.status == "completed", status.message
        assert status.workflow_id.endswith("/retry-1")

    assert await books.count(q.Payment) == 0  # recorded, then deleted again: as in Skimmer
    failed_lines = [e for e in await store.list_activity(co) if e.outcome == "failed"]
    assert len(failed_lines) == 2 and all(e.resolved for e in failed_lines)  # both resolved
    assert (await books.invoice(iid)).Balance == (await books.invoice(iid)).TotalAmt

    # A completed event is not retried; an unknown one is not found.
    assert (await http.post(f"{api}/events/{recorded['event_id']}/retry")).status_code == 409
    assert (await http.post(f"{api}/events/evt_never_sent/retry")).status_code == 404


async def test_retrying_a_company_runs_each_records_failures_once_in_order(
    api: str,
    http: httpx.AsyncClient,
    store: Store,
    company: Company,
    books: Books,
    dispatcher: EventDispatcher,
    settings: Settings,
    temporal_client: Client,
) -> None:
    co = company.company_id
    await store.update_settings(co, deposit_account_id=None)
    bodies = []
    for _ in range(2):  # two customers, one failed payment each
        cid, iid = new_id("cust"), new_id("inv")
        body = event_json(co, "payment.recorded", {"payment": payment(new_id("pay"), iid, cid, "30.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
        await send(http, api, body)
        bodies.append(body)
    for body in bodies:
        assert (await wait_done(dispatcher, str(body["event_id"]))).status == "failed"
    await store.update_settings(co, deposit_account_id=company.accounts["Undeposited Funds"])

    # From the command line, as on-call would.
    command = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "starter", "retry", "--company", co,
        cwd=REPO_ROOT,
        env=service_env(settings, temporal_client.service_client.config.target_host),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(command.communicate(), timeout=60)
    assert command.returncode == 0, err.decode()
    assert f"2 failed event(s) of {co} sent again" in out.decode()
    for body in bodies:
        status = await wait_done(dispatcher, str(body["event_id"]), timeout=90)
        assert status.status == "completed", status.message
    assert await books.count(q.Payment) == 2
    again = await http.post(f"{api}/companies/{co}/events/retry")
    assert again.status_code == 202 and again.json() == {"retried": []}
