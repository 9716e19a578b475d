"""Customer create, read, updates and name rules, as QBO answers them."""

from __future__ import annotations

from tests.sandbox.helpers import Company, fault


async def test_created_customer_has_server_fields_and_string_ids(company: Company) -> None:
    customer = await company.create("Customer", {"DisplayName": "Doe5, Jane"})
    assert customer["Id"] == "1" and customer["SyncToken"] == "0"
    assert customer["domain"] == "QBO" and customer["sparse"] is False
    assert customer["Active"] is True
    assert customer["Balance"] == 0 and customer["BalanceWithJobs"] == 0
    assert customer["FullyQualifiedName"] == customer["PrintOnCheckName"] == "Doe5, Jane"
    meta = customer["MetaData"]
    assert meta["CreateTime"] == meta["LastUpdatedTime"]
    assert meta["CreateTime"][19] in "+-"  # offset, whole seconds: 2020-09-29T05:58:16-07:00

    read = await company.get("Customer", customer["Id"])
    assert read.status_code == 200
    assert read.json()["Customer"] == customer
    assert set(read.json()) == {"Customer", "time"}


async def test_display_name_defaults_from_name_parts(company: Company) -> None:
    person = await company.create("Customer", {"GivenName": "Jane", "FamilyName": "Smith"})
    assert person["DisplayName"] == "Jane Smith"
    firm = await company.create("Customer", {"CompanyName": "Acme Pools"})
    assert firm["DisplayName"] == "Acme Pools"


async def test_customer_without_any_name_is_refused_with_2020(company: Company) -> None:
    error = fault(await company.post("Customer", {"Notes": "who am I"}))
    assert error["code"] == "2020"
    assert error["element"] == "DisplayName"


async def test_sparse_update_changes_only_the_fields_sent_and_bumps_sync_token(
    company: Company,
) -> None:
    created = await company.create(
        "Customer",
        {
            "DisplayName": "Jane Smith",
            "PrimaryEmailAddr": {"Address": "jane@example.com"},
            "BillAddr": {"Line1": "1 Main St", "City": "Tucson"},
        },
    )
    updated = await company.update(
        "Customer",
        {
            "Id": created["Id"],
            "SyncToken": "0",
            "sparse": True,
            "BillAddr": {"Line1": "2 Elm St"},
        },
    )
    assert updated["SyncToken"] == "1"
    assert updated["PrimaryEmailAddr"] == {"Address": "jane@example.com"}
    assert updated["BillAddr"] == {"Line1": "2 Elm St"}  # objects are replaced whole
    assert updated["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]


async def test_full_update_clears_omitted_writable_fields(company: Company) -> None:
    created = await company.create(
        "Customer",
        {"DisplayName": "Doe2, Jane", "PrimaryEmailAddr": {"Address": "jane@example.com"}},
    )
    updated = await company.update(
        "Customer",
        {
            "DisplayName": "Jack Moe",
            "PrimaryPhone": {"FreeFormNumber": "(415) 444-1234"},
            "Id": created["Id"],
            "SyncToken": "0",
        },
    )
    assert updated["SyncToken"] == "1"
    assert "PrimaryEmailAddr" not in updated
    assert updated["PrimaryPhone"] == {"FreeFormNumber": "(415) 444-1234"}
    assert updated["PrintOnCheckName"] == updated["FullyQualifiedName"] == "Jack Moe"
    assert updated["Balance"] == 0  # read-only fields survive a full update


async def test_stale_sync_token_is_refused_with_5010(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Racer"})
    body = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "first"}
    assert (await company.update("Customer", body))["SyncToken"] == "1"
    error = fault(await company.post("Customer", body | {"Notes": "second"}))
    assert error["code"] == "5010"
    assert error["Message"] == "Stale Object Error"


async def test_update_without_sync_token_is_refused_with_2020(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "No Token"})
    error = fault(await company.post("Customer", {"Id": created["Id"], "DisplayName": "X"}))
    assert error["code"] == "2020" and error["element"] == "SyncToken"


