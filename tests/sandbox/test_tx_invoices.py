"""Invoices: totals and server-filled fields, the 6070/6140 rules, updates, delete and void."""

from __future__ import annotations

from datetime import date, timedelta

from tests.sandbox.helpers import Company, exact_json, fault
from tests.sandbox.tx_support import (
    balance,
    customer,
    delete,
    invoice,
    link,
    money,
    open_balance,
    payment,
    post_exact,
    read,
    refused,
    sales_body,
    sales_line,
    service,
    void_invoice,
)

# Server-filled fields of the recorded create (create/invoice.yml) that this sandbox fills too;
# CustomField is the demo company's own custom field definition, so it is not emulated.
RECORDED_INVOICE_FIELDS = {
    "AllowIPNPayment",
    "AllowOnlinePayment",
    "AllowOnlineCreditCardPayment",
    "AllowOnlineACHPayment",
    "domain",
    "sparse",
    "Id",
    "SyncToken",
    "MetaData",
    "DocNumber",
    "TxnDate",
    "CurrencyRef",
    "LinkedTxn",
    "Line",
    "TxnTaxDetail",
    "CustomerRef",
    "BillAddr",
    "ShipAddr",
    "DueDate",
    "TotalAmt",
    "ApplyTaxAfterDiscount",
    "PrintStatus",
    "EmailStatus",
    "Balance",
}


