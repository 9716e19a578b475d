"""Building blocks for the transaction and accounting tests: records made over real HTTP, money
read back as Decimal."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.sandbox.helpers import Company, exact_json, fault


def money(value: str | int) -> Decimal:
    return Decimal(str(value))


def number(value: str | int) -> float | int:
    """A JSON number for a request body (httpx's encoder knows no Decimal); its shortest repr
    is what the sandbox parses, so "12.34" arrives as exactly 12.34."""
    return int(value) if isinstance(value, int) else float(value)


async def post_exact(company: Company, entity: str, body: Any, **params: str) -> dict[str, Any]:
    """POST a write that must succeed; the record with money as Decimal."""
    response = await company.post(entity, body, **params)
    assert response.status_code == 200, response.text
    return exact_json(response)[entity]  # type: ignore[no-any-return]


async def read(company: Company, entity: str, record_id: str) -> dict[str, Any]:
    response = await company.get(entity, record_id)
    assert response.status_code == 200, response.text
    return exact_json(response)[entity]  # type: ignore[no-any-return]


async def refused(company: Company, entity: str, body: Any, **params: str) -> dict[str, str]:
    """The first error of a write that must be refused."""
    return fault(await company.post(entity, body, **params))


async def customer(company: Company, name: str, **fields: Any) -> str:
    return str((await company.create("Customer", {"DisplayName": name} | fields))["Id"])


async def service(company: Company, name: str = "Pool cleaning") -> str:
    return str((await company.service_item(name))["Id"])


async def inventory_item(company: Company, name: str, qty: int | str) -> str:
    body = {
        "Name": name,
        "Type": "Inventory",
        "IncomeAccountRef": {"value": company.account_id("Sales of Product Income")},
        "AssetAccountRef": {"value": company.account_id("Undeposited Funds")},
        "ExpenseAccountRef": {"value": company.account_id("Services")},
        "QtyOnHand": number(qty),
        "InvStartDate": "2026-01-01",
    }
    return str((await company.create("Item", body))["Id"])


def sales_line(
    item_id: str, amount: str | int, qty: str | int | None = None, price: str | int | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item_id}}
    if qty is not None:
        detail["Qty"] = number(qty)
    if price is not None:
        detail["UnitPrice"] = number(price)
    return {
        "DetailType": "SalesItemLineDetail",
        "Amount": number(amount),
        "SalesItemLineDetail": detail,
    }


def sales_body(customer_id: str, *lines: dict[str, Any], **fields: Any) -> dict[str, Any]:
    return {"CustomerRef": {"value": customer_id}, "Line": list(lines)} | fields


async def invoice(
    company: Company, customer_id: str, item_id: str, amount: str | int, **fields: Any
) -> dict[str, Any]:
    body = sales_body(customer_id, sales_line(item_id, amount), **fields)
    return await post_exact(company, "Invoice", body)


def link(txn_id: str, amount: str | int, txn_type: str = "Invoice") -> dict[str, Any]:
    return {"Amount": number(amount), "LinkedTxn": [{"TxnId": txn_id, "TxnType": txn_type}]}


def payment_body(customer_id: str, total: str | int, *lines: dict[str, Any]) -> dict[str, Any]:
    body: dict[str, Any] = {"CustomerRef": {"value": customer_id}, "TotalAmt": number(total)}
    if lines:
        body["Line"] = list(lines)
    return body


async def payment(
    company: Company, customer_id: str, total: str | int, *lines: dict[str, Any]
) -> dict[str, Any]:
    return await post_exact(company, "Payment", payment_body(customer_id, total, *lines))


async def balance(company: Company, customer_id: str) -> Decimal:
    """The customer's Balance, after checking BalanceWithJobs agrees (no jobs in these tests)."""
    record = await read(company, "Customer", customer_id)
    assert record["BalanceWithJobs"] == record["Balance"]
    return record["Balance"]  # type: ignore[no-any-return]


async def open_balance(company: Company, entity: str, record_id: str) -> Decimal:
    return (await read(company, entity, record_id))["Balance"]  # type: ignore[no-any-return]


def journal_line(
    posting: str, account_id: str, amount: str | int, customer_id: str | None = None
) -> dict[str, Any]:
    detail: dict[str, Any] = {"PostingType": posting, "AccountRef": {"value": account_id}}
    if customer_id is not None:
        detail["Entity"] = {"Type": "Customer", "EntityRef": {"value": customer_id}}
    return {
        "Amount": number(amount),
        "DetailType": "JournalEntryLineDetail",
        "JournalEntryLineDetail": detail,
    }


async def delete(company: Company, entity: str, record: dict[str, Any]) -> httpx.Response:
    body = {"Id": record["Id"], "SyncToken": record["SyncToken"]}
    return await company.post(entity, body, operation="delete")


async def void_invoice(company: Company, record: dict[str, Any]) -> httpx.Response:
    body = {"Id": record["Id"], "SyncToken": record["SyncToken"]}
    return await company.post("Invoice", body, operation="void")


async def void_payment(company: Company, record: dict[str, Any]) -> httpx.Response:
    body = {"Id": record["Id"], "SyncToken": record["SyncToken"], "sparse": True}
    return await company.post("Payment", body, operation="update", include="void")
