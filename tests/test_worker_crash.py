"""Workers killed mid-step: a fresh worker finishes the step, nothing doubled or lost."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import sys
from decimal import Decimal

import httpx
from sqlmodel import Session, col, select
from temporalio.client import Client

from activities.common import Deps
from config import Settings
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from store.tables import JournaledWrite
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, new_id, payment, wait_done
from tests.processes import REPO_ROOT, service_env
from worker import make_worker


def worker_process(settings: Settings, temporal_address: str) -> subprocess.Popen[bytes]:
    env = service_env(settings, temporal_address)
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


class FreezableRelay:
    """A TCP relay from a worker process to Temporal that can stop passing the worker's bytes on:
    after `freeze()` its reports (an activity done) never arrive, as if it died before sending."""

    def __init__(self, target: str) -> None:
        host, port = target.rsplit(":", 1)
        self._target = (host, int(port))
        self._frozen = asyncio.Event()
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> str:
        self._server = await asyncio.start_server(self._relay, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        return f"127.0.0.1:{port}"

    def freeze(self) -> None:
        self._frozen.set()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _relay(
        self, from_worker: asyncio.StreamReader, to_worker: asyncio.StreamWriter
    ) -> None:
        from_server, to_server = await asyncio.open_connection(*self._target)
        for task in (
            asyncio.create_task(self._pipe(from_worker, to_server, freezes=True)),
            asyncio.create_task(self._pipe(from_server, to_worker, freezes=False)),
        ):
            self._tasks.add(task)

    async def _pipe(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, freezes: bool
    ) -> None:
        try:
            while chunk := await reader.read(65536):
                if freezes and self._frozen.is_set():
                    await asyncio.Event().wait()  # held for good: never delivered
                writer.write(chunk)
                await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()


async def writes_in_flight(store: Store, realm_id: str) -> int:
    """The realm's journaled QBO writes noted as sent but not yet done."""

    def count() -> int:
        with Session(store.engine) as session:
            pending = select(JournaledWrite).where(
                JournaledWrite.realm_id == realm_id, col(JournaledWrite.outcome).is_(None)
            )
            return len(session.exec(pending).all())

    return await asyncio.to_thread(count)


async def test_worker_killed_after_deleting_a_payment_before_reporting_is_finished_by_another(
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
    relay = FreezableRelay(temporal_client.service_client.config.target_host)
    first = worker_process(settings, await relay.start())
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    recorded = billing_event(
        company.company_id,
        "payment.recorded",
        {
            "payment": payment(pid, iid, cid, "120.00"),
            "invoice": invoice(iid, cid),
            "customer": customer(cid),
        },
    )
    deleted = billing_event(
        company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": iid}
    )
    try:
        await dispatcher.submit(recorded)
        assert (await wait_done(dispatcher, recorded.event_id)).status == "completed"
        # The delete takes 2 s in QBO: time to cut the worker off from Temporal meanwhile.
        fault = {"kind": "delay", "seconds": 2, "path": "payment", "method": "POST", "times": 1}
        assert (await http.post(f"{realm_url}/faults", json=fault)).status_code == 201
        await dispatcher.submit(deleted)
        for _ in range(300):
            faults = (await http.get(f"{realm_url}/faults")).json()["faults"]
            if faults and faults[0]["hits"] >= 1:
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError("the payment delete never reached the sandbox")
        relay.freeze()
        link = f"{company.company_id}/{company.realm_id}/payment/{pid}"
        for _ in range(200):  # QBO deleted it, the worker dropped the link and noted the write
            # done in its journal (after the link): all it has left to do is tell Temporal
            gone = await store.get_link(company.company_id, company.realm_id, "payment", pid)
            if gone is None and not await writes_in_flight(store, company.realm_id):
                break
            await asyncio.sleep(0.05)
        else:
            raise AssertionError(f"the worker never removed the link {link} and noted it done")
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    finally:
        if first.poll() is None:
            first.kill()
        await relay.close()

    async with make_worker(temporal_client, Deps(store=store, qbo=qbo), settings.task_queue):
        status = await wait_done(dispatcher, deleted.event_id, timeout=90)
    assert status.status == "completed", status.message

    history = await temporal_client.get_workflow_handle(status.workflow_id).fetch_history()
    scheduled = {
        e.event_id: e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    }
    attempts = [
        e.activity_task_started_event_attributes.attempt
        for e in history.events
        if e.HasField("activity_task_started_event_attributes")
        and scheduled[e.activity_task_started_event_attributes.scheduled_event_id]
        == "delete_payment"
    ]
    assert attempts == [2], "the first worker's report never arrived: a second attempt finished"
    books = Books(qbo, store, company)
    assert await books.count(q.Payment) == 0
    assert (await books.qbo.query(company.realm_id, q.Invoice, "SELECT * FROM Invoice"))[
        0
    ].Balance == Decimal("120.00")
    log = (await http.get(f"{realm_url}/requests")).json()["requests"]
    deletes = [r for r in log if r["method"] == "POST" and "operation=delete" in r["query"]]
    assert len(deletes) == 1, "the retry found its own delete in the journal, not a missing link"