async def test_invoice_gets_subtotal_totals_balance_and_recorded_fields(company: Company) -> None:
    address = {"Line1": "4581 Finch St.", "City": "Bayshore"}
    customer_id = await customer(
        company, "Amy's Bird Sanctuary", BillAddr=address, ShipAddr=address
    )
    item_id = await service(company)
    response = await company.post(
        "Invoice",
        sales_body(
            customer_id,
            sales_line(item_id, "100.0"),
            sales_line(item_id, "37.50", qty="2.5", price=15),
        ),
    )
    assert response.status_code == 200, response.text
    body = exact_json(response)
    assert set(body) == {"Invoice", "time"}
    created = body["Invoice"]
    assert set(created) >= RECORDED_INVOICE_FIELDS
    assert created["Id"] == "1" and created["SyncToken"] == "0"
    assert created["TotalAmt"] == created["Balance"] == money("137.50")
    assert created["CustomerRef"] == {"value": customer_id, "name": "Amy's Bird Sanctuary"}
    assert created["BillAddr"] == created["ShipAddr"] == address
    assert created["LinkedTxn"] == []
    assert created["TxnTaxDetail"] == {"TotalTax": 0}
    assert created["DocNumber"] == "1001"
    first, second, subtotal = created["Line"]
    assert (first["Id"], first["LineNum"], second["Id"], second["LineNum"]) == ("1", 1, "2", 2)
    assert first["SalesItemLineDetail"]["ItemRef"] == {"value": item_id, "name": "Pool cleaning"}
    assert first["SalesItemLineDetail"]["TaxCodeRef"] == {"value": "NON"}
    assert subtotal == {
        "Amount": money("137.50"),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    today = body["time"][:10]  # company time, as the envelope's time
    assert created["TxnDate"] == today
    due = date.fromisoformat(today) + timedelta(days=30)
    assert created["DueDate"] == due.isoformat()
    assert await balance(company, customer_id) == money("137.50")

    again = await invoice(company, customer_id, item_id, 10)
    assert again["DocNumber"] == "1002" and again["Id"] == "2"
    assert await read(company, "Invoice", "1") == created


async def test_given_dates_and_doc_number_are_kept(company: Company) -> None:
    customer_id, item_id = await customer(company, "Dated"), await service(company)
    created = await invoice(
        company,
        customer_id,
        item_id,
        5,
        TxnDate="2026-01-15",
        DueDate="2026-02-01",
        DocNumber="A-7",
    )
    assert (created["TxnDate"], created["DueDate"], created["DocNumber"]) == (
        "2026-01-15",
        "2026-02-01",
        "A-7",
    )
    no_due = await invoice(company, customer_id, item_id, 5, TxnDate="2026-01-15")
    assert no_due["DueDate"] == "2026-02-14"


async def test_amount_must_equal_qty_times_unit_price_6070(company: Company) -> None:
    customer_id, item_id = await customer(company, "Exact"), await service(company)
    error = await refused(
        company, "Invoice", sales_body(customer_id, sales_line(item_id, 100, qty=3, price=30))
    )
    assert error["code"] == "6070"
    assert "Amount is not equal to UnitPrice * Qty" in error["Detail"]
    # 3 × 3.333 = 9.999, rounded to the cent: 10.00
    ok = sales_body(customer_id, sales_line(item_id, "10.00", qty=3, price="3.333"))
    assert (await post_exact(company, "Invoice", ok))["TotalAmt"] == money("10.00")
    assert await balance(company, customer_id) == money("10.00")


async def test_invoice_references_are_checked(company: Company) -> None:
    customer_id, item_id = await customer(company, "Ref Check"), await service(company)
    line = sales_line(item_id, 10)

    error = await refused(company, "Invoice", {"Line": [line]})
    assert (error["code"], error["element"]) == ("2020", "CustomerRef")
    error = await refused(company, "Invoice", sales_body("999", line))
    assert (error["code"], error["element"]) == ("2500", "CustomerRef")
    error = await refused(company, "Invoice", {"CustomerRef": {"value": customer_id}})
    assert (error["code"], error["element"]) == ("2020", "Line")
    error = await refused(company, "Invoice", sales_body(customer_id, sales_line("999", 10)))
    assert (error["code"], error["element"]) == ("2500", "ItemRef")

    item = await read(company, "Item", item_id)
    await company.update(
        "Item", {"Id": item_id, "SyncToken": item["SyncToken"], "sparse": True, "Active": False}
    )
    error = await refused(company, "Invoice", sales_body(customer_id, line))
    assert error["code"] == "2500" and "inactive" in error["Detail"]

    other_item = await service(company, "Other service")
    gone = await customer(company, "Gone Customer")
    await company.update(
        "Customer", {"Id": gone, "SyncToken": "0", "sparse": True, "Active": False}
    )
    error = await refused(company, "Invoice", sales_body(gone, sales_line(other_item, 10)))
    assert error["code"] == "610"


async def test_unknown_line_detail_and_fields_are_2010(company: Company) -> None:
    customer_id, item_id = await customer(company, "Strict"), await service(company)
    odd = {"DetailType": "GroupLineDetail", "Amount": 1, "GroupLineDetail": {}}
    assert (await refused(company, "Invoice", sales_body(customer_id, odd)))["code"] == "2010"
    extra = sales_line(item_id, 1) | {"Colour": "red"}
    error = await refused(company, "Invoice", sales_body(customer_id, extra))
    assert (error["code"], error["element"]) == ("2010", "Colour")
    error = await refused(
        company, "Invoice", sales_body(customer_id, sales_line(item_id, 1), Colour="red")
    )
    assert (error["code"], error["element"]) == ("2010", "Colour")


async def test_full_update_replaces_lines_and_clears_omitted_fields(company: Company) -> None:
    customer_id, item_id = await customer(company, "Updater"), await service(company)
    created = await invoice(company, customer_id, item_id, 100, PrivateNote="first draft")
    body = sales_body(
        customer_id,
        sales_line(item_id, 40, qty=2, price=20),
        sales_line(item_id, 5),
        Id=created["Id"],
        SyncToken=created["SyncToken"],
    )
    updated = await post_exact(company, "Invoice", body)
    assert updated["SyncToken"] == "1"
    assert "PrivateNote" not in updated
    assert updated["DocNumber"] == created["DocNumber"]  # the number it was given stays
    assert [line["Amount"] for line in updated["Line"]] == [40, 5, 45]
    assert updated["TotalAmt"] == updated["Balance"] == 45
    assert await balance(company, customer_id) == 45

    # sending back what was read changes nothing: same SyncToken
    as_read = (await company.get("Invoice", created["Id"])).json()["Invoice"]
    same = await post_exact(company, "Invoice", as_read)
    assert same["SyncToken"] == "1" and same["MetaData"] == updated["MetaData"]


async def test_sparse_update_replaces_the_line_array_whole(company: Company) -> None:
    customer_id, item_id = await customer(company, "Sparse"), await service(company)
    created = await invoice(company, customer_id, item_id, 100, PrivateNote="keep me")
    body = {
        "Id": created["Id"],
        "SyncToken": "0",
        "sparse": True,
        "Line": [sales_line(item_id, 30)],
    }
    updated = await post_exact(company, "Invoice", body)
    assert updated["PrivateNote"] == "keep me"
    assert len(updated["Line"]) == 2 and updated["TotalAmt"] == 30
    assert await balance(company, customer_id) == 30
    stale = await company.post("Invoice", body | {"Line": [sales_line(item_id, 20)]})
    assert fault(stale)["code"] == "5010"


async def test_duplicate_doc_number_is_6140_only_with_custom_txn_numbers(company: Company) -> None:
    customer_id, item_id = await customer(company, "Numbers"), await service(company)
    await invoice(company, customer_id, item_id, 1, DocNumber="INV-1")
    await invoice(company, customer_id, item_id, 1, DocNumber="INV-1")  # check off: accepted

    [preferences] = await company.rows("select * from Preferences")
    assert preferences["SalesFormsPrefs"]["CustomTxnNumbers"] is False
    switched = await company.update(
        "Preferences",
        {
            "Id": preferences["Id"],
            "SyncToken": preferences["SyncToken"],
            "sparse": True,
            "SalesFormsPrefs": {"CustomTxnNumbers": True},
        },
    )
    assert switched["SalesFormsPrefs"]["CustomTxnNumbers"] is True

    body = sales_body(customer_id, sales_line(item_id, 1), DocNumber="inv-1")
    error = await refused(company, "Invoice", body)
    assert error["code"] == "6140"
    assert error["Message"] == "Duplicate Document Number Error"
    fresh = await invoice(company, customer_id, item_id, 1, DocNumber="INV-2")
    # an invoice keeps its own number on update; a credit memo may reuse an invoice's number
    same_number = sales_body(
        customer_id, sales_line(item_id, 2), DocNumber="INV-2", Id=fresh["Id"], SyncToken="0"
    )
    assert (await post_exact(company, "Invoice", same_number))["TotalAmt"] == 2
    memo = sales_body(customer_id, sales_line(item_id, 1), DocNumber="INV-2")
    assert (await post_exact(company, "CreditMemo", memo))["DocNumber"] == "INV-2"


async def test_preferences_and_company_info_cannot_be_created(company: Company) -> None:
    assert (await refused(company, "Preferences", {"SalesFormsPrefs": {}}))["code"] == "500"
    assert (await refused(company, "CompanyInfo", {"CompanyName": "Second"}))["code"] == "500"


async def test_delete_answers_the_recorded_stub_and_later_reads_are_610(company: Company) -> None:
    customer_id, item_id = await customer(company, "Deleter"), await service(company)
    created = await invoice(company, customer_id, item_id, 80)

    stale = await company.post(
        "Invoice", {"Id": created["Id"], "SyncToken": "7"}, operation="delete"
    )
    assert fault(stale)["code"] == "5010"
    no_token = await company.post("Invoice", {"Id": created["Id"]}, operation="delete")
    assert fault(no_token)["code"] == "2020"

    response = await delete(company, "Invoice", created)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"Invoice", "time"}
    assert body["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": created["Id"]}

    assert fault(await company.get("Invoice", created["Id"]))["code"] == "610"
    assert fault(await delete(company, "Invoice", created))["code"] == "610"
    update = sales_body(customer_id, sales_line(item_id, 1), Id=created["Id"], SyncToken="0")
    assert (await refused(company, "Invoice", update))["code"] == "610"
    assert await balance(company, customer_id) == 0
    assert await company.rows("select * from Invoice") == []
    # Ids are not reused
    assert (await invoice(company, customer_id, item_id, 1))["Id"] == "2"


