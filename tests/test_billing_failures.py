"""Bad input fails clearly and leaves QBO unchanged; faults never double anything; order holds."""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from typing import Any

import httpx
import pytest
from pydantic import ValidationError
from temporalio.client import Client

from billing.events import BillingEvent, parse_event
from qbo import models as q
from starter.dispatch import EventDispatcher
from store import Store
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import (
    billing_event,
    credit,
    customer,
    event_json,
    invoice,
    new_id,
    payment,
    payment_recorded,
    wait_done,
)

pytestmark = pytest.mark.usefixtures("worker")


def recorded(
    company: Company, cid: str, iid: str, pid: str, amount: str, **args: Any
) -> BillingEvent:
    return payment_recorded(company.company_id, cid, iid, pid, amount, **args)


async def inject(
    http: httpx.AsyncClient, sandbox_url: str, company: Company, **fault: object
) -> None:
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/faults", json=fault)
    assert reply.status_code == 201, reply.text


async def failed_clearly(
    dispatcher: EventDispatcher, store: Store, company: Company, event: BillingEvent, *words: str
) -> str:
    status = await run_event(dispatcher, event, expect="failed")
    assert status.message is not None
    for word in words:
        assert word in status.message, status.message
    entries = [
        e for e in await store.list_activity(company.company_id) if e.event_id == event.event_id
    ]
    assert [(e.outcome, e.message) for e in entries] == [("failed", status.message)]
    return status.message


async def test_zero_and_negative_amounts_are_refused_at_the_door_before_qbo() -> None:
    """Refused when parsed (the API's 422, tests/test_door.py), so no workflow ever starts."""
    cid, iid, pid, crid = new_id("cust"), new_id("inv"), new_id("pay"), new_id("cr")
    paid_nothing = event_json(
        "co_1",
        "payment.recorded",
        {"payment": payment(pid, iid, cid, "0.00"), "invoice": invoice(iid, cid), "customer": customer(cid)},
    )  # fmt: skip
    credited_less = event_json(
        "co_1", "credit.recorded", {"credit": credit(crid, cid, "-5.00"), "customer": customer(cid)}
    )
    for raw, field in [(paid_nothing, "payment"), (credited_less, "credit")]:
        with pytest.raises(ValidationError) as refused:
            parse_event(json.dumps(raw))
        (error,) = refused.value.errors()
        assert error["loc"][-3:] == ("data", field, "amount")
        assert "must be more than zero" in error["msg"]


