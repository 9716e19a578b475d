"""Refund receipts, credit memos, journal entries and deposits, and how payments use them."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from tests.sandbox.helpers import Company, fault
from tests.sandbox.tx_support import (
    balance,
    customer,
    delete,
    invoice,
    journal_line,
    link,
    money,
    number,
    open_balance,
    payment,
    payment_body,
    post_exact,
    read,
    refused,
    sales_body,
    sales_line,
    service,
    void_payment,
)


async def current_balance(company: Company, account_name: str) -> Decimal:
    account = await read(company, "Account", company.account_id(account_name))
    return account["CurrentBalance"]  # type: ignore[no-any-return]


# --- refund receipts --------------------------------------------------------------------------


async def test_refund_receipt_from_a_bank_account_leaves_ar_alone(company: Company) -> None:
    customer_id, item_id = await customer(company, "Refunded"), await service(company)
    await invoice(company, customer_id, item_id, 100)
    body = sales_body(
        customer_id,
        sales_line(item_id, 30, qty=2, price=15),
        DepositToAccountRef={"value": company.account_id("Checking")},
    )
    refund = await post_exact(company, "RefundReceipt", body)
    assert refund["TotalAmt"] == 30 and refund["Balance"] == 0
    assert refund["DepositToAccountRef"]["name"] == "Checking"
    assert refund["Line"][-1]["DetailType"] == "SubTotalLineDetail"
    assert refund["DocNumber"] == "1002"  # sales forms share one number sequence
    assert await balance(company, customer_id) == 100
    assert await current_balance(company, "Checking") == -30

    from_funds = body | {"DepositToAccountRef": {"value": company.account_id("Undeposited Funds")}}
    assert (await post_exact(company, "RefundReceipt", from_funds))["TotalAmt"] == 30


async def test_refund_receipt_is_refused_from_an_income_account(company: Company) -> None:
    customer_id, item_id = await customer(company, "Not From Income"), await service(company)
    body = sales_body(
        customer_id,
        sales_line(item_id, 30),
        DepositToAccountRef={"value": company.account_id("Services")},
    )
    error = await refused(company, "RefundReceipt", body)
    assert error["code"] == "6000" and "Income" in error["Detail"]
    body.pop("DepositToAccountRef")
    error = await refused(company, "RefundReceipt", body)
    assert (error["code"], error["element"]) == ("2020", "DepositToAccountRef")
    mismatch = sales_body(
        customer_id,
        sales_line(item_id, 31, qty=2, price=15),
        DepositToAccountRef={"value": company.account_id("Checking")},
    )
    assert (await refused(company, "RefundReceipt", mismatch))["code"] == "6070"


# --- credit memos -----------------------------------------------------------------------------


async def test_credit_memo_lowers_ar_and_a_payment_consumes_it(company: Company) -> None:
    customer_id, item_id = await customer(company, "Credited"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    memo = await post_exact(company, "CreditMemo", sales_body(customer_id, sales_line(item_id, 30)))
    assert memo["TotalAmt"] == memo["Balance"] == memo["RemainingCredit"] == 30
    assert await balance(company, customer_id) == 70

    # QBO's shape: the payment pays the invoice whole and uses the credit; TotalAmt = 100 − 30
    paid = await payment(
        company,
        customer_id,
        70,
        link(created["Id"], 100),
        link(memo["Id"], 30, txn_type="CreditMemo"),
    )
    assert paid["UnappliedAmt"] == 0
    used = await read(company, "CreditMemo", memo["Id"])
    assert used["Balance"] == used["RemainingCredit"] == 0
    assert used["LinkedTxn"] == [{"TxnId": paid["Id"], "TxnType": "Payment"}]
    assert await open_balance(company, "Invoice", created["Id"]) == 0
    assert await balance(company, customer_id) == 0

    # the used credit memo can't go, nor shrink below what is used
    assert fault(await delete(company, "CreditMemo", used))["code"] == "6000"
    smaller = sales_body(
        customer_id, sales_line(item_id, 20), Id=memo["Id"], SyncToken=used["SyncToken"]
    )
    assert (await refused(company, "CreditMemo", smaller))["code"] == "6000"

    # deleting the payment gives the credit back
    await delete(company, "Payment", paid)
    assert await open_balance(company, "CreditMemo", memo["Id"]) == 30
    assert await balance(company, customer_id) == 70


async def test_credits_cannot_be_overused_or_exceed_charges(company: Company) -> None:
    customer_id, item_id = await customer(company, "Overcredited"), await service(company)
    other = await customer(company, "Other Credit")
    created = await invoice(company, customer_id, item_id, 100)
    memo = await post_exact(company, "CreditMemo", sales_body(customer_id, sales_line(item_id, 30)))
    too_much = payment_body(
        customer_id, 60, link(created["Id"], 100), link(memo["Id"], 40, txn_type="CreditMemo")
    )
    assert (await refused(company, "Payment", too_much))["code"] == "6000"
    credit_only = payment_body(customer_id, 0, link(memo["Id"], 30, txn_type="CreditMemo"))
    assert (await refused(company, "Payment", credit_only))["code"] == "6000"
    foreign = payment_body(other, 0, link(memo["Id"], 0, txn_type="CreditMemo"))
    assert (await refused(company, "Payment", foreign))["code"] == "6000"


# --- journal entries --------------------------------------------------------------------------


async def test_journal_entry_debits_must_equal_credits(company: Company) -> None:
    checking, services = company.account_id("Checking"), company.account_id("Services")
    body = {"Line": [journal_line("Debit", checking, 100), journal_line("Credit", services, 90)]}
    error = await refused(company, "JournalEntry", body)
    assert error["code"] == "6000"
    assert "debits" in error["Detail"] and "100" in error["Detail"] and "90" in error["Detail"]

    balanced = {
        "Line": [
            journal_line("Debit", checking, "100.10"),
            journal_line("Credit", services, "100.1"),
        ]
    }
    entry = await post_exact(company, "JournalEntry", balanced | {"DocNumber": "JE-1"})
    assert entry["TotalAmt"] == money("100.10")
    assert [line["Id"] for line in entry["Line"]] == ["0", "1"]
    assert entry["Adjustment"] is False and entry["DocNumber"] == "JE-1"
    assert await current_balance(company, "Checking") == money("100.10")
    bad_posting = {"Line": [journal_line("Sideways", checking, 1)]}
    error = await refused(company, "JournalEntry", bad_posting)
    assert (error["code"], error["element"]) == ("2010", "PostingType")


async def test_an_ar_line_needs_a_customer(company: Company) -> None:
    receivable, services = (
        company.account_id("Accounts Receivable (A/R)"),
        company.account_id("Services"),
    )
    body = {"Line": [journal_line("Debit", receivable, 50), journal_line("Credit", services, 50)]}
    error = await refused(company, "JournalEntry", body)
    assert error["code"] == "6000" and "Accounts Receivable" in error["Detail"]
    assert (await company.state())["JournalEntry"] == []


async def test_ar_debit_raises_the_balance_and_a_payment_can_pay_it(company: Company) -> None:
    customer_id, other = await customer(company, "Journaled"), await customer(company, "Bystander")
    receivable, services = (
        company.account_id("Accounts Receivable (A/R)"),
        company.account_id("Services"),
    )
    entry = await post_exact(
        company,
        "JournalEntry",
        {
            "Line": [
                journal_line("Debit", receivable, 80, customer_id),
                journal_line("Credit", services, 80),
            ]
        },
    )
    assert entry["Line"][0]["JournalEntryLineDetail"]["Entity"]["EntityRef"] == {
        "value": customer_id,
        "name": "Journaled",
    }
    assert await balance(company, customer_id) == 80
    assert await current_balance(company, "Accounts Receivable (A/R)") == 80

    over = payment_body(customer_id, 90, link(entry["Id"], 90, txn_type="JournalEntry"))
    assert (await refused(company, "Payment", over))["code"] == "6000"
    stranger = payment_body(other, 10, link(entry["Id"], 10, txn_type="JournalEntry"))
    error = await refused(company, "Payment", stranger)
    assert error["code"] == "6000" and "Accounts Receivable" in error["Detail"]

    paid = await payment(company, customer_id, 80, link(entry["Id"], 80, txn_type="JournalEntry"))
    assert paid["UnappliedAmt"] == 0
    assert await balance(company, customer_id) == 0
    assert fault(await delete(company, "JournalEntry", entry))["code"] == "6000"
    await void_payment(company, paid)
    assert await balance(company, customer_id) == 80
    assert (await delete(company, "JournalEntry", entry)).status_code == 200
    assert await balance(company, customer_id) == 0


async def test_ar_credit_is_a_credit_a_payment_can_use(company: Company) -> None:
    customer_id, item_id = await customer(company, "Written Down"), await service(company)
    receivable, services = (
        company.account_id("Accounts Receivable (A/R)"),
        company.account_id("Services"),
    )
    created = await invoice(company, customer_id, item_id, 100)
    entry = await post_exact(
        company,
        "JournalEntry",
        {
            "Line": [
                journal_line("Debit", services, 25),
                journal_line("Credit", receivable, 25, customer_id),
            ]
        },
    )
    assert await balance(company, customer_id) == 75
    paid = await payment(
        company,
        customer_id,
        75,
        link(created["Id"], 100),
        link(entry["Id"], 25, txn_type="JournalEntry"),
    )
    assert paid["UnappliedAmt"] == 0
    assert await balance(company, customer_id) == 0


# --- deposits ---------------------------------------------------------------------------------


def deposit_body(company: Company, *lines: dict[str, Any]) -> dict[str, Any]:
    return {"DepositToAccountRef": {"value": company.account_id("Checking")}, "Line": list(lines)}


def deposit_payment(payment_id: str, amount: str | int) -> dict[str, Any]:
    return {
        "Amount": number(amount),
        "LinkedTxn": [{"TxnId": payment_id, "TxnType": "Payment", "TxnLineId": "0"}],
    }


def fee_line(company: Company, amount: str) -> dict[str, Any]:
    return {
        "Amount": number(amount),
        "DetailType": "DepositLineDetail",
        "DepositLineDetail": {"AccountRef": {"value": company.account_id("Services")}},
    }


async def test_deposit_of_payments_with_a_fee_line(company: Company) -> None:
    customer_id, item_id = await customer(company, "Depositor"), await service(company)
    created = await invoice(company, customer_id, item_id, 100)
    first = await payment(company, customer_id, 60, link(created["Id"], 60))
    second = await payment(company, customer_id, 40, link(created["Id"], 40))
    assert await current_balance(company, "Undeposited Funds") == 100

    deposit = await post_exact(
        company,
        "Deposit",
        deposit_body(
            company,
            deposit_payment(first["Id"], 60),
            deposit_payment(second["Id"], 40),
            fee_line(company, "-2.50"),
        ),
    )
    assert deposit["TotalAmt"] == money("97.50")
    assert [line["LineNum"] for line in deposit["Line"]] == [1, 2, 3]
    assert deposit["Line"][0]["LinkedTxn"] == [
        {"TxnId": first["Id"], "TxnType": "Payment", "TxnLineId": "0"}
    ]
    assert deposit["DepositToAccountRef"] == {
        "value": company.account_id("Checking"),
        "name": "Checking",
    }
    assert await current_balance(company, "Undeposited Funds") == 0
    assert await current_balance(company, "Checking") == money("97.50")
    assert await balance(company, customer_id) == 0  # depositing moves no A/R

    # a payment is deposited once; a deposited payment can't be deleted, voided or resized
    again = deposit_body(company, deposit_payment(first["Id"], 60))
    error = await refused(company, "Deposit", again)
    assert error["code"] == "6000" and f"Deposit {deposit['Id']}" in error["Detail"]
    twice = deposit_body(
        company, deposit_payment(first["Id"], 60), deposit_payment(first["Id"], 60)
    )
    assert (await refused(company, "Deposit", twice))["code"] == "6000"
    assert fault(await delete(company, "Payment", first))["code"] == "6000"
    assert fault(await void_payment(company, first))["code"] == "6000"
    resize = {"Id": first["Id"], "SyncToken": "0", "sparse": True, "TotalAmt": 70}
    assert (await refused(company, "Payment", resize))["code"] == "6000"

    # deleting the deposit returns the payments to Undeposited Funds
    assert (await delete(company, "Deposit", deposit)).status_code == 200
    assert await current_balance(company, "Undeposited Funds") == 100
    assert await current_balance(company, "Checking") == 0
    redeposit = await post_exact(company, "Deposit", again)
    assert redeposit["TotalAmt"] == 60 and redeposit["Id"] == "2"


async def test_only_undeposited_payments_into_a_bank_account(company: Company) -> None:
    customer_id = await customer(company, "Straight To Bank")
    direct = await post_exact(
        company,
        "Payment",
        payment_body(customer_id, 20)
        | {"DepositToAccountRef": {"value": company.account_id("Checking")}},
    )
    error = await refused(
        company, "Deposit", deposit_body(company, deposit_payment(direct["Id"], 20))
    )
    assert error["code"] == "6000" and "Undeposited Funds" in error["Detail"]

    waiting = await payment(company, customer_id, 30)
    wrong_amount = deposit_body(company, deposit_payment(waiting["Id"], 25))
    assert (await refused(company, "Deposit", wrong_amount))["code"] == "6000"
    to_funds = deposit_body(company, deposit_payment(waiting["Id"], 30)) | {
        "DepositToAccountRef": {"value": company.account_id("Undeposited Funds")}
    }
    assert (await refused(company, "Deposit", to_funds))["code"] == "6000"
    missing = deposit_body(company, deposit_payment("99", 30))
    assert (await refused(company, "Deposit", missing))["code"] == "2500"
    error = await refused(company, "Deposit", {"Line": [deposit_payment(waiting["Id"], 30)]})
    assert (error["code"], error["element"]) == ("2020", "DepositToAccountRef")
    assert (await company.state())["Deposit"] == []


async def test_refund_paid_from_undeposited_funds_is_deposited_as_a_negative_line(
    company: Company,
) -> None:
    customer_id, item_id = await customer(company, "Refunded"), await service(company)
    received = await payment(company, customer_id, 100)
    refund = await post_exact(
        company,
        "RefundReceipt",
        sales_body(customer_id, sales_line(item_id, 30))
        | {"DepositToAccountRef": {"value": company.account_id("Undeposited Funds")}},
    )
    assert await current_balance(company, "Undeposited Funds") == 70

    def refund_line(amount: str | int) -> dict[str, Any]:
        linked = [{"TxnId": refund["Id"], "TxnType": "RefundReceipt", "TxnLineId": "0"}]
        return {"Amount": number(amount), "LinkedTxn": linked}

    positive = deposit_body(company, deposit_payment(received["Id"], 100), refund_line(30))
    assert (await refused(company, "Deposit", positive))["code"] == "6000"  # deposited whole
    body = deposit_body(company, deposit_payment(received["Id"], 100), refund_line(-30))
    deposit = await post_exact(company, "Deposit", body)
    assert deposit["TotalAmt"] == 70
    assert await current_balance(company, "Undeposited Funds") == 0
    assert await current_balance(company, "Checking") == 70

    # held by the deposit: not deposited twice, not deleted, not resized
    assert (await refused(company, "Deposit", deposit_body(company, refund_line(-30))))[
        "code"
    ] == "6000"
    assert fault(await delete(company, "RefundReceipt", refund))["code"] == "6000"
    resized = sales_body(customer_id, sales_line(item_id, 40)) | {
        "Id": refund["Id"],
        "SyncToken": refund["SyncToken"],
        "DepositToAccountRef": {"value": company.account_id("Undeposited Funds")},
    }
    assert (await refused(company, "RefundReceipt", resized))["code"] == "6000"

    assert (await delete(company, "Deposit", deposit)).status_code == 200
    assert await current_balance(company, "Undeposited Funds") == 70
    assert (await delete(company, "RefundReceipt", refund)).status_code == 200
    assert await current_balance(company, "Undeposited Funds") == 100
