"""Reading the books back from QBO (through the production client) in billing tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import httpx

from billing.events import BillingEvent
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher, EventStatus
from store import Store
from tests.conftest import Company
from tests.events import wait_done


@dataclass
class Books:
    qbo: QBOClient
    store: Store
    company: Company

    async def qbo_id(self, kind: str, record_id: str) -> str:
        link = await self.store.get_link(
            self.company.company_id, self.company.realm_id, kind, record_id
        )
        assert link is not None, f"no link for {kind} {record_id}"
        return link.qbo_id

    async def invoice(self, invoice_id: str) -> q.Invoice:
        return await self.qbo.read(
            self.company.realm_id, q.Invoice, await self.qbo_id("invoice", invoice_id)
        )

    async def customer_balance(self, customer_id: str) -> Decimal:
        customer = await self.qbo.read(
            self.company.realm_id, q.Customer, await self.qbo_id("customer", customer_id)
        )
        return customer.Balance or Decimal(0)

    async def all(self, model: type[q.QBOModel]) -> list[q.QBOModel]:
        return [row async for row in self.qbo.query_all(self.company.realm_id, model)]

    async def count(self, model: type[q.QBOModel]) -> int:
        return len(await self.all(model))


async def run_event(
    dispatcher: EventDispatcher, event: BillingEvent, expect: str = "completed"
) -> EventStatus:
    await dispatcher.submit(event)
    status = await wait_done(dispatcher, event.event_id)
    assert status.status == expect, status.message
    return status


STOCK_ACCOUNTS = [
    ("inventory_asset_account_id", "Inventory Asset", "Other Current Asset", "Inventory"),
    ("cogs_account_id", "Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
]


async def map_stock_accounts(books: Books, http: httpx.AsyncClient, sandbox_url: str) -> None:
    """Give the company an inventory asset and a cost of goods sold account, and map them."""
    realm, chosen = books.company.realm_id, {}
    token = (await books.store.load_tokens(realm)).access_token
    for setting, name, type_, sub_type in STOCK_ACCOUNTS:
        found = await books.qbo.query(
            realm, q.Account, f"SELECT * FROM Account WHERE Name = '{name}'"
        )
        if found:  # a starting chart that has it already
            chosen[setting] = found[0].Id
            continue
        reply = await http.post(
            f"{sandbox_url}/v3/company/{realm}/account",
            json={"Name": name, "AccountType": type_, "AccountSubType": sub_type},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        assert reply.status_code == 200, reply.text
        chosen[setting] = reply.json()["Account"]["Id"]
    await books.store.update_settings(books.company.company_id, **chosen)
