"""Inventory products: QBO Inventory items with the mapped stock accounts and Skimmer's count at
creation; from then on QBO owns the quantity: sales lower it, a voided or deleted sale restores it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx
import pytest

from billing.events import BillingEvent
from qbo import models as q
from starter.dispatch import EventDispatcher
from tests.billing_helpers import Books, map_stock_accounts, run_event
from tests.conftest import Company
from tests.events import billing_event, customer, invoice, item, item_saved, new_id, payment

pytestmark = pytest.mark.usefixtures("worker")


def pump(item_id: str, on_hand: str) -> dict[str, Any]:
    return item(
        item_id,
        name=f"Pump {item_id[-6:]}",
        price="40.00",
        kind="inventory",
        quantity_on_hand=on_hand,
    )


def sold(c: Company, cid: str, iid: str, item_id: str, on_hand: str, qty: str) -> BillingEvent:
    """A paid invoice selling `qty` of the inventory product (paid in full, by check)."""
    the_invoice = invoice(iid, cid, lines=[(item_id, qty, "40.00")])
    the_invoice["lines"][0]["item"] = pump(item_id, on_hand)
    return billing_event(
        c.company_id,
        "payment.recorded",
        {
            "payment": payment(new_id("pay"), iid, cid, the_invoice["total"], method="check"),
            "invoice": the_invoice,
            "customer": customer(cid),
        },
    )


async def stock_item(books: Books, item_id: str) -> q.Item:
    return await books.qbo.read(
        books.company.realm_id, q.Item, await books.qbo_id("product", item_id)
    )


async def test_inventory_product_becomes_a_qbo_inventory_item_with_stock_accounts_and_count(
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await map_stock_accounts(books, http, sandbox_url)
    conn = await books.store.get_connection(company.company_id)
    assert conn is not None and conn.inventory_asset_account_id and conn.cogs_account_id
    pid = new_id("prod")

    status = await run_event(
        dispatcher, item_saved(company.company_id, "product.saved", pump(pid, "25"))
    )

    assert status.message is not None and "as an inventory item" in status.message
    created = await stock_item(books, pid)
    assert (created.Type, created.TrackQtyOnHand, created.QtyOnHand) == (
        "Inventory",
        True,
        Decimal(25),
    )
    assert (
        created.AssetAccountRef and created.AssetAccountRef.value == conn.inventory_asset_account_id
    )
    assert created.ExpenseAccountRef and created.ExpenseAccountRef.value == conn.cogs_account_id
    assert created.IncomeAccountRef and created.IncomeAccountRef.value == conn.income_account_id
    assert created.InvStartDate

    # Saved again with another count: QBO owns the quantity now (its sales moved it), untouched.
    await run_event(dispatcher, item_saved(company.company_id, "product.saved", pump(pid, "40")))
    assert (await stock_item(books, pid)).QtyOnHand == 25


async def test_inventory_product_without_stock_accounts_fails_naming_the_setting(
    dispatcher: EventDispatcher, books: Books, company: Company
) -> None:
    event = item_saved(company.company_id, "product.saved", pump(new_id("prod"), "5"))

    status = await run_event(dispatcher, event, expect="failed")

    assert status.message is not None
    assert "no inventory asset account is chosen" in status.message
    assert "choose one in Integrations → QuickBooks settings" in status.message
    assert await books.count(q.Item) == 0


@pytest.mark.parametrize("how", ["voided", "deleted"])
async def test_paid_invoice_lowers_quantity_on_hand_and_its_void_or_delete_restores_it(
    how: str,
    dispatcher: EventDispatcher,
    books: Books,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
) -> None:
    await map_stock_accounts(books, http, sandbox_url)
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("prod")

    await run_event(dispatcher, sold(company, cid, iid, pid, on_hand="10", qty="3"))
    assert (await stock_item(books, pid)).QtyOnHand == Decimal("7")

    await run_event(
        dispatcher, billing_event(company.company_id, f"invoice.{how}", {"invoice_id": iid})
    )
    assert (await stock_item(books, pid)).QtyOnHand == Decimal("10")
    assert await books.customer_balance(cid) == 0
