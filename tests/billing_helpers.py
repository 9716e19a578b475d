"""Reading the books back from QBO (through the production client) in billing tests."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

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
