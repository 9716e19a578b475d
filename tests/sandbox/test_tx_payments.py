"""Payments: applying to invoices, unapplied credit, the 6000 refusals, delete/void restoring
balances, and updates that re-apply all or nothing; the customer's Balance after each step."""

from __future__ import annotations

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
    payment_body,
    post_exact,
    read,
    refused,
    service,
    void_payment,
)


async def test_full_payment_closes_the_invoice(company: Company) -> None:
    customer_id, item_id = await customer(company, "Full Payer"), await service(company)
    created = await invoice(company, customer_id, item_id, "125.50")
    paid = await payment(company, customer_id, "125.50", link(created["Id"], "125.50"))
    assert paid["Id"] == "1" and paid["SyncToken"] == "0"
    assert paid["UnappliedAmt"] == 0 and paid["TotalAmt"] == money("125.50")
    assert paid["DepositToAccountRef"] == {
        "value": company.account_id("Undeposited Funds"),
        "name": "Undeposited Funds",
    }
    assert paid["Line"] == [
        {"Amount": money("125.50"), "LinkedTxn": [{"TxnId": created["Id"], "TxnType": "Invoice"}]}
    ]
    paid_invoice = await read(company, "Invoice", created["Id"])
    assert paid_invoice["Balance"] == 0 and paid_invoice["TotalAmt"] == money("125.50")
    assert paid_invoice["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    assert paid_invoice["SyncToken"] == "1"
    assert await balance(company, customer_id) == 0


async def test_partial_and_several_payments_on_one_invoice(company: Company) -> None:
    customer_id, item_id = await customer(company, "Instalments"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    first = await payment(company, customer_id, 30, link(created["Id"], 30))
    assert await open_balance(company, "Invoice", created["Id"]) == 70
    assert await balance(company, customer_id) == 70
    second = await payment(company, customer_id, "45.25", link(created["Id"], "45.25"))
    assert await open_balance(company, "Invoice", created["Id"]) == money("24.75")
    assert await balance(company, customer_id) == money("24.75")
    linked = (await read(company, "Invoice", created["Id"]))["LinkedTxn"]
    assert linked == [
        {"TxnId": first["Id"], "TxnType": "Payment"},
        {"TxnId": second["Id"], "TxnType": "Payment"},
    ]
    # the rest pays exactly what is open, no more
    over = payment_body(customer_id, 25, link(created["Id"], 25))
    error = await refused(company, "Payment", over)
    assert error["code"] == "6000"
    assert "24.75" in error["Detail"] and f"Invoice {created['Id']}" in error["Detail"]
    await payment(company, customer_id, "24.75", link(created["Id"], "24.75"))
    assert await open_balance(company, "Invoice", created["Id"]) == 0
    assert await balance(company, customer_id) == 0


async def test_one_payment_across_two_invoices_with_the_rest_unapplied(company: Company) -> None:
    customer_id, item_id = await customer(company, "Spreader"), await service(company)
    first = await invoice(company, customer_id, item_id, 40)
    second = await invoice(company, customer_id, item_id, 60)
    paid = await payment(company, customer_id, 120, link(first["Id"], 40), link(second["Id"], 50))
    assert paid["UnappliedAmt"] == 30
    assert await open_balance(company, "Invoice", first["Id"]) == 0
    assert await open_balance(company, "Invoice", second["Id"]) == 10
    assert await balance(company, customer_id) == -20  # 10 open − 30 unapplied credit


async def test_payment_without_lines_is_an_unapplied_credit(company: Company) -> None:
    customer_id, item_id = await customer(company, "Prepayer"), await service(company)
    paid = await payment(company, customer_id, 75)
    assert paid["UnappliedAmt"] == 75 and "Line" not in paid
    assert await balance(company, customer_id) == -75
    created = await invoice(company, customer_id, item_id, 100)
    assert await balance(company, customer_id) == 25
    assert await open_balance(company, "Invoice", created["Id"]) == 100
    # applying the credit later: update the payment's lines
    applied = await post_exact(
        company,
        "Payment",
        {"Id": paid["Id"], "SyncToken": "0", "sparse": True, "Line": [link(created["Id"], 75)]},
    )
    assert applied["UnappliedAmt"] == 0 and applied["SyncToken"] == "1"
    assert await open_balance(company, "Invoice", created["Id"]) == 25
    assert await balance(company, customer_id) == 25


async def test_lines_beyond_the_payment_total_are_6000(company: Company) -> None:
    customer_id, item_id = await customer(company, "Short"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    error = await refused(
        company, "Payment", payment_body(customer_id, 50, link(created["Id"], 60))
    )
    assert error["code"] == "6000" and "TotalAmt" in error["Detail"]
    assert (await refused(company, "Payment", payment_body(customer_id, -5)))["code"] == "6000"
    no_total = {"CustomerRef": {"value": customer_id}}
    error = await refused(company, "Payment", no_total)
    assert (error["code"], error["element"]) == ("2020", "TotalAmt")
    error = await refused(company, "Payment", {"TotalAmt": 5})
    assert (error["code"], error["element"]) == ("2020", "CustomerRef")
    assert await balance(company, customer_id) == 100


async def test_another_customers_invoice_is_6000(company: Company) -> None:
    owner, payer = await customer(company, "Owner"), await customer(company, "Payer")
    item_id = await service(company)
    created = await invoice(company, owner, item_id, 100)
    error = await refused(company, "Payment", payment_body(payer, 10, link(created["Id"], 10)))
    assert error["code"] == "6000"
    assert "customer" in error["Detail"] and created["Id"] in error["Detail"]
    assert await balance(company, owner) == 100 and await balance(company, payer) == 0


async def test_missing_or_deleted_invoice_is_2500(company: Company) -> None:
    customer_id, item_id = await customer(company, "Linker"), await service(company)
    error = await refused(company, "Payment", payment_body(customer_id, 10, link("404", 10)))
    assert (error["code"], error["element"]) == ("2500", "LinkedTxn")
    created = await invoice(company, customer_id, item_id, 10)
    assert (await delete(company, "Invoice", created)).status_code == 200
    error = await refused(
        company, "Payment", payment_body(customer_id, 10, link(created["Id"], 10))
    )
    assert error["code"] == "2500"
    bad_type = payment_body(customer_id, 10, link(created["Id"], 10, txn_type="Deposit"))
    assert (await refused(company, "Payment", bad_type))["code"] == "6000"


async def test_deleting_a_payment_restores_the_invoice_balance(company: Company) -> None:
    customer_id, item_id = await customer(company, "Undo Delete"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    paid = await payment(company, customer_id, 100, link(created["Id"], 100))
    assert await balance(company, customer_id) == 0
    response = await delete(company, "Payment", paid)
    assert response.json()["Payment"] == {"domain": "QBO", "status": "Deleted", "Id": paid["Id"]}
    restored = await read(company, "Invoice", created["Id"])
    assert restored["Balance"] == 100 and restored["LinkedTxn"] == []
    assert restored["SyncToken"] == "2"
    assert await balance(company, customer_id) == 100
    assert fault(await company.get("Payment", paid["Id"]))["code"] == "610"


async def test_voiding_a_payment_zeroes_it_and_restores_the_invoice(company: Company) -> None:
    customer_id, item_id = await customer(company, "Undo Void"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    paid = await payment(company, customer_id, 150, link(created["Id"], 100))
    assert await balance(company, customer_id) == -50
    response = await void_payment(company, paid)
    assert response.status_code == 200, response.text
    voided = exact_json(response)["Payment"]
    assert voided["SyncToken"] == "1"
    assert voided["TotalAmt"] == voided["UnappliedAmt"] == 0
    assert [line["Amount"] for line in voided["Line"]] == [0]
    assert voided["PrivateNote"].startswith("Voided")
    assert await read(company, "Payment", paid["Id"]) == voided
    assert await open_balance(company, "Invoice", created["Id"]) == 100
    assert await balance(company, customer_id) == 100
    change = {"Id": paid["Id"], "SyncToken": "1", "sparse": True, "TotalAmt": 5}
    assert (await refused(company, "Payment", change))["code"] == "6000"


async def test_updating_lines_reapplies_all_or_nothing(company: Company) -> None:
    customer_id, item_id = await customer(company, "Reapplier"), await service(company)
    first = await invoice(company, customer_id, item_id, 100)
    second = await invoice(company, customer_id, item_id, 50)
    paid = await payment(company, customer_id, 100, link(first["Id"], 100))

    moved = await post_exact(
        company,
        "Payment",
        {
            "Id": paid["Id"],
            "SyncToken": "0",
            "sparse": True,
            "Line": [link(first["Id"], 60), link(second["Id"], 40)],
        },
    )
    assert moved["SyncToken"] == "1" and moved["UnappliedAmt"] == 0
    assert await open_balance(company, "Invoice", first["Id"]) == 40
    assert await open_balance(company, "Invoice", second["Id"]) == 10
    assert await balance(company, customer_id) == 50

    # one good line and one over-applied line: refused, and nothing moved
    before = await company.state()
    bad = {
        "Id": paid["Id"],
        "SyncToken": "1",
        "sparse": True,
        "Line": [link(first["Id"], 40), link(second["Id"], 60)],
    }
    error = await refused(company, "Payment", bad)
    assert error["code"] == "6000" and f"Invoice {second['Id']}" in error["Detail"]
    assert await company.state() == before

    # a full update without lines unapplies everything: the money becomes a credit
    full = await post_exact(
        company, "Payment", payment_body(customer_id, 100) | {"Id": paid["Id"], "SyncToken": "1"}
    )
    assert full["UnappliedAmt"] == 100 and "Line" not in full
    assert await open_balance(company, "Invoice", first["Id"]) == 100
    assert await open_balance(company, "Invoice", second["Id"]) == 50
    assert await balance(company, customer_id) == 50


async def test_a_payment_may_reapply_what_it_already_applied(company: Company) -> None:
    customer_id, item_id = await customer(company, "Same Again"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    paid = await payment(company, customer_id, 100, link(created["Id"], 100))
    # its own application does not count against the open balance it is checked against
    body = {"Id": paid["Id"], "SyncToken": "0", "sparse": True, "PaymentRefNum": "CHK-1"}
    updated = await post_exact(company, "Payment", body)
    assert updated["SyncToken"] == "1" and updated["PaymentRefNum"] == "CHK-1"
    assert await open_balance(company, "Invoice", created["Id"]) == 0


async def test_customer_with_a_balance_cannot_be_made_inactive(company: Company) -> None:
    customer_id, item_id = await customer(company, "Debtor"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    inactivate = {"Id": customer_id, "SyncToken": "0", "sparse": True, "Active": False}
    error = await refused(company, "Customer", inactivate)
    assert error["code"] == "6000" and "balance" in error["Detail"]
    await payment(company, customer_id, 100, link(created["Id"], 100))
    gone = await company.update("Customer", inactivate)
    assert gone["Active"] is False and gone["Balance"] == 0

    creditor = await customer(company, "Creditor")
    await payment(company, creditor, 10)
    error = await refused(
        company, "Customer", {"Id": creditor, "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert error["code"] == "6000"


async def test_deposit_to_account_must_be_an_asset_account(company: Company) -> None:
    customer_id = await customer(company, "Direct")
    checking = company.account_id("Checking")
    direct = await post_exact(
        company,
        "Payment",
        payment_body(customer_id, 10) | {"DepositToAccountRef": {"value": checking}},
    )
    assert direct["DepositToAccountRef"] == {"value": checking, "name": "Checking"}
    income = {"DepositToAccountRef": {"value": company.account_id("Services")}}
    error = await refused(company, "Payment", payment_body(customer_id, 10) | income)
    assert error["code"] == "6000"
    missing = {"DepositToAccountRef": {"value": "999"}}
    assert (await refused(company, "Payment", payment_body(customer_id, 10) | missing))["code"] == (
        "2500"
    )


async def test_requestid_repeat_does_not_apply_twice(company: Company) -> None:
    customer_id, item_id = await customer(company, "Retrier"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    body = payment_body(customer_id, 40, link(created["Id"], 40))
    first = await company.post("Payment", body, requestid="pay-once")
    second = await company.post("Payment", body, requestid="pay-once")
    assert first.content == second.content
    assert await open_balance(company, "Invoice", created["Id"]) == 60
    assert len(await company.rows("select * from Payment")) == 1
