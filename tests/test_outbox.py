"""An event answered 202 always runs: the API stores it before handing it to Temporal, and
sends whatever never reached Temporal again (a crash right after answering, Temporal down)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import subprocess
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from pathlib import Path

import httpx
import pytest
from temporalio.client import Client

from activities.common import Deps
from config import Settings
from devstack.temporal_cli import resolve_temporal_cli
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from temporal_platform.converter import data_converter_for
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import billing_event, customer, event_json, new_id, wait_done
from tests.processes import DevServer, free_port, start_api
from worker import make_worker


@pytest.fixture
def dev_server(tmp_path: Path) -> Iterator[DevServer]:
    """A Temporal server of this test's own, so it can be stopped and started again."""
    cli = resolve_temporal_cli()
    if cli.path is None:
        pytest.skip("needs a Temporal CLI binary to stop and restart (see devstack/temporal_cli)")
    server = DevServer(cli.path, tmp_path / "temporal.db")
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def connect(server: DevServer, settings: Settings) -> Client:
    for _ in range(100):
        with contextlib.suppress(Exception):
            client = await Client.connect(
                server.address, data_converter=data_converter_for(settings)
            )
            await client.count_workflows()
            return client
        await asyncio.sleep(0.2)
    raise TimeoutError(f"Temporal at {server.address} did not answer")


@contextlib.asynccontextmanager
async def sweeping(dispatcher: EventDispatcher) -> AsyncIterator[None]:
    """The API's outbox sweeper, running every half second, as `starter.api` runs it."""
    task = asyncio.create_task(dispatcher.sweep_forever(timedelta(seconds=0.5)))
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


async def test_event_sent_twice_while_temporal_is_down_is_answered_202_and_runs_once_back_up(
    dev_server: DevServer,
    settings: Settings,
    store: Store,
    qbo: QBOClient,
    company: Company,
    books: Books,
) -> None:
    client = await connect(dev_server, settings)
    dispatcher = EventDispatcher(client, store, settings.task_queue)
    cid = new_id("cust")
    event = billing_event(company.company_id, "customer.saved", {"customer": customer(cid)})
    dev_server.stop()

    # The sender gives up waiting and sends again while the first request is still in flight.
    first, second = await asyncio.gather(dispatcher.submit(event), dispatcher.submit(event))
    assert {first.status, second.status} == {"accepted", "duplicate"}
    assert first.workflow_id == second.workflow_id
    row = await store.get_event(event.event_id)
    assert row is not None and row.dispatched_at is None  # safe in the outbox, not yet sent

    dev_server.start()
    worker_client = await connect(dev_server, settings)
    async with (
        make_worker(worker_client, Deps(store=store, qbo=qbo), settings.task_queue),
        sweeping(EventDispatcher(worker_client, store, settings.task_queue)),
    ):
        status = await wait_done(
            EventDispatcher(worker_client, store, settings.task_queue), event.event_id, 90
        )
    assert status.status == "completed", status.message
    assert await books.count(q.Customer) == 1


async def test_event_accepted_by_an_api_killed_before_temporal_took_it_runs_after_restart(
    dev_server: DevServer,
    settings: Settings,
    store: Store,
    qbo: QBOClient,
    company: Company,
    books: Books,
) -> None:
    settings = settings.model_copy(update={"api_port": free_port(), "outbox_sweep_seconds": 0.5})
    api = start_api(settings, dev_server.address)
    url = f"http://127.0.0.1:{settings.api_port}/events"
    body = event_json(company.company_id, "customer.saved", {"customer": customer(new_id("cust"))})
    try:
        dev_server.stop()  # Temporal goes away: the API can store the event but not hand it over
        async with httpx.AsyncClient(timeout=60) as http:
            sending = asyncio.create_task(http.post(url, json=body))
            for _ in range(200):
                if await store.get_event(body["event_id"]) is not None:
                    break
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("the API never stored the event")
            api.send_signal(
                signal.SIGKILL
            )  # dies between storing and handing over (or right after)
            api.wait(timeout=10)
            with contextlib.suppress(httpx.TransportError):
                await sending
    finally:
        if api.poll() is None:
            api.kill()

    dev_server.start()
    restarted: subprocess.Popen[bytes] = start_api(settings, dev_server.address)
    try:
        client = await connect(dev_server, settings)
        dispatcher = EventDispatcher(client, store, settings.task_queue)
        async with make_worker(client, Deps(store=store, qbo=qbo), settings.task_queue):
            status = await wait_done(dispatcher, body["event_id"], 90)
            assert status.status == "completed", status.message
            async with httpx.AsyncClient(timeout=30) as http:
                again = await http.post(url, json=body)  # the sender never heard back: it resends
            assert again.status_code == 202 and again.json()["status"] == "duplicate"
    finally:
        restarted.terminate()
        restarted.wait(timeout=20)
    assert await books.count(q.Customer) == 1