async def test_repeated_delete_with_the_same_requestid_replays_the_stub(company: Company) -> None:
    customer_id, item_id = await customer(company, "Replayer"), await service(company)
    created = await invoice(company, customer_id, item_id, 80)
    body = {"Id": created["Id"], "SyncToken": "0"}
    first = await company.post("Invoice", body, operation="delete", requestid="del-1")
    second = await company.post("Invoice", body, operation="delete", requestid="del-1")
    assert first.status_code == second.status_code == 200
    assert first.content == second.content


async def test_void_zeroes_amounts_and_keeps_the_record(company: Company) -> None:
    customer_id, item_id = await customer(company, "Voider"), await service(company)
    created = await invoice(company, customer_id, item_id, 100, PrivateNote="oops")
    response = await void_invoice(company, created)
    assert response.status_code == 200, response.text
    voided = exact_json(response)["Invoice"]
    assert voided["SyncToken"] == "1"
    assert voided["PrivateNote"].startswith("Voided")
    assert voided["TotalAmt"] == voided["Balance"] == 0
    assert [line["Amount"] for line in voided["Line"]] == [0, 0]
    assert voided["DocNumber"] == created["DocNumber"]
    assert voided["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]
    assert await read(company, "Invoice", created["Id"]) == voided
    assert await balance(company, customer_id) == 0

    # a voided invoice can't change; voiding it again changes nothing; it can be deleted
    change = {"Id": created["Id"], "SyncToken": "1", "sparse": True, "PrivateNote": "x"}
    assert (await refused(company, "Invoice", change))["code"] == "6000"
    again = exact_json(await void_invoice(company, voided))["Invoice"]
    assert again == voided
    assert (await delete(company, "Invoice", voided)).status_code == 200


async def test_void_and_delete_are_refused_while_payments_apply(company: Company) -> None:
    customer_id, item_id = await customer(company, "Paid Up"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    paid = await payment(company, customer_id, 40, link(created["Id"], 40))
    current = await read(company, "Invoice", created["Id"])
    for response in (
        await void_invoice(company, current),
        await delete(company, "Invoice", current),
    ):
        error = fault(response)
        assert error["code"] == "6000"
        assert f"Payment {paid['Id']}" in error["Detail"]
    assert await open_balance(company, "Invoice", created["Id"]) == 60


async def test_lines_cannot_go_below_what_was_paid(company: Company) -> None:
    customer_id, item_id = await customer(company, "Shrinker"), await service(company)
    other = await customer(company, "Someone Else")
    created = await invoice(company, customer_id, item_id, 100)
    await payment(company, customer_id, 60, link(created["Id"], 60))
    current = await read(company, "Invoice", created["Id"])
    assert current["SyncToken"] == "1"  # the payment changed Balance and LinkedTxn

    too_small = sales_body(
        customer_id, sales_line(item_id, 50), Id=created["Id"], SyncToken=current["SyncToken"]
    )
    error = await refused(company, "Invoice", too_small)
    assert error["code"] == "6000" and "60" in error["Detail"]
    moved = sales_body(other, sales_line(item_id, 100), Id=created["Id"], SyncToken="1")
    assert (await refused(company, "Invoice", moved))["code"] == "6000"

    enough = sales_body(customer_id, sales_line(item_id, 60), Id=created["Id"], SyncToken="1")
    updated = await post_exact(company, "Invoice", enough)
    assert updated["Balance"] == 0 and updated["TotalAmt"] == 60
    assert await balance(company, customer_id) == 0


async def test_unsupported_operations_are_500(company: Company) -> None:
    customer_id, item_id = await customer(company, "Ops"), await service(company)
    created = await invoice(company, customer_id, item_id, 10)
    paid = await payment(company, customer_id, 10, link(created["Id"], 10))
    body = {"Id": paid["Id"], "SyncToken": paid["SyncToken"]}
    assert fault(await company.post("Payment", body, operation="void"))["code"] == "500"
    body = {"Id": created["Id"], "SyncToken": "1", "sparse": True}
    response = await company.post("Invoice", body, operation="update", include="void")
    assert fault(response)["code"] == "500"
    assert fault(await company.post("Invoice", body, operation="archive"))["code"] == "500"
