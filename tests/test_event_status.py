"""`GET /events/{id}` tells where an event stands, read from Temporal: queued behind the event its
lane runs, retrying with the attempt and the error in plain words, waiting for a reconnect."""

from __future__ import annotations

import asyncio
import time
import uuid
from datetime import UTC, datetime

import httpx
import pytest
from temporalio.client import Client
from temporalio.common import SearchAttributePair, TypedSearchAttributes

from starter.api_models import EventState
from starter.dispatch import EventDispatcher, EventStatus
from store import AcceptedEvent, Store
from tests.conftest import Company
from tests.events import new_id, payment_recorded, wait_done
from workflows.search import COMPANY_ID, SYNC_STATE, WAITING_FOR_RECONNECT


async def inject(
    http: httpx.AsyncClient, sandbox_url: str, company: Company, **fault: object
) -> None:
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults", json=fault)
    assert reply.status_code == 201, reply.text


async def status_of(dispatcher: EventDispatcher, event_id: str) -> EventStatus:
    status = await dispatcher.status(event_id)
    assert status is not None, f"event {event_id} was never accepted"
    return status


async def accepted_only(store: Store, company: Company) -> AcceptedEvent:
    """An event stored at the door whose lane never got it (Temporal was away)."""
    event_id = new_id("evt")
    row, stored = await store.accept_event(
        AcceptedEvent(
            event_id=event_id,
            company_id=company.company_id,
            type="payment.recorded",
            record_kind="customer",
            record_id=new_id("cust"),
            workflow_id=f"{company.company_id}/customer/c/payment.recorded/{event_id}",
            realm_id=company.realm_id,
        )
    )
    assert stored
    return row


@pytest.mark.usefixtures("worker")
async def test_an_event_behind_a_stalled_one_is_queued_and_names_it(
    dispatcher: EventDispatcher, company: Company, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    # QBO takes 8 s to answer the first payment: the second one of the customer waits its turn.
    await inject(http, sandbox_url, company, kind="delay", seconds=8, path="payment", method="POST")
    cid = new_id("cust")
    first = payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "50.00")
    second = payment_recorded(company.company_id, cid, new_id("inv"), new_id("pay"), "70.00")
    await dispatcher.submit(first)
    await dispatcher.submit(second)

    # Once the lane has started the first one's workflow (a moment on a busy host):
    deadline = time.monotonic() + 8
    while (running := await status_of(dispatcher, first.event_id)).status == "queued":
        assert time.monotonic() < deadline, "the first event's workflow never started"
        await asyncio.sleep(0.05)
    waiting = await status_of(dispatcher, second.event_id)
    assert (waiting.status, waiting.waiting_for) == ("queued", first.event_id)
    lane_url = dispatcher.ui_url(f"lane/{company.company_id}/customer/{cid}")
    assert waiting.temporal_ui_url == lane_url  # its own workflow does not exist yet
    assert (running.status, running.waiting_for) == ("running", None)
    assert running.temporal_ui_url == dispatcher.ui_url(running.workflow_id)

    assert (await wait_done(dispatcher, first.event_id)).status == "completed"
    done = await wait_done(dispatcher, second.event_id)
    assert (done.status, done.waiting_for) == ("completed", None)
    assert done.temporal_ui_url == dispatcher.ui_url(done.workflow_id)


@pytest.mark.usefixtures("worker")
async def test_a_failing_qbo_call_shows_retrying_with_attempt_next_time_and_error_then_completes(
    dispatcher: EventDispatcher, company: Company, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    # Three 503s: attempts 2, 3 and 4 come after 1, 2 and 4 s of backoff; the 4th goes through.
    await inject(
        http, sandbox_url, company, kind="status", status=503, path="payment", method="POST",
        times=3,
    )  # fmt: skip
    pid = new_id("pay")
    event = payment_recorded(company.company_id, new_id("cust"), new_id("inv"), pid, "120.00")
    await dispatcher.submit(event)

    seen: list[tuple[datetime, EventStatus]] = []
    deadline = time.monotonic() + 60
    asked = datetime.now(UTC)
    while (status := await status_of(dispatcher, event.event_id)).status != "completed":
        assert status.status in ("queued", "running", "retrying"), status
        assert time.monotonic() < deadline, f"still {status.status} after 60 s"
        seen.append((asked, status))
        await asyncio.sleep(0.1)
        asked = datetime.now(UTC)

    retrying = [(at, s) for at, s in seen if s.status == "retrying"]
    assert retrying, [s.status for _, s in seen]
    assert {s.attempt for _, s in retrying} >= {2, 3}
    waits = [(at, s) for at, s in retrying if s.next_retry_at is not None]
    # The next attempt is announced ahead (a loaded machine may start it a little late).
    assert any(s.next_retry_at > at for at, s in waits if s.next_retry_at is not None), waits
    for _, s in retrying:
        assert s.message is not None
        assert s.message.startswith(f"payment {pid}: QuickBooks error"), s.message
        assert "Activity" not in s.message and "activity" not in s.message, s.message
    shown = EventState(**retrying[0][1].__dict__).model_dump(mode="json")
    assert shown["status"] == "retrying" and shown["attempt"] == retrying[0][1].attempt
    assert status.attempt is None and status.next_retry_at is None
    assert status.message is not None and status.message.startswith("Payment $120.00 on invoice")


async def test_an_event_still_in_the_outbox_is_queued_and_links_to_its_company(
    dispatcher: EventDispatcher, store: Store, company: Company
) -> None:
    row = await accepted_only(store, company)
    status = await status_of(dispatcher, row.event_id)
    assert (status.status, status.waiting_for) == ("queued", None)
    assert status.temporal_ui_url == dispatcher.company_ui_url(company.company_id)
    assert status.temporal_ui_url.endswith(
        f"/namespaces/default/workflows?query=CompanyId%3D%22{company.company_id}%22"
    )


async def test_an_event_whose_workflow_waits_for_a_reconnect_says_so(
    dispatcher: EventDispatcher, store: Store, company: Company, temporal_client: Client
) -> None:
    row = await accepted_only(store, company)
    # The event's workflow as it stands while it waits: SyncState set, nothing else to tell.
    handle = await temporal_client.start_workflow(
        "RecordPayment",
        id=row.workflow_id,
        task_queue=f"nobody-{uuid.uuid4()}",
        search_attributes=TypedSearchAttributes(
            [
                SearchAttributePair(COMPANY_ID, company.company_id),
                SearchAttributePair(SYNC_STATE, WAITING_FOR_RECONNECT),
            ]
        ),
    )
    try:
        status = await status_of(dispatcher, row.event_id)
        assert status.status == "waiting_for_reconnect"
        assert status.temporal_ui_url == dispatcher.ui_url(row.workflow_id)
    finally:
        await handle.terminate("test over")
