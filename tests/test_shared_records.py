"""Records shared by many customers (items, the refund item) are made once in QBO, however many
customers' lanes need them at the same instant."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from billing.events import BillingEvent
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from tests.billing_helpers import Books, run_event
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, new_id, payment, refund, wait_done

pytestmark = pytest.mark.usefixtures("worker")

LANES = 4


async def overlap_item_writes(http: httpx.AsyncClient, sandbox_url: str, realm_id: str) -> None:
    """Every look-up and every item create takes a second, so the lanes' look-ups all miss."""
    for path in ("query", "item"):
        spec = {"kind": "delay", "seconds": 1, "path": path, "method": "POST", "times": None}
        reply = await http.post(f"{sandbox_url}/__sandbox/realms/{realm_id}/faults", json=spec)
        assert reply.status_code == 201, reply.text


def recorded(company: Company, cid: str, n: int, product_id: str) -> BillingEvent:
    iid, pid = new_id("inv"), new_id("pay")
    return billing_event(
        company.company_id,
        "payment.recorded",
        {
            "payment": payment(pid, iid, cid, "30.00"),
            "invoice": invoice(iid, cid, lines=[(product_id, "1", "30.00")]),
            "customer": customer(cid, first=f"Pat{n}", email=f"pat{n}@example.com"),
        },
    )


async def all_completed(dispatcher: EventDispatcher, events: list[BillingEvent]) -> None:
    await asyncio.gather(*(dispatcher.submit(event) for event in events))
    statuses = await asyncio.gather(
        *(wait_done(dispatcher, event.event_id, timeout=90) for event in events)
    )
    assert [s.status for s in statuses] == ["completed"] * len(events), [
        s.message for s in statuses
    ]


async def items_named(books: Books, name: str) -> list[q.Item]:
    items = [row async for row in books.qbo.query_all(books.company.realm_id, q.Item)]
    return [i for i in items if (i.Name or "").startswith(name)]


async def test_lanes_naming_one_new_product_at_once_make_one_qbo_item(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    product_id = new_id("prod")
    customers = [new_id("cust") for _ in range(LANES)]
    events = [recorded(company, cid, n, product_id) for n, cid in enumerate(customers)]
    await overlap_item_writes(http, sandbox_url, company.realm_id)

    await all_completed(dispatcher, events)

    (the_item,) = await items_named(books, f"Item {product_id}")
    assert the_item.Name == f"Item {product_id}"
    assert await books.qbo_id("product", product_id) == the_item.Id
    invoices = [row async for row in books.qbo.query_all(company.realm_id, q.Invoice)]
    assert len(invoices) == LANES
    for synced in invoices:
        (line,) = [x for x in synced.Line or [] if x.SalesItemLineDetail is not None]
        assert line.SalesItemLineDetail is not None
        assert line.SalesItemLineDetail.ItemRef.value == the_item.Id
    log = (await http.get(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/requests")).json()
    refused = [
        r
        for r in log["requests"]
        if r["method"] == "POST" and r["path"].endswith("/item") and r["status"] == 400
    ]
    assert len(refused) == LANES - 1, "every lane tried to create it: the race was real"


async def test_an_inactive_item_of_the_same_name_is_made_active_and_linked(
    dispatcher: EventDispatcher, books: Books, company: Company, qbo: QBOClient
) -> None:
    product_id = new_id("prod")
    income = company.accounts["Sales of Product Income"]
    made = await qbo.create(
        company.realm_id,
        q.Item(Name=f"Item {product_id}", Type="Service", IncomeAccountRef=q.Ref(value=income)),
        new_id("req"),
    )
    assert made.Id is not None and made.SyncToken is not None
    await qbo.update(
        company.realm_id,
        q.Item(Id=made.Id, SyncToken=made.SyncToken, Active=False),
        new_id("req"),
    )

    await run_event(dispatcher, recorded(company, new_id("cust"), 1, product_id))

    (the_item,) = await items_named(books, f"Item {product_id}")
    assert (the_item.Id, the_item.Name, the_item.Active) == (made.Id, f"Item {product_id}", True)
    assert await books.qbo_id("product", product_id) == made.Id


async def test_lanes_refunding_at_once_make_one_refund_item(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    payments = []
    for n in range(LANES):
        cid, pid = new_id("cust"), new_id("pay")
        iid = new_id("inv")
        event = billing_event(
            company.company_id,
            "payment.recorded",
            {
                "payment": payment(pid, iid, cid, "30.00"),
                "invoice": invoice(iid, cid, lines=[("prod_net", "1", "30.00")]),
                "customer": customer(cid, first=f"Pat{n}", email=f"pat{n}@example.com"),
            },
        )
        await run_event(dispatcher, event)
        payments.append(pid)
    refunds = [
        billing_event(
            company.company_id,
            "payment.refunded",
            {"payment_id": pid, "refund": refund(new_id("ref"), "10.00")},
        )
        for pid in payments
    ]
    await overlap_item_writes(http, sandbox_url, company.realm_id)

    await all_completed(dispatcher, refunds)

    (refund_item,) = await items_named(books, "Skimmer refund")
    assert refund_item.Name == "Skimmer refund"
    receipts = [row async for row in books.qbo.query_all(company.realm_id, q.RefundReceipt)]
    assert len(receipts) == LANES
    for receipt in receipts:
        (line,) = [x for x in receipt.Line or [] if x.SalesItemLineDetail is not None]
        assert line.SalesItemLineDetail is not None
        assert line.SalesItemLineDetail.ItemRef.value == refund_item.Id
