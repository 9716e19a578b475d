"""The books add up: customer balances against open items, account balances against customers,
inventory quantities, CompanyInfo, and queries over transactions."""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal
from typing import Any

from tests.sandbox.helpers import Company, exact_json, fault
from tests.sandbox.tx_support import (
    customer,
    delete,
    inventory_item,
    invoice,
    journal_line,
    link,
    money,
    payment,
    post_exact,
    read,
    sales_body,
    sales_line,
    service,
    void_invoice,
    void_payment,
)


async def exact_state(company: Company) -> dict[str, list[dict[str, Any]]]:
    response = await company.http.get(f"/__sandbox/realms/{company.realm_id}")
    assert response.status_code == 200
    return exact_json(response)["entities"]  # type: ignore[no-any-return]


def open_items_by_customer(state: dict[str, list[dict[str, Any]]]) -> dict[str, Decimal]:
    """Σ open invoice balances − unapplied payments − open credit memos + open A/R of journal
    entries (their A/R lines net of what payments applied), per customer."""
    receivable = {a["Id"] for a in state["Account"] if a["AccountType"] == "Accounts Receivable"}
    totals: dict[str, Decimal] = defaultdict(Decimal)
    for entry in state["Invoice"]:
        totals[entry["CustomerRef"]["value"]] += entry["Balance"]
    for memo in state["CreditMemo"]:
        totals[memo["CustomerRef"]["value"]] -= memo["Balance"]
    journal_applied: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for paid in state["Payment"]:
        customer_id = paid["CustomerRef"]["value"]
        totals[customer_id] -= paid["UnappliedAmt"]
        for line in paid.get("Line", []):
            [linked] = line["LinkedTxn"]
            if linked["TxnType"] == "JournalEntry":
                journal_applied[(linked["TxnId"], customer_id)] += line["Amount"]
    for entry in state["JournalEntry"]:
        net: dict[str, Decimal] = defaultdict(Decimal)
        for line in entry["Line"]:
            detail = line["JournalEntryLineDetail"]
            if detail["AccountRef"]["value"] in receivable:
                sign = 1 if detail["PostingType"] == "Debit" else -1
                net[detail["Entity"]["EntityRef"]["value"]] += sign * line["Amount"]
        for customer_id, amount in net.items():
            applied = journal_applied[(entry["Id"], customer_id)]
            totals[customer_id] += amount - applied if amount > 0 else amount + applied
    return totals


async def assert_books_balance(company: Company) -> None:
    state = await exact_state(company)
    expected = open_items_by_customer(state)
    for record in state["Customer"]:
        assert record["Balance"] == expected.get(record["Id"], 0), record["DisplayName"]
    receivable = next(a for a in state["Account"] if a["AccountType"] == "Accounts Receivable")
    assert receivable["CurrentBalance"] == sum(
        (c["Balance"] for c in state["Customer"]), Decimal(0)
    )
    funds = next(a for a in state["Account"] if a["AccountSubType"] == "UndepositedFunds")
    deposited = {
        linked["TxnId"]
        for deposit in state["Deposit"]
        for line in deposit["Line"]
        for linked in line.get("LinkedTxn", [])
    }
    waiting = [
        paid["TotalAmt"]
        for paid in state["Payment"]
        if paid["DepositToAccountRef"]["value"] == funds["Id"] and paid["Id"] not in deposited
    ]
    assert funds["CurrentBalance"] == sum(waiting, Decimal(0))