async def test_unknown_payment_and_credit_fail_as_never_synced(
    dispatcher: EventDispatcher, store: Store, company: Company
) -> None:
    pid, crid = new_id("pay"), new_id("cr")
    await failed_clearly(
        dispatcher, store, company,
        billing_event(company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": "inv_x"}),
        f"payment {pid} is not in QuickBooks", "never synced",
    )  # fmt: skip
    await failed_clearly(
        dispatcher, store, company,
        billing_event(company.company_id, "credit.refunded", {"credit_id": crid, "refund": {"id": "r1", "amount": "5.00", "refunded_on": "2030-01-04"}}),
        f"credit {crid} is not in QuickBooks",
    )  # fmt: skip


async def test_payment_over_the_open_balance_changes_nothing(
    dispatcher: EventDispatcher, store: Store, company: Company, books: Books
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, recorded(company, cid, iid, new_id("pay"), "100.00", amount_due="20.00")
    )
    pid = new_id("pay")
    await failed_clearly(
        dispatcher, store, company, recorded(company, cid, iid, pid, "50.00", amount_due="0.00"),
        f"payment {pid}", "$50.00 is more than the open balance $20.00 of invoice", "QuickBooks unchanged",
    )  # fmt: skip
    assert await books.count(q.Payment) == 1
    assert (await books.invoice(iid)).Balance == Decimal("20.00")


async def test_missing_deposit_account_after_invoice_created_is_compensated(
    dispatcher: EventDispatcher, store: Store, company: Company, books: Books
) -> None:
    await store.update_settings(company.company_id, deposit_account_id=None)
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    message = await failed_clearly(
        dispatcher, store, company, recorded(company, cid, iid, pid, "120.00", number="1077"),
        f"payment {pid}: no deposit account is chosen", "QuickBooks put back as before (invoice 1077 removed)",
    )  # fmt: skip
    assert "could NOT undo" not in message
    assert await books.count(q.Invoice) == 0 and await books.count(q.Payment) == 0
    assert await store.get_link(company.company_id, company.realm_id, "invoice", iid) is None


async def test_an_updated_invoice_is_restored_when_its_payment_fails(
    dispatcher: EventDispatcher, store: Store, company: Company, books: Books
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, recorded(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    await store.update_settings(company.company_id, deposit_account_id=None)
    bigger = recorded(
        company, cid, iid, new_id("pay"), "10.00",
        lines=[("prod_chlorine", "4", "30.00"), ("wot_weekly", "1", "60.00")], amount_due="150.00",
    )  # fmt: skip
    await failed_clearly(dispatcher, store, company, bigger, "invoice", "lines restored")
    restored = await books.invoice(iid)
    assert (restored.TotalAmt, restored.Balance) == (Decimal("120.00"), Decimal("100.00"))


async def test_an_invoice_update_whose_reply_was_lost_is_still_restored_when_its_payment_fails(
    dispatcher: EventDispatcher,
    store: Store,
    company: Company,
    books: Books,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(
        dispatcher, recorded(company, cid, iid, new_id("pay"), "20.00", amount_due="100.00")
    )
    await store.update_settings(company.company_id, deposit_account_id=None)
    # QBO applies the new lines but the reply is lost: the retry must still know the old lines.
    await inject(
        http, sandbox_url, company, kind="drop_after_commit", path="invoice", method="POST"
    )
    bigger = recorded(
        company, cid, iid, new_id("pay"), "10.00",
        lines=[("prod_chlorine", "4", "30.00"), ("wot_weekly", "1", "60.00")], amount_due="150.00",
    )  # fmt: skip
    await failed_clearly(dispatcher, store, company, bigger, "invoice", "lines restored")
    restored = await books.invoice(iid)
    assert (restored.TotalAmt, restored.Balance) == (Decimal("120.00"), Decimal("100.00"))


async def test_currency_mismatch_is_refused(
    dispatcher: EventDispatcher, store: Store, company: Company, books: Books
) -> None:
    cid, pid = new_id("cust"), new_id("pay")
    await failed_clearly(
        dispatcher, store, company, recorded(company, cid, new_id("inv"), pid, "120.00", currency="CAD"),
        f"payment {pid} is in CAD", "QuickBooks currency is USD",
    )  # fmt: skip
    assert await books.count(q.Invoice) == 0 and await books.count(q.Payment) == 0


async def test_a_repeated_payment_event_is_applied_once(
    dispatcher: EventDispatcher, company: Company, books: Books
) -> None:
    event = recorded(company, new_id("cust"), new_id("inv"), new_id("pay"), "120.00")
    first = await dispatcher.submit(event)
    second = await dispatcher.submit(event)
    assert (first.status, second.status) == ("accepted", "duplicate")
    assert (await wait_done(dispatcher, event.event_id)).status == "completed"
    assert await books.count(q.Payment) == 1 and await books.count(q.Invoice) == 1


@pytest.mark.parametrize(
    "fault",
    [
        {"kind": "status", "status": 503, "times": 2},
        {"kind": "throttle", "seconds": 1, "times": 1},
        {"kind": "drop_after_commit", "times": 1},
        {"kind": "expire_token", "times": 1},
    ],
    ids=["5xx", "429", "dropped-after-commit", "expired-token"],
)
async def test_faults_on_the_payment_write_never_double_it(
    dispatcher: EventDispatcher,
    company: Company,
    books: Books,
    sandbox_url: str,
    http: httpx.AsyncClient,
    fault: dict[str, object],
) -> None:
    await inject(http, sandbox_url, company, path="payment", method="POST", **fault)
    cid, iid = new_id("cust"), new_id("inv")
    await run_event(dispatcher, recorded(company, cid, iid, new_id("pay"), "120.00"))
    assert await books.count(q.Payment) == 1
    assert (await books.invoice(iid)).Balance == 0
    log = (await http.get(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/requests")).json()
    writes = [
        r for r in log["requests"] if r["method"] == "POST" and r["path"].endswith("/payment")
    ]
    assert (
        len(writes) >= 2 and len({r["request_id"] for r in writes}) == 1
    )  # retried, one requestid


async def test_a_delete_waits_for_the_create_that_is_still_retrying(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    company: Company,
    books: Books,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    # The create keeps failing for ~7 s (1 + 2 + 4 s of backoff) while the delete arrives.
    await inject(
        http,
        sandbox_url,
        company,
        kind="status",
        status=503,
        path="payment",
        method="POST",
        times=3,
    )
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    create = recorded(company, cid, iid, pid, "120.00")
    delete = billing_event(
        company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": iid}
    )
    await dispatcher.submit(create)
    await asyncio.sleep(0.5)
    await dispatcher.submit(delete)
    deleted_status = await wait_done(dispatcher, delete.event_id)
    created_status = await wait_done(dispatcher, create.event_id)
    assert (created_status.status, deleted_status.status) == ("completed", "completed")
    created = await temporal_client.get_workflow_handle(created_status.workflow_id).describe()
    deleted = await temporal_client.get_workflow_handle(deleted_status.workflow_id).describe()
    assert created.close_time is not None and deleted.start_time >= created.close_time
    assert await books.count(q.Payment) == 0
    assert (await books.invoice(iid)).Balance == Decimal("120.00")
