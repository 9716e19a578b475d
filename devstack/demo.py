"""`make demo`: bring the stack up, play the help-page walkthrough, verify QBO, shut down.

Exits 0 only if every check of QBO's state passes.
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any
from urllib.parse import quote

import httpx

from config import DEFAULT_DATA_DIR
from devstack.seed import ConnectedCompany, choose_accounts_and_sync, connect_company
from devstack.stack import Ports, Stack
from qbo import QBOClient
from qbo import models as q
from services import open_store, qbo_client
from starter.dispatch import IN_PROGRESS

COMPANY = "co_demo"
CENT = Decimal("0.01")

CUSTOMER = {
    "id": "cust_1001", "first_name": "Maria", "last_name": "Lopez-Grant",
    "display_as_company": False, "email": "maria.lopez@example.com", "phone": "602-555-0142",
    "billing_address": {"line1": "4410 N Saguaro Dr", "city": "Phoenix", "state": "AZ",
                        "postal_code": "85018"},
    "active": True,
}  # fmt: skip
INVOICE = {
    "id": "inv_1043", "number": "1043", "customer_id": "cust_1001", "issued_on": "2026-11-26",
    "due_on": "2026-12-26",
    "lines": [
        {"item_id": "prod_2001", "item_type": "product", "description": "Chlorine tabs 25 lb",
         "quantity": "1", "unit_price": "94.99", "amount": "94.99"},
        {"item_id": "wot_3001", "item_type": "work_order_type", "description": "Green pool cleanup",
         "quantity": "1", "unit_price": "150.00", "amount": "150.00"},
    ],
    "total": "244.99", "amount_due": "244.99",
}  # fmt: skip
PAYMENT = {
    "id": "pay_5001", "invoice_id": "inv_1043", "customer_id": "cust_1001", "amount": "244.99",
    "method": "card", "reference": "ch_3PdX", "received_on": "2026-11-26",
}  # fmt: skip
CREDIT = {"id": "cr_7001", "customer_id": "cust_1001", "amount": "75.00", "method": "check",
          "received_on": "2026-11-26"}  # fmt: skip


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
        self.costs: list[tuple[str, float, int]] = []  # (event type, ms, QBO requests)
        self.invoice: dict[str, Any] = {}

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
        requests_before = await self.qbo_request_count()
        started = time.monotonic()
        reply = await self.http.post(f"{self.stack.api_url}/events", json=body)
        if reply.status_code != 202:
            raise RuntimeError(f"POST /events {type_} answered {reply.status_code}: {reply.text}")
        say(f"  → {type_}: {reply.json()['status']}, workflow {reply.json()['workflow_id']}")
        while True:
            state = (await self.http.get(f"{self.stack.api_url}/events/{event_id}")).json()
            if state["status"] not in IN_PROGRESS:
                break
            if time.monotonic() - started > 60:
                raise RuntimeError(f"event {event_id} still running after 60 s")
            await asyncio.sleep(0.1)
        elapsed = (time.monotonic() - started) * 1000
        cost = await self.qbo_request_count() - requests_before
        self.costs.append((type_, elapsed, cost))
        say(
            f"    {state['status']} in {elapsed:.0f} ms, {cost} QBO requests: {state.get('message')}"
        )
        return dict(state)

    async def qbo_request_count(self) -> int:
        """How many QBO API calls the sandbox has answered for this company so far."""
        reply = await self.http.get(
            f"{self.stack.sandbox_url}/__sandbox/realms/{self.company.realm_id}/requests"
        )
        return len(reply.json()["requests"])

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

    async def step_5_unpaid_invoice(self) -> None:
        say("\nStep 5. Create and send an invoice: nothing reaches QBO.")
        # Created now, after sync was switched on (earlier invoices are never sent).
        self.invoice = {**INVOICE, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        await self.send("invoice.saved", {"invoice": self.invoice})
        invoices = await self.qbo.query(self.company.realm_id, q.Invoice, "SELECT * FROM Invoice")
        self.checks.check(invoices == [], "QBO has no invoice: unpaid invoices stay in Skimmer")

    async def step_6_payment_and_delete(self) -> None:
        say("\nStep 6. Record a payment: invoice and payment appear in QBO at once. Delete it.")
        await self.send(
            "payment.recorded",
            {
                "payment": PAYMENT,
                "invoice": {**self.invoice, "amount_due": "0.00"},
                "customer": CUSTOMER,
            },
        )
        invoice = await self.qbo.read(
            self.company.realm_id, q.Invoice, await self.link("invoice", "inv_1043")
        )
        self.checks.check(
            (invoice.TotalAmt, invoice.Balance) == (Decimal("244.99"), Decimal("0")),
            f"QBO invoice {invoice.DocNumber} for $244.99 is paid (balance {invoice.Balance})",
        )
        payment = await self.qbo.read(
            self.company.realm_id, q.Payment, await self.link("payment", "pay_5001")
        )
        self.checks.check(
            payment.TotalAmt == Decimal("244.99"),
            f"QBO payment {payment.Id} of $244.99 is linked to it",
        )
        await self.send("payment.deleted", {"payment_id": "pay_5001", "invoice_id": "inv_1043"})
        invoice = await self.qbo.read(self.company.realm_id, q.Invoice, invoice.Id or "")
        payments = await self.qbo.query(self.company.realm_id, q.Payment, "SELECT * FROM Payment")
        self.checks.check(
            payments == [] and invoice.Balance == Decimal("244.99"),
            "the QBO payment is deleted and the invoice is due again ($244.99)",
        )

    async def step_7_account_credit(self) -> None:
        say("\nStep 7. Add an account credit: an Unapplied Payment appears on the customer in QBO.")
        await self.send("credit.recorded", {"credit": CREDIT, "customer": CUSTOMER})
        credit = await self.qbo.read(
            self.company.realm_id, q.Payment, await self.link("credit", "cr_7001")
        )
        self.checks.check(
            credit.UnappliedAmt == Decimal("75.00") and not credit.Line,
            f"QBO payment {credit.Id} is an unapplied payment of $75.00",
        )

    async def step_8_refund_credit(self) -> None:
        say("\nStep 8. Refund that credit in full: the refund appears in QBO, the credit is gone.")
        await self.send(
            "credit.refunded",
            {
                "credit_id": "cr_7001",
                "refund": {
                    "id": "ref_8001",
                    "amount": "75.00",
                    "reason": "Moved away",
                    "refunded_on": "2026-11-26",
                },
            },
        )
        credit = await self.qbo.read(
            self.company.realm_id, q.Payment, await self.link("credit", "cr_7001")
        )
        entries = await self.qbo.query(
            self.company.realm_id, q.JournalEntry, "SELECT * FROM JournalEntry"
        )
        self.checks.check(
            len(entries) == 1 and entries[0].TotalAmt == Decimal("75.00"),
            "a $75.00 refund (journal entry) is on the customer in QBO",
        )
        self.checks.check(credit.UnappliedAmt == 0, "the unapplied credit is used up")
        customer = await self.qbo_customer("cust_1001")
        skimmer_balance = Decimal("244.99")  # the invoice is due again; the credit was refunded
        self.checks.check(
            customer.Balance == skimmer_balance,
            f"the customer's QBO balance {customer.Balance} equals Skimmer's {skimmer_balance}",
        )

    async def step_9_bad_day(self) -> None:
        say("\nStep 9. A bad day. QuickBooks refuses the saved login (someone disconnected the app")
        say(
            "in QuickBooks): events wait, new ones are still accepted, reconnecting lands them all."
        )
        await self.revoke_at_intuit()
        invoice = {
            **self.invoice, "id": "inv_1044", "number": "1044",
            "lines": [{**self.invoice["lines"][1], "quantity": "1", "amount": "150.00"}],
            "total": "150.00", "amount_due": "50.00",
        }  # fmt: skip
        payment = {**PAYMENT, "id": "pay_5002", "invoice_id": "inv_1044", "amount": "100.00"}
        waiting = [
            await self.post("payment.recorded", {"payment": payment, "invoice": invoice, "customer": CUSTOMER}),
            await self.post("customer.saved", {"customer": {**CUSTOMER, "phone": "602-555-0199"}}),
        ]  # fmt: skip
        await self.until(lambda: self.outcomes("waiting"), "an event waits for the reconnect")
        conn = (
            await self.http.get(f"{self.stack.api_url}/companies/{COMPANY}/quickbooks/settings")
        ).json()
        say(f"  connection status: {conn['connection_status']}")
        for line in await self.outcomes("waiting"):
            say(f"  activity log: {line['message']}")
        self.checks.check(
            conn["connection_status"] == "reconnect_required" and not await self.outcomes("failed"),
            "QuickBooks refused the login: the events wait, none failed",
        )
        say(
            f"\n  The office clicks Reconnect QuickBooks: {self.stack.api_url}/companies/{COMPANY}/quickbooks/connect"
        )
        start = await self.http.get(f"{self.stack.api_url}/companies/{COMPANY}/quickbooks/connect")
        approved = await self.http.get(
            httpx.URL(start.headers["location"]).copy_set_param("realm_id", self.company.realm_id)
        )
        await self.http.get(approved.headers["location"])
        states = [await self.follow(event_id) for event_id in waiting]
        for state in states:
            say(f"    {state['status']}: {state.get('message')}")
        customer = await self.qbo_customer("cust_1001")
        phone = customer.PrimaryPhone.FreeFormNumber if customer.PrimaryPhone else None
        balance = Decimal("244.99") + Decimal("50.00")
        self.checks.check(
            all(s["status"] == "completed" for s in states)
            and phone == "602-555-0199"
            and customer.Balance == balance,
            f"after reconnecting, both landed in order: payment $100.00, new phone, balance {customer.Balance}",
        )

        say("\n  A failure, fixed, retried: a credit applied before the credit itself reached us.")
        applied = await self.send(
            "credit.applied",
            {"credit_id": "cr_7002", "invoice": invoice, "customer": CUSTOMER, "amount": "50.00"},
        )
        credit = {**CREDIT, "id": "cr_7002", "amount": "50.00"}
        await self.send("credit.recorded", {"credit": credit, "customer": CUSTOMER})
        say(f"  operator: python -m starter retry {applied['event_id']}  (or the Retry button)")
        retried = await self.http.post(f"{self.stack.api_url}/events/{applied['event_id']}/retry")
        state = await self.follow(applied["event_id"])
        say(
            f"    {retried.status_code} {retried.json()['status']} → {state['status']}: {state.get('message')}"
        )
        resolved = [
            line
            for line in await self.outcomes("failed")
            if line["event_id"] == applied["event_id"]
        ]
        paid = await self.qbo.read(
            self.company.realm_id, q.Invoice, await self.link("invoice", "inv_1044")
        )
        self.checks.check(
            applied["status"] == "failed" and state["status"] == "completed"
            and paid.Balance == 0 and all(line["resolved"] for line in resolved),
            "the failed credit, retried once the credit arrived, paid invoice 1044; its failure is resolved",
        )  # fmt: skip

    async def step_10_payout(self) -> None:
        say("\nStep 10. A card payout arrives: one deposit in QBO, the fee on its own line.")
        listed = await self.http.get(
            f"{self.stack.api_url}/companies/{COMPANY}/quickbooks/accounts"
        )
        chart = {(a["name"], a["type"]): a["id"] for a in listed.json()}
        # Stripe pays into the business's checking account; what it keeps is a bank charge.
        bank, fees = chart[("Checking", "Bank")], chart[("Merchant Account Fees", "Expense")]
        chosen = await self.http.put(
            f"{self.stack.api_url}/companies/{COMPANY}/quickbooks/settings",
            json={"payouts_account_id": bank, "fees_account_id": fees, "sync_enabled": True},
        )
        self.checks.check(
            chosen.status_code == 200
            and (chosen.json()["payouts_account_id"], chosen.json()["fees_account_id"])
            == (bank, fees),
            "settings: payouts land in Checking, card fees go to Merchant Account Fees",
        )
        invoice = {
            **self.invoice, "id": "inv_1045", "number": "1045",
            "lines": [self.invoice["lines"][0]], "total": "94.99", "amount_due": "0.00",
        }  # fmt: skip
        card = {**PAYMENT, "id": "pay_5003", "invoice_id": "inv_1045", "amount": "94.99"}
        await self.send(
            "payment.recorded", {"payment": card, "invoice": invoice, "customer": CUSTOMER}
        )
        # Stripe's 2.9% + 30¢ on $94.99, paid out two days later.
        payout = {
            "id": "po_9001", "arrived_on": "2026-11-28", "gross": "94.99", "fees": "3.05",
            "net": "91.94", "payment_ids": ["pay_5003"],
        }  # fmt: skip
        await self.send("payout.paid", {"payout": payout})
        deposits = await self.qbo.query(self.company.realm_id, q.Deposit, "SELECT * FROM Deposit")
        payment_id = await self.link("payment", "pay_5003")
        lines = [line for d in deposits for line in d.Line or []]
        linked = [
            (line.Amount, link.TxnType, link.TxnId)
            for line in lines
            for link in line.LinkedTxn or []
        ]
        fee_lines = [
            (line.Amount, line.DepositLineDetail.AccountRef.value)
            for line in lines
            if line.DepositLineDetail and line.DepositLineDetail.AccountRef
        ]
        into = [d.DepositToAccountRef.value if d.DepositToAccountRef else None for d in deposits]
        self.checks.check(
            len(deposits) == 1 and into == [bank],
            f"QBO deposit {deposits[0].Id if deposits else '?'} into Checking",
        )
        self.checks.check(
            linked == [(Decimal("94.99"), "Payment", payment_id)],
            f"its line of $94.99 is linked to QBO payment {payment_id}",
        )
        self.checks.check(
            fee_lines == [(Decimal("-3.05"), fees)],
            "a fee line of -$3.05 to Merchant Account Fees",
        )
        total = deposits[0].TotalAmt if deposits else None
        self.checks.check(
            total == Decimal("91.94"), f"the deposit totals ${total}, the payout's net $91.94"
        )

    async def step_11_taxed_invoice(self) -> None:
        say("\nStep 11. A taxed invoice is paid: QBO holds Skimmer's sales tax to the cent.")
        realm = self.company.realm_id
        tax_settings = await self.http.get(
            f"{self.stack.sandbox_url}/__sandbox/realms/{realm}/settings"
        )
        self.checks.check(
            tax_settings.json()["automated_sales_tax"] is False,
            "the QBO company keeps sales tax by hand (no automated sales tax)",
        )
        lines = [
            {**line, "taxable": line["item_type"] == "product"} for line in self.invoice["lines"]
        ]
        taxable = sum((Decimal(x["amount"]) for x in lines if x["taxable"]), Decimal(0))
        # Skimmer rounds each named rate on its own, half up, as QBO does in a manual company.
        taxes = [
            {"name": name, "rate_percent": rate, "taxable_amount": str(taxable),
             "amount": str((taxable * Decimal(rate) / 100).quantize(CENT, rounding=ROUND_HALF_UP))}
            for name, rate in (("AZ State", "5.6"), ("Phoenix", "2.3"))
        ]  # fmt: skip
        total_tax = sum((Decimal(t["amount"]) for t in taxes), Decimal(0))
        subtotal = Decimal(self.invoice["total"])
        total = subtotal + total_tax
        invoice = {
            **self.invoice, "id": "inv_1047", "number": "1047", "lines": lines,
            "subtotal": str(subtotal), "taxes": taxes, "total": str(total), "amount_due": "0.00",
        }  # fmt: skip
        card = {**PAYMENT, "id": "pay_5004", "invoice_id": "inv_1047", "amount": str(total)}
        await self.send(
            "payment.recorded", {"payment": card, "invoice": invoice, "customer": CUSTOMER}
        )
        qbo_invoice = await self.qbo.read(realm, q.Invoice, await self.link("invoice", "inv_1047"))
        detail = qbo_invoice.TxnTaxDetail
        qbo_tax = detail.TotalTax if detail else None
        rates = " + ".join(f"{t['name']} ${t['amount']}" for t in taxes)
        self.checks.check(
            qbo_tax == total_tax,
            f"QBO invoice {qbo_invoice.DocNumber} carries sales tax ${qbo_tax} (Skimmer: {rates})",
        )
        self.checks.check(
            qbo_invoice.TotalAmt == total and qbo_invoice.Balance == Decimal("0"),
            f"it totals ${qbo_invoice.TotalAmt}, Skimmer's ${total}, and is paid "
            f"(balance {qbo_invoice.Balance})",
        )
        items = [x for x in qbo_invoice.Line or [] if x.SalesItemLineDetail]
        marks = [
            x.SalesItemLineDetail.TaxCodeRef.value
            for x in items
            if x.SalesItemLineDetail and x.SalesItemLineDetail.TaxCodeRef
        ]
        self.checks.check(
            marks == ["TAX", "NON"]
            and sum((x.Amount or Decimal(0) for x in items), Decimal(0)) == subtotal,
            "the chlorine line is TAX, the cleanup NON; no item line holds the tax",
        )
        name = "AZ State 5.6% + Phoenix 2.3%"
        codes = await self.qbo.query(
            realm, q.TaxCode, f"SELECT * FROM TaxCode WHERE Name = '{name}'"
        )
        used = detail.TxnTaxCodeRef.value if detail and detail.TxnTaxCodeRef else None
        self.checks.check(
            [c.Id for c in codes] == [used],
            f"one QBO tax code '{name}' (id {used}), made once by name, is the invoice's",
        )

    async def revoke_at_intuit(self) -> None:
        store = open_store(self.stack.settings)
        tokens = await store.load_tokens(self.company.realm_id)
        reply = await self.http.post(
            f"{self.stack.sandbox_url}/v2/oauth2/tokens/revoke",
            json={"token": tokens.refresh_token},
            auth=(self.stack.settings.qbo_client_id, self.stack.settings.qbo_client_secret),
        )
        reply.raise_for_status()

    async def post(self, type_: str, data: dict[str, Any]) -> str:
        """POST one event and return at once (202), as the backend does; its event id."""
        event_id = f"evt_{uuid.uuid4().hex[:10]}"
        body = {
            "event_id": event_id, "type": type_, "company_id": COMPANY,
            "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "data": data,
        }  # fmt: skip
        reply = await self.http.post(f"{self.stack.api_url}/events", json=body)
        if reply.status_code != 202:
            raise RuntimeError(f"POST /events {type_} answered {reply.status_code}: {reply.text}")
        say(f"  → {type_}: {reply.json()['status']} (202)")
        return event_id

    async def follow(self, event_id: str, timeout: float = 60) -> dict[str, Any]:
        """GET /events/{id} until the event has ended."""
        started = time.monotonic()
        while True:
            state = (await self.http.get(f"{self.stack.api_url}/events/{event_id}")).json()
            if state["status"] in ("completed", "failed"):
                return dict(state)
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"event {event_id} still {state['status']} after {timeout} s")
            await asyncio.sleep(0.1)

    async def outcomes(self, outcome: str) -> list[dict[str, Any]]:
        log = (await self.http.get(f"{self.stack.api_url}/companies/{COMPANY}/activity")).json()
        return [dict(line) for line in log if line["outcome"] == outcome]

    @staticmethod
    async def until(
        found: Callable[[], Awaitable[list[dict[str, Any]]]], what: str, timeout: float = 30
    ) -> None:
        started = time.monotonic()
        while not await found():
            if time.monotonic() - started > timeout:
                raise RuntimeError(f"not seen within {timeout} s: {what}")
            await asyncio.sleep(0.1)

    async def print_qbo(self) -> None:
        say("\nQuickBooks now holds (read back through the QBO API):")
        realm = self.company.realm_id
        accounts = {v: k for k, v in self.company.accounts.items()}
        for c in await self.qbo.query(realm, q.Customer, "SELECT * FROM Customer"):
            email = c.PrimaryEmailAddr.Address if c.PrimaryEmailAddr else ""
            say(f"  Customer {c.Id}: {c.DisplayName} <{email}>, balance ${c.Balance}")
        for i in await self.qbo.query(realm, q.Item, "SELECT * FROM Item"):
            account = accounts.get(i.IncomeAccountRef.value, "?") if i.IncomeAccountRef else "-"
            say(f"  Item {i.Id}: {i.Name} ({i.Type}) ${i.UnitPrice}, income account: {account}")
        for inv in await self.qbo.query(realm, q.Invoice, "SELECT * FROM Invoice"):
            tax = inv.TxnTaxDetail.TotalTax if inv.TxnTaxDetail else None
            say(
                f"  Invoice {inv.Id} (no. {inv.DocNumber}): total ${inv.TotalAmt}, balance ${inv.Balance}"
                + (f", sales tax ${tax}" if tax else "")
            )
        for p in await self.qbo.query(realm, q.Payment, "SELECT * FROM Payment"):
            say(
                f"  Payment {p.Id}: ${p.TotalAmt}, unapplied ${p.UnappliedAmt}, {len(p.Line or [])} line(s)"
            )
        for je in await self.qbo.query(realm, q.JournalEntry, "SELECT * FROM JournalEntry"):
            say(f"  Journal entry {je.Id}: ${je.TotalAmt} ({je.PrivateNote})")
        for d in await self.qbo.query(realm, q.Deposit, "SELECT * FROM Deposit"):
            into = accounts.get(d.DepositToAccountRef.value, "?") if d.DepositToAccountRef else "-"
            say(f"  Deposit {d.Id}: ${d.TotalAmt} into {into}, {len(d.Line or [])} line(s)")

    def print_costs(self) -> None:
        say("\nWhat each event cost (accepted → QBO updated → status completed):")
        for type_, ms, requests in self.costs:
            say(f"  {type_:<22} {ms:7.0f} ms  {requests:3d} QBO requests")

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
        await self.step_5_unpaid_invoice()
        await self.step_6_payment_and_delete()
        await self.step_7_account_credit()
        await self.step_8_refund_credit()
        await self.step_9_bad_day()
        await self.step_10_payout()
        await self.step_11_taxed_invoice()
        await self.print_qbo()
        await self.print_activity_log()
        self.print_costs()
        return self.checks.failed

    async def print_activity_log(self) -> None:
        say("\nThe activity log, as the office sees it:")
        log = (await self.http.get(f"{self.stack.api_url}/companies/{COMPANY}/activity")).json()
        for entry in reversed(log):
            say(
                f"  {entry['outcome']:<7} {entry['record_type']} {entry['record_id']}: {entry['message']}"
            )


async def main() -> int:
    keep = os.environ.get("DEMO_KEEP_RUNNING") == "1"
    stack = Stack(
        data_dir=DEFAULT_DATA_DIR / "demo",
        ports=Ports() if keep else Ports.free(),
        say=lambda m: say(f"  {m}"),
        fresh=True,  # every demo starts from empty stores, once no other demo uses them
    )
    say("== Skimmer → QuickBooks Online sync: the help-page walkthrough ==")
    say("Starting the local stack (Temporal dev server + UI, QBO sandbox, worker, API)...")
    try:
        await stack.start()
        store = open_store(stack.settings)
        async with stack.client(timeout=30) as http:
            say(f"\nConnect QuickBooks: {stack.api_url}/companies/{COMPANY}/quickbooks/connect")
            company = await connect_company(http, stack.api_url, COMPANY)
            say(f"  approved: {COMPANY} is connected to QBO company (realm {company.realm_id})")
            qbo = qbo_client(stack.settings, store, http)
            walk = Walkthrough(stack, http, qbo, company)
            failed = await walk.run()
        query = quote(f'CompanyId="{COMPANY}"')
        say(f"\nTemporal UI (every workflow of the company): "
            f"{stack.temporal_ui_url}/namespaces/default/workflows?query={query}")  # fmt: skip
        say(
            f"Activity log page: {stack.api_url}/companies/{COMPANY}/activity (sign in with the admin key)"
        )
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