async def test_customer_balances_equal_their_open_items_through_a_busy_day(
    company: Company,
) -> None:
    amy, bob = await customer(company, "Amy"), await customer(company, "Bob")
    item_id = await service(company)
    receivable, services = (
        company.account_id("Accounts Receivable (A/R)"),
        company.account_id("Services"),
    )
    first = await invoice(company, amy, item_id, "120.00")
    second = await invoice(company, amy, item_id, "80.40")
    third = await invoice(company, bob, item_id, 50)
    await assert_books_balance(company)
    memo = await post_exact(company, "CreditMemo", sales_body(amy, sales_line(item_id, 20)))
    entry = await post_exact(
        company,
        "JournalEntry",
        {
            "Line": [
                journal_line("Debit", receivable, 15, bob),
                journal_line("Credit", services, 15),
            ]
        },
    )
    await assert_books_balance(company)
    p1 = await payment(
        company, amy, 110, link(first["Id"], 120), link(memo["Id"], 20, txn_type="CreditMemo")
    )
    p2 = await payment(company, amy, "100.40", link(second["Id"], "80.40"))
    p3 = await payment(
        company, bob, 30, link(third["Id"], 20), link(entry["Id"], 10, txn_type="JournalEntry")
    )
    await assert_books_balance(company)
    deposit = await post_exact(
        company,
        "Deposit",
        {
            "DepositToAccountRef": {"value": company.account_id("Checking")},
            "Line": [
                {"Amount": 110, "LinkedTxn": [{"TxnId": p1["Id"], "TxnType": "Payment"}]},
                {"Amount": 30, "LinkedTxn": [{"TxnId": p3["Id"], "TxnType": "Payment"}]},
            ],
        },
    )
    await assert_books_balance(company)
    assert (await read(company, "Account", company.account_id("Checking")))["CurrentBalance"] == 140
    # Amy: 120 + 80.40 invoiced − 20 credited − 210.40 paid
    assert (await read(company, "Customer", amy))["Balance"] == -30
    assert (await read(company, "Customer", bob))["Balance"] == 35
    await void_payment(company, p2)
    await delete(company, "Deposit", deposit)
    await delete(company, "Payment", await read(company, "Payment", p3["Id"]))
    await assert_books_balance(company)
    assert (await read(company, "Customer", amy))["Balance"] == money("70.40")
    assert (await read(company, "Customer", bob))["Balance"] == 65


async def test_jobs_roll_up_into_balance_with_jobs(company: Company) -> None:
    parent = await customer(company, "Parent Co")
    job = str(
        (
            await company.create(
                "Customer", {"DisplayName": "Pool Job", "ParentRef": {"value": parent}}
            )
        )["Id"]
    )
    item_id = await service(company)
    await invoice(company, job, item_id, 40)
    await invoice(company, parent, item_id, 10)
    parent_record = await read(company, "Customer", parent)
    assert (parent_record["Balance"], parent_record["BalanceWithJobs"]) == (10, 50)
    job_record = await read(company, "Customer", job)
    assert (job_record["Balance"], job_record["BalanceWithJobs"]) == (40, 40)


async def test_inventory_quantity_follows_invoices(company: Company) -> None:
    customer_id = await customer(company, "Stock Buyer")
    widget = await inventory_item(company, "Widget", 10)

    async def on_hand() -> Decimal:
        return (await read(company, "Item", widget))["QtyOnHand"]  # type: ignore[no-any-return]

    sale = await post_exact(
        company, "Invoice", sales_body(customer_id, sales_line(widget, 30, qty=3, price=10))
    )
    assert await on_hand() == 7
    changed = await post_exact(
        company,
        "Invoice",
        {
            "Id": sale["Id"],
            "SyncToken": sale["SyncToken"],
            "sparse": True,
            "Line": [sales_line(widget, 50, qty=5, price=10)],
        },
    )
    assert await on_hand() == 5
    voided = await void_invoice(company, changed)
    assert voided.status_code == 200
    assert await on_hand() == 10
    assert (await delete(company, "Invoice", voided.json()["Invoice"])).status_code == 200
    assert await on_hand() == 10

    second = await post_exact(
        company, "Invoice", sales_body(customer_id, sales_line(widget, 20, qty=2, price=10))
    )
    assert await on_hand() == 8
    returned = sales_body(customer_id, sales_line(widget, 10, qty=1, price=10))
    await post_exact(company, "CreditMemo", returned)
    assert await on_hand() == 9
    await delete(company, "Invoice", second)
    assert await on_hand() == 11

    # a new count set on the item is the base later sales move from
    item = await read(company, "Item", widget)
    body = {"Id": widget, "SyncToken": item["SyncToken"], "sparse": True, "QtyOnHand": 100}
    await company.update("Item", body)
    await post_exact(
        company, "Invoice", sales_body(customer_id, sales_line(widget, 10, qty=1, price=10))
    )
    assert await on_hand() == 99
    # a service item has no stock to move
    assert "QtyOnHand" not in await read(company, "Item", await service(company))


