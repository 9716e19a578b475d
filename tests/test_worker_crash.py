"""A worker killed in the middle of a payment: a fresh worker finishes it, nothing doubled."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys

import httpx
from temporalio.client import Client

from activities.common import Deps
from config import Settings
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, new_id, payment, wait_done
from tests.processes import REPO_ROOT
from worker import make_worker


def worker_process(settings: Settings, temporal_address: str) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": settings.task_queue,
        "DATABASE_URL": settings.database_url,
        "QBO_BASE_URL": settings.qbo_base_url,
        "QBO_TOKEN_URL": settings.qbo_token_url,
        "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
    }
    return subprocess.Popen([sys.executable, "worker.py"], cwd=REPO_ROOT, env=env)


async def test_killed_worker_mid_payment_is_finished_by_another_with_one_payment(
    temporal_client: Client,
    settings: Settings,
    store: Store,
    qbo: QBOClient,
    dispatcher: EventDispatcher,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    realm_url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}"
    # The payment write takes 3 s in QBO: long enough to kill the worker while it waits.
    fault = {"kind": "delay", "seconds": 3, "path": "payment", "method": "POST", "times": 1}
    assert (await http.post(f"{realm_url}/faults", json=fault)).status_code == 201

    first = worker_process(settings, temporal_client.service_client.config.target_host)
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    event = billing_event(
        company.company_id,
        "payment.recorded",
        {
            "payment": payment(pid, iid, cid, "120.00"),
            "invoice": invoice(iid, cid),
            "customer": customer(cid),
        },
    )
    try:
        await dispatcher.submit(event)
        for _ in range(300):  # until the payment write is in flight at QBO
            faults = (await http.get(f"{realm_url}/faults")).json()["faults"]
            if faults and faults[0]["hits"] >= 1:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the payment write never reached the sandbox")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()

    async with make_worker(temporal_client, Deps(store=store, qbo=qbo), settings.task_queue):
        status = await wait_done(dispatcher, event.event_id, timeout=90)
    assert status.status == "completed", status.message

    books = Books(qbo, store, company)
    assert await books.count(q.Payment) == 1
    assert (await books.invoice(iid)).Balance == 0
    log = (await http.get(f"{realm_url}/requests")).json()["requests"]
    writes = [r for r in log if r["method"] == "POST" and r["path"].endswith("/payment")]
    assert len({r["request_id"] for r in writes}) == 1
    assert writes[-1]["replayed"] is True  # the retry got QBO's stored answer, not a new payment
