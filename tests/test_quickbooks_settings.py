"""Settings take only accounts of a fitting type, sync waits for the accounts it needs, and after a
disconnect every endpoint that needs QuickBooks answers 409 "reconnect QuickBooks" (API.md)."""

from __future__ import annotations

import uuid

import httpx
from sqlalchemy import text

from config import Settings
from store import Store, TokenCipher
from tests.conftest import Company
from tests.events import customer, event_json

# Accounts a real QBO company has besides the sandbox's starting chart: (name, type, sub-type).
MORE_ACCOUNTS = [
    ("Visa", "Credit Card", "CreditCard"),
    ("Bank fees", "Expense", "BankCharges"),
    ("Card processing", "Other Expense", "OtherMiscellaneousExpense"),
    ("Inventory Asset", "Other Current Asset", "Inventory"),
    ("Prepaid Expenses", "Other Current Asset", "PrepaidExpenses"),
    ("Cost of Goods Sold", "Cost of Goods Sold", "SuppliesMaterialsCogs"),
]

# setting → (the kinds that fit, in API.md's words; accounts that fit; accounts that do not)
FITTING: dict[str, tuple[str, list[str], list[str]]] = {
    "income_account_id": ("Income", ["Services", "Sales of Product Income"], ["Checking", "Undeposited Funds", "Bank fees"]),
    "deposit_account_id": ("Undeposited Funds or Bank", ["Undeposited Funds", "Checking"], ["Prepaid Expenses", "Services", "Visa"]),
    "refund_account_id": ("Bank or Credit Card", ["Checking", "Visa"], ["Undeposited Funds", "Services"]),
    "payouts_account_id": ("Bank", ["Checking"], ["Visa", "Undeposited Funds"]),
    "fees_account_id": ("Expense or Other Expense", ["Bank fees", "Card processing"], ["Cost of Goods Sold", "Checking"]),
    "inventory_asset_account_id": ("Other Current Asset", ["Inventory Asset"], ["Checking", "Accounts Receivable (A/R)"]),
    "cogs_account_id": ("Cost of Goods Sold", ["Cost of Goods Sold"], ["Bank fees", "Inventory Asset"]),
}  # fmt: skip


async def add_accounts(
    http: httpx.AsyncClient, sandbox_url: str, store: Store, realm_id: str
) -> None:
    token = (await store.load_tokens(realm_id)).access_token
    for name, type_, sub_type in MORE_ACCOUNTS:
        reply = await http.post(
            f"{sandbox_url}/v3/company/{realm_id}/account",
            json={"Name": name, "AccountType": type_, "AccountSubType": sub_type},
            headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
        )
        assert reply.status_code == 200, reply.text


async def chart(http: httpx.AsyncClient, api: str, company_id: str) -> dict[str, str]:
    reply = await http.get(f"{api}/companies/{company_id}/quickbooks/accounts")
    assert reply.status_code == 200, reply.text
    return {a["name"]: a["id"] for a in reply.json()}


async def unmapped_company(sandbox_url: str, store: Store, http: httpx.AsyncClient) -> str:
    """A company just connected to a fresh sandbox realm: no accounts chosen, sync off."""
    reply = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    company_id = f"co_{uuid.uuid4().hex[:10]}"
    await store.save_connection(
        company_id,
        reply["realm_id"],
        reply["access_token"],
        reply["refresh_token"],
        reply["expires_in"],
    )
    return company_id


def refusals(reply: httpx.Response) -> dict[str, str]:
    assert reply.status_code == 422, reply.text
    return {error["loc"][-1]: error["msg"] for error in reply.json()["detail"]}


async def test_each_account_setting_takes_only_accounts_of_a_fitting_type(
    api: str, http: httpx.AsyncClient, store: Store, sandbox_url: str, company: Company
) -> None:
    await add_accounts(http, sandbox_url, store, company.realm_id)
    ids = await chart(http, api, company.company_id)
    url = f"{api}/companies/{company.company_id}/quickbooks/settings"
    for field, (kinds, fit, unfit) in FITTING.items():
        for name in unfit:
            reply = await http.put(url, json={field: ids[name], "sync_enabled": False})
            message = refusals(reply)[field]
            assert f"({name})" in message and message.endswith(f"must be {kinds}"), message
        for name in fit:
            reply = await http.put(url, json={field: ids[name], "sync_enabled": False})
            assert reply.status_code == 200, f"{field} = {name}: {reply.text}"
            assert reply.json()[field] == ids[name]
        unknown = await http.put(url, json={field: "9999", "sync_enabled": False})
        assert "9999 is not in this QuickBooks company" in refusals(unknown)[field]

    # Several wrong at once: each named, and nothing of the request is stored.
    before = (await http.get(url)).json()
    both = await http.put(
        url,
        json={"income_account_id": ids["Checking"], "refund_account_id": ids["Services"], "sync_enabled": False},
    )  # fmt: skip
    assert set(refusals(both)) == {"income_account_id", "refund_account_id"}
    assert (await http.get(url)).json() == before