async def test_company_info_reads_by_realm_id_and_by_query(company: Company) -> None:
    response = await company.get("CompanyInfo", company.realm_id)
    assert response.status_code == 200, response.text
    body = response.json()
    assert set(body) == {"CompanyInfo", "time"}
    info = body["CompanyInfo"]
    assert info["CompanyName"] == "Sandbox Company"
    assert info["Id"] == "1" and info["SyncToken"] == "0" and info["domain"] == "QBO"
    assert info["Country"] == "US" and "Active" not in info
    assert (await company.rows("select * from CompanyInfo")) == [info]
    renamed = await company.update(
        "CompanyInfo", {"Id": "1", "SyncToken": "0", "sparse": True, "CompanyName": "Blue Pools"}
    )
    assert renamed["CompanyName"] == "Blue Pools" and renamed["SyncToken"] == "1"
    assert (
        fault(await company.post("CompanyInfo", {"Id": "1", "SyncToken": "1"}, operation="delete"))[
            "code"
        ]
        == "500"
    )


async def test_queries_over_transactions(company: Company) -> None:
    amy, bob = await customer(company, "Amy Q"), await customer(company, "Bob Q")
    item_id = await service(company)
    old = await invoice(company, amy, item_id, 10, TxnDate="2025-12-20")
    new = await invoice(company, amy, item_id, 20, TxnDate="2026-02-01")
    bobs = await invoice(company, bob, item_id, 30, TxnDate="2026-03-01")
    await post_exact(
        company,
        "Payment",
        {
            "CustomerRef": {"value": amy},
            "TotalAmt": 10,
            "TxnDate": "2025-12-21",
            "Line": [link(old["Id"], 10)],
        },
    )
    late = await post_exact(
        company,
        "Payment",
        {"CustomerRef": {"value": bob}, "TotalAmt": 5, "TxnDate": "2026-03-05"},
    )

    rows = await company.rows(f"select * from Invoice where CustomerRef = '{amy}'")
    assert [row["Id"] for row in rows] == [old["Id"], new["Id"]]
    rows = await company.rows("select * from Payment where TxnDate > '2026-01-01'")
    assert [row["Id"] for row in rows] == [late["Id"]]
    count = await company.query("select count(*) from Invoice")
    assert count.json()["QueryResponse"] == {"totalCount": 3}
    rows = await company.rows("select * from Invoice where Balance > '0' orderby TotalAmt desc")
    assert [row["Id"] for row in rows] == [bobs["Id"], new["Id"]]
    rows = await company.rows("select * from Invoice where DocNumber in ('1001', '1003')")
    assert [row["DocNumber"] for row in rows] == ["1001", "1003"]
    page = await company.query("select * from Invoice startposition 2 maxresults 1")
    assert page.json()["QueryResponse"]["Invoice"][0]["Id"] == new["Id"]
    empty = await company.query("select * from Deposit")
    assert empty.json()["QueryResponse"] == {}
    # transactions have no Active flag to filter on
    error = fault(await company.query("select * from Invoice where Active = true"))
    assert error["code"] == "4001"


async def test_control_api_lists_transactions(company: Company) -> None:
    customer_id, item_id = await customer(company, "Listed"), await service(company)
    created = await invoice(company, customer_id, item_id, 10)
    paid = await payment(company, customer_id, 10, link(created["Id"], 10))
    entities = await company.state()
    assert [row["Id"] for row in entities["Invoice"]] == [created["Id"]]
    assert [row["Id"] for row in entities["Payment"]] == [paid["Id"]]
    assert entities["CompanyInfo"][0]["CompanyName"] == "Sandbox Company"
    assert entities["Preferences"][0]["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    for name in ("RefundReceipt", "JournalEntry", "CreditMemo", "Deposit"):
        assert entities[name] == []