async def test_update_that_changes_nothing_keeps_the_sync_token(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Steady"})
    same = await company.update(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Steady"}
    )
    assert same["SyncToken"] == "0"
    assert same["MetaData"] == created["MetaData"]


async def test_duplicate_display_name_is_6240_ignoring_case_and_spaces(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "Jane Smith"})
    error = fault(await company.post("Customer", {"DisplayName": "  jane SMITH "}))
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == (
        "The name supplied already exists. : Another customer, vendor or employee is already "
        "using this name. Please use a different name."
    )


async def test_duplicate_display_name_counts_inactive_customers(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Old Client"})
    await company.update(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert fault(await company.post("Customer", {"DisplayName": "Old Client"}))["code"] == "6240"


async def test_rename_onto_another_customers_name_is_6240(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "Taken"})
    other = await company.create("Customer", {"DisplayName": "Free"})
    body = {"Id": other["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "TAKEN"}
    assert fault(await company.post("Customer", body))["code"] == "6240"


async def test_inactivation_appends_deleted_suffix_and_reactivation_removes_it(
    company: Company,
) -> None:
    created = await company.create("Customer", {"DisplayName": "Pool Guy"})
    inactive = await company.update(
        "Customer", {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    assert inactive["Active"] is False
    assert inactive["DisplayName"] == "Pool Guy (deleted)"
    assert inactive["FullyQualifiedName"] == "Pool Guy (deleted)"
    assert inactive["PrintOnCheckName"] == "Pool Guy"
    active = await company.update(
        "Customer", {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": True}
    )
    assert active["Active"] is True and active["DisplayName"] == "Pool Guy"
    assert active["SyncToken"] == "2"


async def test_unknown_property_is_2010_naming_it(company: Company) -> None:
    error = fault(await company.post("Customer", {"DisplayName": "X", "Nickname": "x"}))
    assert error["code"] == "2010"
    assert error["element"] == "Nickname"
    assert error["Message"] == "Request has invalid or unsupported property"
    assert "Nickname" in error["Detail"]


async def test_wrongly_typed_property_is_2010(company: Company) -> None:
    error = fault(await company.post("Customer", {"DisplayName": "X", "Active": "maybe"}))
    assert error["code"] == "2010" and error["element"] == "Active"


async def test_read_only_and_system_fields_are_accepted_and_ignored(company: Company) -> None:
    customer = await company.create(
        "Customer",
        {
            "DisplayName": "Copy Of A Read",
            "Balance": 500,
            "FullyQualifiedName": "nonsense",
            "domain": "QBO",
            "sparse": False,
            "MetaData": {"CreateTime": "2001-01-01T00:00:00-08:00"},
        },
    )
    assert customer["Balance"] == 0
    assert customer["FullyQualifiedName"] == "Copy Of A Read"
    assert customer["MetaData"]["CreateTime"] != "2001-01-01T00:00:00-08:00"


async def test_non_numeric_id_is_2030(company: Company) -> None:
    error = fault(await company.get("Customer", "1.5"))
    assert error["code"] == "2030"
    assert error["Message"] == "Invalid ID"
    assert error["element"] == "Id"
    body = {"Id": "abc", "SyncToken": "0", "DisplayName": "X"}
    assert fault(await company.post("Customer", body))["code"] == "2030"


async def test_missing_record_is_610_on_read_and_update(company: Company) -> None:
    error = fault(await company.get("Customer", "4242"))
    assert error["code"] == "610"
    assert error["Message"] == "Object Not Found"
    body = {"Id": "4242", "SyncToken": "0", "DisplayName": "Ghost"}
    assert fault(await company.post("Customer", body))["code"] == "610"


async def test_ids_count_per_company(company: Company) -> None:
    first = await company.create("Customer", {"DisplayName": "A"})
    second = await company.create("Customer", {"DisplayName": "B"})
    assert (first["Id"], second["Id"]) == ("1", "2")
    other = await Company.new(company.http)
    assert (await other.create("Customer", {"DisplayName": "A"}))["Id"] == "1"
