"""Vendor and Employee: create, read, full and sparse update, inactivation, queries, CDC, the
masked SSN and tax id, and the one DisplayName namespace they share with Customer (6240)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from qbo_sandbox import clock
from tests.sandbox.helpers import Company, fault

KINDS = ("Customer", "Vendor", "Employee")
DUPLICATE_DETAIL = (
    "The name supplied already exists. : Another customer, vendor or employee is already "
    "using this name. Please use a different name."
)


def named(kind: str, display_name: str) -> dict[str, Any]:
    """A create body for `kind` with this DisplayName (an employee also needs a given name)."""
    body: dict[str, Any] = {"DisplayName": display_name}
    return body | {"GivenName": "Pat"} if kind == "Employee" else body


async def inactivate(company: Company, kind: str, record: dict[str, Any]) -> dict[str, Any]:
    body = {"Id": record["Id"], "SyncToken": record["SyncToken"], "sparse": True, "Active": False}
    return await company.update(kind, body)


# --- Vendor -------------------------------------------------------------------------------------


async def test_created_vendor_has_the_recorded_server_fields(company: Company) -> None:
    vendor = await company.create(
        "Vendor",
        {
            "DisplayName": "Books by Bessie",
            "GivenName": "Bessie",
            "FamilyName": "Williams",
            "CompanyName": "Books by Bessie",
            "PrimaryEmailAddr": {"Address": "Books@Intuit.com"},
            "PrimaryPhone": {"FreeFormNumber": "(650) 555-7745"},
            "BillAddr": {"Line1": "15 Main St.", "City": "Palo Alto", "PostalCode": "94303"},
            "AcctNum": "1345",
            "Balance": 999,  # read-only: ignored
        },
    )
    assert vendor["Id"] == "1" and vendor["SyncToken"] == "0"
    assert vendor["domain"] == "QBO" and vendor["sparse"] is False
    assert vendor["Active"] is True
    assert vendor["Balance"] == 0
    assert vendor["Vendor1099"] is False
    assert vendor["CurrencyRef"] == {"value": "USD", "name": "United States Dollar"}
    assert vendor["PrintOnCheckName"] == "Books by Bessie"
    assert vendor["AcctNum"] == "1345"
    assert "FullyQualifiedName" not in vendor  # QBO shows none for vendors
    assert set(vendor["MetaData"]) == {"CreateTime", "LastUpdatedTime"}

    read = await company.get("Vendor", vendor["Id"])
    assert read.status_code == 200
    assert read.json()["Vendor"] == vendor
    assert set(read.json()) == {"Vendor", "time"}


async def test_vendor_ids_count_apart_from_customers(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "A Customer"})
    await company.create("Customer", {"DisplayName": "Another Customer"})
    vendor = await company.create("Vendor", {"DisplayName": "First Vendor"})
    assert vendor["Id"] == "1"


async def test_vendor_display_name_defaults_from_name_parts_or_company(company: Company) -> None:
    person = await company.create("Vendor", {"GivenName": "Nick", "FamilyName": "Brosnahan"})
    assert person["DisplayName"] == person["PrintOnCheckName"] == "Nick Brosnahan"
    firm = await company.create("Vendor", {"CompanyName": "Cal Telephone"})
    assert firm["DisplayName"] == "Cal Telephone"
    error = fault(await company.post("Vendor", {"AcctNum": "42"}))
    assert (error["code"], error["element"]) == ("2020", "DisplayName")
    error = fault(await company.post("Vendor", {"DisplayName": "A: B"}))
    assert error["code"] == "2040"


async def test_vendor_tax_identifier_is_masked_and_1099_kept(company: Company) -> None:
    vendor = await company.create(
        "Vendor", {"DisplayName": "Contractor", "TaxIdentifier": "12-3459875", "Vendor1099": True}
    )
    assert vendor["TaxIdentifier"] == "XXXXXX9875"
    assert vendor["Vendor1099"] is True
    # a read-modify-write sends the masked value back: nothing changes
    same = await company.update("Vendor", vendor)
    assert same["SyncToken"] == "0" and same["TaxIdentifier"] == "XXXXXX9875"


async def test_vendor_sparse_and_full_updates(company: Company) -> None:
    created = await company.create(
        "Vendor",
        {
            "DisplayName": "Hicks Hardware",
            "PrimaryEmailAddr": {"Address": "hicks@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "(650) 554-1973"},
            "AcctNum": "7",
            "Vendor1099": True,
        },
    )
    sparse = await company.update(
        "Vendor",
        {"Id": created["Id"], "SyncToken": "0", "sparse": True, "AcctNum": "8"},
    )
    assert sparse["SyncToken"] == "1"
    assert sparse["AcctNum"] == "8"
    assert sparse["PrimaryEmailAddr"] == {"Address": "hicks@example.com"}
    assert sparse["Vendor1099"] is True
    assert sparse["MetaData"]["CreateTime"] == created["MetaData"]["CreateTime"]

    full = await company.update(
        "Vendor",
        {"Id": created["Id"], "SyncToken": "1", "DisplayName": "Hicks Hardware & Co"},
    )
    assert full["SyncToken"] == "2"
    assert full["DisplayName"] == full["PrintOnCheckName"] == "Hicks Hardware & Co"
    for cleared in ("PrimaryEmailAddr", "PrimaryPhone", "AcctNum"):
        assert cleared not in full
    assert full["Vendor1099"] is False  # back to the server default
    assert full["Balance"] == 0 and full["CurrencyRef"]["value"] == "USD"

    stale = await company.post("Vendor", {"Id": created["Id"], "SyncToken": "1", "sparse": True})
    assert fault(stale)["code"] == "5010"


async def test_vendor_inactivation_appends_deleted_suffix_and_reactivation_removes_it(
    company: Company,
) -> None:
    created = await company.create("Vendor", {"DisplayName": "United States Treasury"})
    inactive = await inactivate(company, "Vendor", created)
    assert inactive["Active"] is False
    assert inactive["DisplayName"] == "United States Treasury (deleted)"
    assert inactive["PrintOnCheckName"] == "United States Treasury"  # as recorded
    assert inactive["SyncToken"] == "1"
    assert (await company.get("Vendor", created["Id"])).json()["Vendor"] == inactive

    active = await company.update(
        "Vendor", {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": True}
    )
    assert active["Active"] is True
    assert active["DisplayName"] == "United States Treasury"


async def test_vendors_cannot_be_deleted(company: Company) -> None:
    vendor = await company.create("Vendor", {"DisplayName": "Permanent Supplier"})
    response = await company.post(
        "Vendor", {"Id": vendor["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert fault(response)["code"] == "500"


async def test_unknown_vendor_field_is_2010(company: Company) -> None:
    error = fault(await company.post("Vendor", {"DisplayName": "Odd", "Taxable": True}))
    assert (error["code"], error["element"]) == ("2010", "Taxable")


# --- Employee -----------------------------------------------------------------------------------


async def test_created_employee_has_server_fields(company: Company) -> None:
    employee = await company.create(
        "Employee",
        {
            "GivenName": "Emily",
            "FamilyName": "Platt",
            "PrimaryEmailAddr": {"Address": "emily@example.com"},
            "PrimaryPhone": {"FreeFormNumber": "(555) 555-5555"},
            "PrimaryAddr": {"Line1": "45 N. Elm Street", "City": "Middlefield"},
            "EmployeeNumber": "E-7",
            "HiredDate": "2024-03-01",
        },
    )
    assert employee["Id"] == "1" and employee["SyncToken"] == "0"
    assert employee["domain"] == "QBO" and employee["sparse"] is False
    assert employee["DisplayName"] == employee["PrintOnCheckName"] == "Emily Platt"
    assert employee["Active"] is True
    assert employee["BillableTime"] is False
    assert employee["EmployeeNumber"] == "E-7"
    assert employee["HiredDate"] == "2024-03-01"
    assert employee["PrimaryAddr"] == {"Line1": "45 N. Elm Street", "City": "Middlefield"}
    for absent in ("Balance", "CurrencyRef", "FullyQualifiedName", "SSN"):
        assert absent not in employee

    read = await company.get("Employee", employee["Id"])
    assert read.status_code == 200
    assert read.json()["Employee"] == employee


async def test_employee_needs_a_given_or_family_name(company: Company) -> None:
    error = fault(await company.post("Employee", {"DisplayName": "Just A Label"}))
    assert (error["code"], error["element"]) == ("2020", "GivenName")
    only_family = await company.create("Employee", {"FamilyName": "Okafor"})
    assert only_family["DisplayName"] == "Okafor"
    with_display = await company.create(
        "Employee", {"GivenName": "John", "FamilyName": "Johnson", "DisplayName": "JJ"}
    )
    assert with_display["DisplayName"] == with_display["PrintOnCheckName"] == "JJ"


async def test_employee_hired_date_must_be_a_date(company: Company) -> None:
    body = {"GivenName": "Late", "HiredDate": "next Monday"}
    error = fault(await company.post("Employee", body))
    assert (error["code"], error["element"]) == ("2010", "HiredDate")


@pytest.mark.parametrize("sent", ["123-45-6789", "123456789", " 123 45 6789 "])
async def test_ssn_is_masked_everywhere(company: Company, sent: str) -> None:
    employee = await company.create("Employee", {"GivenName": "Sam", "SSN": sent})
    assert employee["SSN"] == "XXX-XX-6789"
    read = (await company.get("Employee", employee["Id"])).json()["Employee"]
    assert read["SSN"] == "XXX-XX-6789"
    [row] = await company.rows("SELECT * FROM Employee WHERE GivenName = 'Sam'")
    assert row["SSN"] == "XXX-XX-6789"
    [listed] = (await company.state())["Employee"]
    assert listed["SSN"] == "XXX-XX-6789"
    assert "6789" in listed["SSN"] and "12345" not in str(listed)


async def test_masked_ssn_sent_back_changes_nothing_and_a_new_one_replaces_it(
    company: Company,
) -> None:
    employee = await company.create("Employee", {"GivenName": "Sam", "SSN": "123-45-6789"})
    same = await company.update("Employee", employee)  # read-modify-write with the masked SSN
    assert same["SyncToken"] == "0" and same["SSN"] == "XXX-XX-6789"
    changed = await company.update(
        "Employee", {"Id": employee["Id"], "SyncToken": "0", "sparse": True, "SSN": "987654321"}
    )
    assert changed["SyncToken"] == "1" and changed["SSN"] == "XXX-XX-4321"


async def test_malformed_ssn_is_refused(company: Company) -> None:
    error = fault(await company.post("Employee", {"GivenName": "Sam", "SSN": "12-345"}))
    assert (error["code"], error["element"]) == ("2040", "SSN")


async def test_employee_sparse_and_full_updates(company: Company) -> None:
    created = await company.create(
        "Employee",
        {
            "GivenName": "Bill",
            "FamilyName": "Miller",
            "EmployeeNumber": "17",
            "PrimaryPhone": {"FreeFormNumber": "234-525-1234"},
            "BillableTime": True,
        },
    )
    sparse = await company.update(
        "Employee",
        {"Id": created["Id"], "SyncToken": "0", "sparse": True, "ReleasedDate": "2025-12-31"},
    )
    assert sparse["SyncToken"] == "1"
    assert sparse["ReleasedDate"] == "2025-12-31"
    assert sparse["EmployeeNumber"] == "17" and sparse["BillableTime"] is True

    full = await company.update(
        "Employee",
        {"Id": created["Id"], "SyncToken": "1", "GivenName": "William", "FamilyName": "Miller"},
    )
    assert full["SyncToken"] == "2"
    # the old DisplayName is cleared with the other omitted fields, then derived again
    assert full["DisplayName"] == full["PrintOnCheckName"] == "William Miller"
    for cleared in ("EmployeeNumber", "PrimaryPhone", "ReleasedDate"):
        assert cleared not in full
    assert full["BillableTime"] is False


async def test_employee_inactivation_appends_deleted_suffix_and_reactivation_removes_it(
    company: Company,
) -> None:
    created = await company.create("Employee", {"GivenName": "Gone", "FamilyName": "Fishing"})
    inactive = await inactivate(company, "Employee", created)
    assert inactive["Active"] is False
    assert inactive["DisplayName"] == "Gone Fishing (deleted)"
    assert inactive["PrintOnCheckName"] == "Gone Fishing"
    active = await company.update(
        "Employee", {"Id": created["Id"], "SyncToken": "1", "sparse": True, "Active": True}
    )
    assert active["DisplayName"] == "Gone Fishing"


# --- one DisplayName namespace ------------------------------------------------------------------


@pytest.mark.parametrize("holder_inactive", [False, True], ids=["active", "inactive"])
@pytest.mark.parametrize("newcomer", KINDS)
@pytest.mark.parametrize("holder", KINDS)
async def test_display_name_is_unique_across_customers_vendors_and_employees(
    company: Company, holder: str, newcomer: str, holder_inactive: bool
) -> None:
    taken = await company.create(holder, named(holder, "Jane Smith"))
    if holder_inactive:
        await inactivate(company, holder, taken)
    before = await company.state()

    error = fault(await company.post(newcomer, named(newcomer, "  jane SMITH ")))
    assert error["code"] == "6240"
    assert error["Message"] == "Duplicate Name Exists Error"
    assert error["Detail"] == DUPLICATE_DETAIL
    assert await company.state() == before  # a refused write changes nothing


@pytest.mark.parametrize("holder", KINDS)
@pytest.mark.parametrize("renamed", KINDS)
async def test_rename_onto_another_kinds_name_is_6240(
    company: Company, holder: str, renamed: str
) -> None:
    await company.create(holder, named(holder, "Taken Name"))
    other = await company.create(renamed, named(renamed, "Free Name"))
    body = {"Id": other["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "TAKEN NAME"}
    assert fault(await company.post(renamed, body))["code"] == "6240"
    # renaming onto its own name (another case) is no clash
    body["DisplayName"] = "free name"
    assert (await company.update(renamed, body))["DisplayName"] == "free name"


async def test_derived_display_names_count_too(company: Company) -> None:
    await company.create("Employee", {"GivenName": "Maria", "FamilyName": "Lopez"})
    error = fault(await company.post("Vendor", {"GivenName": "maria", "FamilyName": "LOPEZ"}))
    assert error["code"] == "6240"
    error = fault(await company.post("Customer", {"CompanyName": "Maria Lopez"}))
    assert error["code"] == "6240"


async def test_a_name_freed_by_a_rename_can_be_used_by_another_kind(company: Company) -> None:
    vendor = await company.create("Vendor", {"DisplayName": "Shared Later"})
    await company.update(
        "Vendor", {"Id": vendor["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "Renamed"}
    )
    customer = await company.create("Customer", {"DisplayName": "Shared Later"})
    assert customer["DisplayName"] == "Shared Later"


async def test_reactivation_keeps_the_name_no_one_else_could_take(company: Company) -> None:
    employee = await company.create("Employee", named("Employee", "Rehired"))
    inactive = await inactivate(company, "Employee", employee)
    # the inactive employee still holds the name: a vendor cannot take it meanwhile
    assert fault(await company.post("Vendor", {"DisplayName": "Rehired"}))["code"] == "6240"
    body = {"Id": inactive["Id"], "SyncToken": inactive["SyncToken"], "sparse": True}
    active = await company.update("Employee", body | {"Active": True})
    assert active["DisplayName"] == "Rehired"


async def test_item_and_account_names_are_another_namespace(company: Company) -> None:
    await company.create("Vendor", {"DisplayName": "Services"})  # an Account is named Services
    await company.service_item("Mowing")
    employee = await company.create("Employee", named("Employee", "Mowing"))
    assert employee["DisplayName"] == "Mowing"


# --- queries, CDC, control API -----------------------------------------------------------------


@pytest.mark.parametrize("kind", ["Vendor", "Employee"])
async def test_queries_hide_inactive_unless_active_is_filtered(company: Company, kind: str) -> None:
    kept = await company.create(kind, named(kind, "Still Here"))
    gone = await company.create(kind, named(kind, "Moved Away"))
    await inactivate(company, kind, gone)

    assert [r["Id"] for r in await company.rows(f"SELECT * FROM {kind}")] == [kept["Id"]]
    both = await company.query(f"SELECT * FROM {kind} WHERE Active IN (true, false)")
    assert both.status_code == 200
    reply = both.json()["QueryResponse"]
    assert [(r["DisplayName"], r["Active"]) for r in reply[kind]] == [
        ("Moved Away (deleted)", False),
        ("Still Here", True),
    ]
    assert reply["startPosition"] == 1 and reply["maxResults"] == 2
    inactive_only = await company.rows(f"SELECT * FROM {kind} WHERE Active = false")
    assert [r["Id"] for r in inactive_only] == [gone["Id"]]
    count = await company.query(f"SELECT COUNT(*) FROM {kind} WHERE Active IN (true, false)")
    assert count.json()["QueryResponse"] == {"totalCount": 2}


async def test_query_vendor_by_fields(company: Company) -> None:
    await company.create("Vendor", {"DisplayName": "Robertson & Associates", "Vendor1099": True})
    await company.create("Vendor", {"DisplayName": "Robertson"})
    [row] = await company.rows("SELECT * FROM Vendor WHERE DisplayName = 'Robertson & Associates'")
    assert row["Vendor1099"] is True
    rows = await company.rows("SELECT * FROM vendor WHERE DisplayName LIKE 'robertson%'")
    assert [r["DisplayName"] for r in rows] == ["Robertson", "Robertson & Associates"]
    [row] = await company.rows("SELECT * FROM Vendor WHERE Vendor1099 = true")
    assert row["DisplayName"] == "Robertson & Associates"


async def test_query_employee_by_number_and_hired_date(company: Company) -> None:
    await company.create("Employee", {"GivenName": "Early", "HiredDate": "2020-01-01"})
    await company.create(
        "Employee", {"GivenName": "Late", "HiredDate": "2024-06-01", "EmployeeNumber": "9"}
    )
    rows = await company.rows("SELECT * FROM Employee WHERE HiredDate > '2023-01-01'")
    assert [r["GivenName"] for r in rows] == ["Late"]
    [row] = await company.rows("SELECT * FROM Employee WHERE EmployeeNumber = '9'")
    assert row["GivenName"] == "Late"


async def test_cdc_reports_vendor_and_employee_changes(company: Company) -> None:
    since = (clock.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    vendor = await company.create("Vendor", {"DisplayName": "Supplier"})
    employee = await company.create("Employee", {"GivenName": "Worker"})
    await inactivate(company, "Employee", employee)
    response = await company.http.get(
        company.path("cdc"),
        params={"entities": "vendor,Employee,Customer", "changedSince": since},
        headers=company.headers,
    )
    assert response.status_code == 200, response.text
    [cdc] = response.json()["CDCResponse"]
    vendors, employees, customers = cdc["QueryResponse"]
    assert [v["Id"] for v in vendors["Vendor"]] == [vendor["Id"]]
    [changed] = employees["Employee"]
    assert (changed["Id"], changed["Active"]) == (employee["Id"], False)
    assert customers == {}


async def test_realm_state_lists_vendors_and_employees(company: Company) -> None:
    vendor = await company.create("Vendor", {"DisplayName": "Listed Vendor"})
    employee = await company.create("Employee", {"GivenName": "Listed", "SSN": "111-22-3333"})
    await inactivate(company, "Vendor", vendor)
    entities = await company.state()
    assert [v["DisplayName"] for v in entities["Vendor"]] == ["Listed Vendor (deleted)"]
    assert [(e["Id"], e["SSN"]) for e in entities["Employee"]] == [(employee["Id"], "XXX-XX-3333")]


async def test_batch_creates_vendors_and_employees(company: Company) -> None:
    response = await company.http.post(
        company.path("batch"),
        json={
            "BatchItemRequest": [
                {"bId": "1", "operation": "create", "Vendor": {"DisplayName": "Batch Name"}},
                {"bId": "2", "operation": "create", "Employee": named("Employee", "Batch Name")},
                {"bId": "3", "Query": "SELECT * FROM Vendor"},
            ]
        },
        headers=company.headers,
    )
    assert response.status_code == 200, response.text
    created, refused, queried = response.json()["BatchItemResponse"]
    assert created["Vendor"]["DisplayName"] == "Batch Name"
    assert refused["Fault"]["Error"][0]["code"] == "6240"
    assert [v["Id"] for v in queried["QueryResponse"]["Vendor"]] == [created["Vendor"]["Id"]]
