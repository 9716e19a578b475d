"""Item and Account rules: required fields, references to accounts, unique names, money."""

from __future__ import annotations

from decimal import Decimal

from tests.sandbox.helpers import Company, exact_json, fault


async def test_service_item_gets_its_income_account_name_and_defaults(company: Company) -> None:
    item = await company.service_item("Weekly pool cleaning", UnitPrice=120.5)
    assert item["IncomeAccountRef"] == {"value": company.account_id("Services"), "name": "Services"}
    assert item["FullyQualifiedName"] == "Weekly pool cleaning"
    assert item["Type"] == "Service" and item["Active"] is True
    assert item["TrackQtyOnHand"] is False
    assert item["Id"] == "1" and item["SyncToken"] == "0"


async def test_money_keeps_every_cent_and_is_a_json_number(company: Company) -> None:
    created = await company.post(
        "Item",
        {
            "Name": "Chlorine",
            "Type": "NonInventory",
            "IncomeAccountRef": {"value": company.account_id("Sales of Product Income")},
            "UnitPrice": 19.99,
        },
    )
    assert '"UnitPrice":19.99' in created.text
    assert exact_json(created)["Item"]["UnitPrice"] == Decimal("19.99")


async def test_item_needs_name_type_and_income_account(company: Company) -> None:
    income = {"value": company.account_id("Services")}
    missing_name = fault(
        await company.post("Item", {"Type": "Service", "IncomeAccountRef": income})
    )
    assert (missing_name["code"], missing_name["element"]) == ("2020", "Name")
    missing_type = fault(await company.post("Item", {"Name": "A", "IncomeAccountRef": income}))
    assert (missing_type["code"], missing_type["element"]) == ("2020", "Type")
    missing_account = fault(await company.post("Item", {"Name": "A", "Type": "Service"}))
    assert (missing_account["code"], missing_account["element"]) == ("2020", "IncomeAccountRef")
    assert "IncomeAccountRef" in missing_account["Detail"]


async def test_item_type_must_be_one_qbo_knows(company: Company) -> None:
    body = {"Name": "A", "Type": "Gadget", "IncomeAccountRef": {"value": "1"}}
    error = fault(await company.post("Item", body))
    assert (error["code"], error["element"]) == ("2010", "Type")


async def test_income_account_must_exist_and_be_active(company: Company) -> None:
    unknown = fault(
        await company.post(
            "Item", {"Name": "A", "Type": "Service", "IncomeAccountRef": {"value": "999"}}
        )
    )
    assert unknown["code"] == "2500"
    assert unknown["Message"] == "Invalid Reference Id"

    account = await company.create("Account", {"Name": "Old Income", "AccountType": "Income"})
    await company.update(
        "Account", {"Id": account["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    inactive = fault(
        await company.post(
            "Item", {"Name": "A", "Type": "Service", "IncomeAccountRef": {"value": account["Id"]}}
        )
    )
    assert inactive["code"] == "2500"


async def test_item_name_is_unique_among_items_ignoring_case(company: Company) -> None:
    await company.service_item("Filter Clean")
    duplicate = await company.post(
        "Item",
        {
            "Name": "FILTER CLEAN ",
            "Type": "Service",
            "IncomeAccountRef": {"value": company.account_id("Services")},
        },
    )
    error = fault(duplicate)
    assert error["code"] == "6240"
    assert "Another product or service" in error["Detail"]


async def test_customer_and_item_names_do_not_clash(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "Same Name"})
    await company.service_item("Same Name")


async def test_item_name_rules_colon_and_length(company: Company) -> None:
    income = {"value": company.account_id("Services")}
    colon = fault(
        await company.post("Item", {"Name": "A:B", "Type": "Service", "IncomeAccountRef": income})
    )
    assert (colon["code"], colon["element"]) == ("2040", "Name")
    long_name = fault(
        await company.post(
            "Item", {"Name": "x" * 101, "Type": "Service", "IncomeAccountRef": income}
        )
    )
    assert (long_name["code"], long_name["element"]) == ("2050", "Name")
    await company.service_item("y" * 100)


async def test_sparse_item_update_keeps_the_income_account(company: Company) -> None:
    item = await company.service_item("Acid wash", UnitPrice=80)
    updated = await company.update(
        "Item",
        {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 95, "Name": "Acid Wash"},
    )
    assert updated["UnitPrice"] == 95 and updated["Name"] == "Acid Wash"
    assert updated["IncomeAccountRef"]["value"] == company.account_id("Services")


async def test_inactive_item_gets_deleted_suffix(company: Company) -> None:
    item = await company.service_item("Old Service")
    inactive = await company.update(
        "Item", {"Id": item["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert inactive["Name"] == "Old Service (deleted)"


async def test_account_create_derives_classification_and_rejects_duplicates(
    company: Company,
) -> None:
    account = await company.create("Account", {"Name": "Stripe Fees", "AccountType": "Expense"})
    assert account["Classification"] == "Expense"
    assert account["CurrentBalance"] == 0
    assert account["FullyQualifiedName"] == "Stripe Fees"
    error = fault(await company.post("Account", {"Name": "stripe fees", "AccountType": "Expense"}))
    assert error["code"] == "6240"
    missing_type = fault(await company.post("Account", {"Name": "No Type"}))
    assert (missing_type["code"], missing_type["element"]) == ("2020", "AccountType")


async def test_deactivating_an_already_inactive_account_is_a_no_op(company: Company) -> None:
    # deactivate/account.yml: the second deactivation returns the record unchanged
    account = await company.create("Account", {"Name": "Fees Billed", "AccountType": "Income"})
    first = await company.update(
        "Account", {"Id": account["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert first["Name"] == first["FullyQualifiedName"] == "Fees Billed (deleted)"
    assert first["SyncToken"] == "1"
    again = await company.update(
        "Account",
        {
            "Id": account["Id"],
            "SyncToken": "1",
            "sparse": True,
            "Active": False,
            "Name": "Fees Billed (deleted)",
        },
    )
    assert again == first
