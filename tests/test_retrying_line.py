"""While QuickBooks fails and Temporal retries, the activity log holds one "retrying" line per
event, updated on each attempt, that gives way to the event's outcome."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from starter.dispatch import EventDispatcher
from store import Store
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, new_id, payment, wait_done

pytestmark = pytest.mark.usefixtures("worker")


async def test_one_retrying_line_per_event_while_qbo_fails_then_the_outcome(
    dispatcher: EventDispatcher,
    store: Store,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    fault = {"kind": "status", "status": 503, "path": "payment", "method": "POST", "times": 3}
    realm_url = f"{sandbox_url}/__sandbox/realms/{company.realm_id}"
    assert (await http.post(f"{realm_url}/faults", json=fault)).status_code == 201
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    event = billing_event(company.company_id, "payment.recorded", {"payment": payment(pid, iid, cid, "40.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
    await dispatcher.submit(event)

    seen: set[str] = set()
    for _ in range(300):
        lines = [
            e for e in await store.list_activity(company.company_id) if e.event_id == event.event_id
        ]
        retrying = [e for e in lines if e.outcome == "retrying"]
        assert len(retrying) <= 1, [e.message for e in retrying]
        seen |= {e.message for e in retrying}
        if len(seen) >= 2:
            break
        await asyncio.sleep(0.1)
    assert len(seen) >= 2, seen  # the one line was updated, attempt after attempt
    assert all("attempt" in m and "trying again" in m for m in seen), seen

    status = await wait_done(dispatcher, event.event_id, timeout=90)
    assert status.status == "completed", status.message
    lines = [
        e for e in await store.list_activity(company.company_id) if e.event_id == event.event_id
    ]
    assert [e.outcome for e in lines] == ["success"]
