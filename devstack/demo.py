"""`make demo`: bring the stack up, play the help-page walkthrough, verify QBO, shut down.

Exits 0 only if every check of QBO's state passes.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any
from urllib.parse import quote

import httpx

from config import DEFAULT_DATA_DIR
from devstack.seed import ConnectedCompany, choose_accounts_and_sync, connect_company
from devstack.stack import Ports, Stack
from qbo import QBOClient
from qbo import models as q
from services import open_store, qbo_client

COMPANY = "co_demo"


def say(text: str = "") -> None:
    print(text, flush=True)


@dataclass
class Checks:
    results: list[tuple[bool, str]] = field(default_factory=list)

    def check(self, ok: bool, what: str) -> None:
        self.results.append((ok, what))
        say(f"  {'✓' if ok else '✗'} {what}")

    @property
    def failed(self) -> int:
        return sum(1 for ok, _ in self.results if not ok)


class Walkthrough:
    def __init__(
        self, stack: Stack, http: httpx.AsyncClient, qbo: QBOClient, company: ConnectedCompany
    ):
        self.stack = stack
        self.http = http
        self.qbo = qbo
        self.company = company
        self.checks = Checks()

    async def send(self, type_: str, data: dict[str, Any]) -> dict[str, Any]:
        """POST one event as the billing backend does, then follow it until it is done."""
        event_id = f"evt_{uuid.uuid4().hex[:10]}"
        body = {
            "event_id": event_id,
            "type": type_,
            "company_id": COMPANY,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
            "data": data,
        }
        started = time.monotonic()
        reply = await self.http.post(f"{self.stack.api_url}/events", json=body)
        if reply.status_code != 202:
            raise RuntimeError(f"POST /events {type_} answered {reply.status_code}: {reply.text}")
        say(f"  → {type_}: {reply.json()['status']}, workflow {reply.json()['workflow_id']}")
        while True:
            state = (await self.http.get(f"{self.stack.api_url}/events/{event_id}")).json()
            if state["status"] != "running":
                break
            if time.monotonic() - started > 60:
                raise RuntimeError(f"event {event_id} still running after 60 s")
            await asyncio.sleep(0.1)
        elapsed = (time.monotonic() - started) * 1000
        say(f"    {state['status']} in {elapsed:.0f} ms: {state.get('message')}")
        return dict(state)

    async def qbo_customer(self, customer_id: str) -> q.Customer:
        link = await self.link("customer", customer_id)
        return await self.qbo.read(self.company.realm_id, q.Customer, link)

    async def qbo_item(self, kind: str, item_id: str) -> q.Item:
        return await self.qbo.read(self.company.realm_id, q.Item, await self.link(kind, item_id))

    async def link(self, kind: str, record_id: str) -> str:
        store = open_store(self.stack.settings)
        found = await store.get_link(COMPANY, self.company.realm_id, kind, record_id)
        if found is None:
            raise RuntimeError(f"no link for {kind} {record_id}")
        return found.qbo_id

    async def settings(self) -> None:
        say("Integrations → QuickBooks settings (chosen from the QBO chart of accounts):")
        chosen = await choose_accounts_and_sync(self.http, self.stack.api_url, self.company)
        say(
            "  income: Sales of Product Income · deposit: Undeposited Funds · refunds from: Checking"
        )
        say(f"  sync switched on at {chosen['sync_started_at']}")

    async def step_1_customer(self) -> None:
        say("\nStep 1. Add a customer; it appears in QBO. Rename it; the new name appears in QBO.")
        customer = {
            "id": "cust_1001", "first_name": "Maria", "last_name": "Lopez",
            "display_as_company": False, "email": "maria.lopez@example.com", "phone": "602-555-0142",
            "billing_address": {"line1": "4410 N Saguaro Dr", "city": "Phoenix", "state": "AZ",
                                "postal_code": "85018"},
            "active": True,
        }  # fmt: skip
        await self.send("customer.saved", {"customer": customer})
        created = await self.qbo_customer("cust_1001")
        self.checks.check(
            created.DisplayName == "Maria Lopez", f"QBO customer {created.Id} is 'Maria Lopez'"
        )
        await self.send("customer.saved", {"customer": {**customer, "last_name": "Lopez-Grant"}})
        renamed = await self.qbo_customer("cust_1001")
        self.checks.check(
            renamed.Id == created.Id and renamed.DisplayName == "Maria Lopez-Grant",
            f"the same QBO customer {renamed.Id} is now 'Maria Lopez-Grant'",
        )

    async def item_round_trip(self, step: str, kind: str, event: str, item: dict[str, Any]) -> None:
        say(f"\n{step}")
        await self.send(event, {"item": item})
        created = await self.qbo_item(kind, item["id"])
        income = self.company.accounts["Sales of Product Income"]
        self.checks.check(
            created.IncomeAccountRef is not None and created.IncomeAccountRef.value == income,
            f"QBO item {created.Id} '{created.Name}' has the default income account",
        )
        services = self.company.accounts["Services"]
        say("  The bookkeeper changes its income account to 'Services' in QuickBooks.")
        assert created.Id and created.SyncToken
        await self.qbo.update(
            self.company.realm_id,
            q.Item(
                Id=created.Id, SyncToken=created.SyncToken, IncomeAccountRef=q.Ref(value=services)
            ),
            request_id=str(uuid.uuid4()),
        )
        new_price = str(Decimal(item["unit_price"]) + 5)
        say(f"  The office edits it in Skimmer (price {item['unit_price']} → {new_price}).")
        await self.send(event, {"item": {**item, "unit_price": new_price}})
        edited = await self.qbo_item(kind, item["id"])
        self.checks.check(
            edited.IncomeAccountRef is not None and edited.IncomeAccountRef.value == services,
            "QBO kept the income account changed in QuickBooks",
        )
        self.checks.check(edited.UnitPrice == Decimal(new_price), f"QBO price is now {new_price}")

    async def step_4_activity_log(self) -> None:
        say("\nStep 4. The activity log lists the customer and product syncs:")
        log = (await self.http.get(f"{self.stack.api_url}/companies/{COMPANY}/activity")).json()
        for entry in reversed(log):
            say(f"  {entry['at'][:19]}  {entry['outcome']:<7} {entry['record_type']} "
                f"{entry['record_id']}: {entry['message']}")  # fmt: skip
        records = {(e["record_type"], e["record_id"]) for e in log if e["outcome"] == "success"}
        self.checks.check(
            {("customer", "cust_1001"), ("product", "prod_2001"), ("work_order_type", "wot_3001")}
            <= records
            and len(log) == 6,
            f"{len(log)} activity log lines, all successful, for the customer, product and work order type",
        )

    async def print_qbo(self) -> None:
        say("\nQuickBooks now holds (read back through the QBO API):")
        realm = self.company.realm_id
        accounts = {v: k for k, v in self.company.accounts.items()}
        for c in await self.qbo.query(realm, q.Customer, "SELECT * FROM Customer"):
            email = c.PrimaryEmailAddr.Address if c.PrimaryEmailAddr else ""
            say(f"  Customer {c.Id}: {c.DisplayName} <{email}> SyncToken {c.SyncToken}")
        for i in await self.qbo.query(realm, q.Item, "SELECT * FROM Item"):
            account = accounts.get(i.IncomeAccountRef.value, "?") if i.IncomeAccountRef else "-"
            say(f"  Item {i.Id}: {i.Name} ({i.Type}) ${i.UnitPrice}, income account: {account}")

    async def run(self) -> int:
        await self.settings()
        await self.step_1_customer()
        await self.item_round_trip(
            "Step 2. Add a product; it appears in QBO with the default income account.",
            "product", "product.saved",
            {"id": "prod_2001", "name": "Chlorine tabs 25 lb", "description": "3-inch stabilized tabs",
             "unit_price": "89.99", "active": True, "kind": "non_inventory"},
        )  # fmt: skip
        await self.item_round_trip(
            "Step 3. Same for a work order type.",
            "work_order_type", "work_order_type.saved",
            {"id": "wot_3001", "name": "Green pool cleanup", "unit_price": "150.00", "active": True,
             "kind": "service"},
        )  # fmt: skip
        await self.step_4_activity_log()
        say("\nSteps 5-8 (invoices, payments, credits, refunds) arrive with the billing sync.")
        await self.print_qbo()
        return self.checks.failed


async def main() -> int:
    keep = os.environ.get("DEMO_KEEP_RUNNING") == "1"
    data_dir = DEFAULT_DATA_DIR / "demo"
    shutil.rmtree(data_dir, ignore_errors=True)  # every demo starts from empty stores
    stack = Stack(
        data_dir=data_dir, ports=Ports() if keep else Ports.free(), say=lambda m: say(f"  {m}")
    )
    say("== Skimmer → QuickBooks Online sync: the help-page walkthrough ==")
    say("Starting the local stack (Temporal dev server + UI, QBO sandbox, worker, API)...")
    try:
        await stack.start()
        store = open_store(stack.settings)
        async with httpx.AsyncClient(timeout=30) as http:
            say(f"\nConnect QuickBooks: {stack.api_url}/companies/{COMPANY}/quickbooks/connect")
            company = await connect_company(http, stack.api_url, COMPANY)
            say(f"  approved: {COMPANY} is connected to QBO company (realm {company.realm_id})")
            qbo = qbo_client(stack.settings, store, http)
            walk = Walkthrough(stack, http, qbo, company)
            failed = await walk.run()
        query = quote(f'CompanyId="{COMPANY}"')
        say(f"\nTemporal UI (every workflow of the company): "
            f"{stack.temporal_ui_url}/namespaces/default/workflows?query={query}")  # fmt: skip
        say(f"Activity log page: {stack.api_url}/companies/{COMPANY}/activity (Accept: text/html)")
        total = len(walk.checks.results)
        if failed:
            say(f"\nDEMO FAILED: {failed} of {total} checks failed.")
            return 1
        say(f"\nAll {total} checks passed.")
        if keep:
            say("DEMO_KEEP_RUNNING=1: the stack stays up; Ctrl-C stops it.")
            while not stack.dead():
                await asyncio.sleep(1)
        return 0
    except Exception as exc:
        say(f"\nDEMO FAILED: {exc}")
        return 1
    finally:
        say("Shutting the stack down.")
        await stack.stop()


def run() -> None:
    try:
        sys.exit(asyncio.run(main()))
    except KeyboardInterrupt:
        sys.exit(130)


if __name__ == "__main__":
    run()