async def test_sync_cannot_be_switched_on_while_an_account_it_needs_is_missing(
    api: str, http: httpx.AsyncClient, store: Store, sandbox_url: str
) -> None:
    company_id = await unmapped_company(sandbox_url, store, http)
    conn = await store.get_connection(company_id)
    assert conn is not None
    await add_accounts(http, sandbox_url, store, conn.realm_id)
    ids = await chart(http, api, company_id)
    url = f"{api}/companies/{company_id}/quickbooks/settings"

    nothing_chosen = await http.put(url, json={"sync_enabled": True})
    assert set(refusals(nothing_chosen)) == {
        "income_account_id",
        "deposit_account_id",
        "refund_account_id",
    }
    # Choosing step by step with sync off is fine; switching it on still needs the rest.
    step = await http.put(url, json={"income_account_id": ids["Services"], "sync_enabled": False})
    assert step.status_code == 200 and step.json()["sync_started_at"] is None
    income_only = await http.put(url, json={"sync_enabled": True})
    assert refusals(income_only) == {
        "deposit_account_id": "choose the deposit account before switching sync on",
        "refund_account_id": "choose the refund account before switching sync on",
    }
    needed = {"deposit_account_id": ids["Undeposited Funds"], "refund_account_id": ids["Checking"]}
    # Payouts and their fees, and inventory's asset and cost of goods, are used only in pairs.
    half_payouts = await http.put(
        url, json={**needed, "payouts_account_id": ids["Checking"], "sync_enabled": True}
    )
    assert set(refusals(half_payouts)) == {"fees_account_id"}
    half_inventory = await http.put(
        url, json={**needed, "cogs_account_id": ids["Cost of Goods Sold"], "sync_enabled": True}
    )
    assert set(refusals(half_inventory)) == {"inventory_asset_account_id"}
    stored = await store.get_connection(company_id)
    assert stored is not None and not stored.sync_enabled and stored.deposit_account_id is None

    on = await http.put(url, json={**needed, "sync_enabled": True})
    assert on.status_code == 200, on.text
    assert on.json()["sync_enabled"] and on.json()["sync_started_at"] is not None
    full = {
        "payouts_account_id": ids["Checking"],
        "fees_account_id": ids["Bank fees"],
        "inventory_asset_account_id": ids["Inventory Asset"],
        "cogs_account_id": ids["Cost of Goods Sold"],
    }
    everything = await http.put(url, json={**full, "sync_enabled": True})
    assert everything.status_code == 200, everything.text
    assert {k: everything.json()[k] for k in full} == full
    assert everything.json()["sync_started_at"] == on.json()["sync_started_at"]


async def test_after_disconnect_every_endpoint_that_needs_quickbooks_answers_409_reconnect(
    api: str, http: httpx.AsyncClient, store: Store, company: Company
) -> None:
    base = f"{api}/companies/{company.company_id}/quickbooks"
    income = company.accounts["Services"]
    assert (await http.delete(f"{base}/connection")).status_code == 200

    needs_quickbooks = [
        ("GET", f"{base}/accounts", None),
        ("PUT", f"{base}/settings", {"income_account_id": income, "sync_enabled": False}),
        ("PUT", f"{base}/settings", {"income_account_id": income, "sync_enabled": True}),
        ("PUT", f"{base}/settings", {"sync_enabled": True}),
        ("DELETE", f"{base}/connection", None),
    ]
    for method, url, body in needs_quickbooks:
        reply = await http.request(method, url, json=body)
        assert reply.status_code == 409, f"{method} {url} {body}: {reply.status_code} {reply.text}"
        assert "reconnect QuickBooks" in reply.json()["detail"]
    event = event_json(company.company_id, "customer.saved", {"customer": customer("c1")})
    assert (await http.post(f"{api}/events", json=event)).status_code == 409

    # What needs no QuickBooks still answers: reading the settings, keeping sync off, reconnecting.
    settings = await http.get(f"{base}/settings")
    assert settings.status_code == 200 and settings.json()["connection_status"] == "disconnected"
    assert (await http.put(f"{base}/settings", json={"sync_enabled": False})).status_code == 200
    assert (await http.get(f"{base}/connect")).status_code == 302


async def test_a_refused_login_answers_409_reconnect_for_the_chart_of_accounts(
    api: str, http: httpx.AsyncClient, store: Store, company: Company
) -> None:
    tokens = await store.load_tokens(company.realm_id)
    assert await store.mark_reconnect_required(company.realm_id, "refused", tokens.version)
    reply = await http.get(f"{api}/companies/{company.company_id}/quickbooks/accounts")
    assert reply.status_code == 409 and "reconnect QuickBooks" in reply.json()["detail"]


async def test_a_store_from_before_gains_the_new_account_settings(
    database_url: str, settings: Settings
) -> None:
    """Nullable columns a release adds are added to an existing store at start; nothing is lost."""
    cipher = TokenCipher(settings.token_encryption_key)
    old = Store(database_url, cipher)
    old.create_all()
    await old.save_connection("co_old", "realm_old", "access", "refresh", 3600)
    with old.engine.begin() as connection:
        for column in ("inventory_asset_account_id", "cogs_account_id"):
            connection.execute(text(f'ALTER TABLE "connection" DROP COLUMN "{column}"'))

    for _ in range(2):  # the API and the worker both start on it
        Store(database_url, cipher).create_all()
    new = Store(database_url, cipher)
    await new.update_settings("co_old", cogs_account_id="80")
    conn = await new.get_connection("co_old")
    assert conn is not None and conn.realm_id == "realm_old" and conn.cogs_account_id == "80"
    assert (await new.load_tokens("realm_old")).refresh_token == "refresh"
