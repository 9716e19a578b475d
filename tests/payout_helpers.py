"""Payout tests' setup: payout sync switched on (a fees account added to the sandbox's chart),
payout.paid events, and account balances read back from QBO."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import httpx

from billing.events import BillingEvent
from qbo import models as q
from store import Store
from tests.billing_helpers import Books
from tests.conftest import Company
from tests.events import billing_event


@dataclass(frozen=True)
class PayoutAccounts:
    bank: str  # where payouts land
    fees: str  # what the card processor keeps


async def add_account(
    http: httpx.AsyncClient, sandbox_url: str, store: Store, realm_id: str, body: dict[str, str]
) -> str:
    token = (await store.load_tokens(realm_id)).access_token
    reply = await http.post(
        f"{sandbox_url}/v3/company/{realm_id}/account",
        json=body,
        headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
    )
    assert reply.status_code == 200, reply.text
    return str(reply.json()["Account"]["Id"])


async def turn_on_payout_sync(
    http: httpx.AsyncClient, sandbox_url: str, store: Store, company: Company
) -> PayoutAccounts:
    """Payouts land in their own bank account (refunds are paid from Checking); fees are an
    expense. The sandbox's starting chart has neither, so they are added as a bookkeeper would."""

    async def add(name: str, type_: str, sub_type: str) -> str:
        body = {"Name": name, "AccountType": type_, "AccountSubType": sub_type}
        return await add_account(http, sandbox_url, store, company.realm_id, body)

    accounts = PayoutAccounts(
        bank=await add("Payouts checking", "Bank", "Checking"),
        fees=await add("Card processing fees", "Expense", "BankCharges"),
    )
    await store.update_settings(
        company.company_id, payouts_account_id=accounts.bank, fees_account_id=accounts.fees
    )
    return accounts


def payout_paid(
    company: Company,
    payout_id: str,
    payment_ids: list[str],
    gross: str,
    fees: str,
    net: str,
    refund_ids: list[str] | None = None,
    event_id: str | None = None,
) -> BillingEvent:
    payout: dict[str, Any] = {
        "id": payout_id,
        "arrived_on": "2030-01-06",
        "gross": gross,
        "fees": fees,
        "net": net,
        "payment_ids": payment_ids,
    }
    if refund_ids is not None:
        payout["refund_ids"] = refund_ids
    return billing_event(company.company_id, "payout.paid", {"payout": payout}, event_id)


async def balance(books: Books, account_id: str) -> Decimal:
    """The account's CurrentBalance as QBO keeps it (a field this service never reads itself)."""
    account = await books.qbo.read(books.company.realm_id, q.Account, account_id)
    return Decimal(str(getattr(account, "CurrentBalance", 0) or 0))
