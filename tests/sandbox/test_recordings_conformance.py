"""Our answers have the shape of real QBO traffic recorded in ../shared/qbo-recordings.

Every recorded file is replayed (`COVERED` names the test for each, and a test checks that no
file is left out). Each recorded request is sent to a fresh sandbox company (realm and ids mapped
to ours, prerequisites such as the referenced customer or the demo company's records created
first), and the status, envelope keys, server-filled field names and fault codes are compared.
Values are mostly not compared: they belong to Intuit's demo company.

Recordings of entities the sandbox does not serve (SalesReceipt, Estimate) are replayed with a
served entity in their place; the literal replay of cdc/basic.yml (Estimate) is kept as an
`xfail`, so it starts to count the day Estimate is served. Vendor recordings are replayed as
recorded (and once more with Customer in Vendor's place).
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from qbo_sandbox import clock
from qbo_sandbox.entities import ENTITIES
from tests.processes import REPO_ROOT
from tests.sandbox.helpers import Company

RECORDINGS = REPO_ROOT.parent / "shared" / "qbo-recordings"

pytestmark = pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"QBO recordings not found at {RECORDINGS}"
)

# Server-filled fields the recordings show that this sandbox deliberately leaves out:
# customers get no DefaultTaxCodeRef (the sandbox keeps no company default tax code; tax codes
# themselves are served, see test_sales_tax.py); nor are custom fields (CustomField).
NOT_EMULATED = {"DefaultTaxCodeRef", "CustomField"}
# Fields a record carries that the server owns: never sent when seeding from a recording.
SYSTEM_FIELDS = {"Id", "SyncToken", "MetaData", "domain", "sparse"}
# Sub-customer links name records of Intuit's demo company: seeded customers are top-level.
SUB_CUSTOMER_FIELDS = {"ParentRef", "Job", "Level"}


def _served(entity: str) -> bool:
    return entity in ENTITIES


def _needs(entity: str, why: str = "") -> pytest.MarkDecorator:
    reason = f"{entity} is not served by the sandbox" + (f": {why}" if why else " yet")
    return pytest.mark.xfail(not _served(entity), reason=reason, strict=False)


def _interactions(relative: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((RECORDINGS / relative).read_text())
    return document["http_interactions"]  # type: ignore[no-any-return]


def _recorded_json(interaction: dict[str, Any], side: str) -> Any:
    text = interaction[side]["body"]["string"]
    return json.loads(text) if text else None


def _our_path(recorded_uri: str, company: Company) -> str:
    """Recorded paths use -COMPANY_ID- (or omit the company); ours name the test's realm.

    The recorded query string (already URL-encoded) is kept as it is.
    """
    parts = urlsplit(recorded_uri)
    path = parts.path.replace("/v3/company/-COMPANY_ID-/", "/v3/")
    path = path.replace("/v3/", f"/v3/company/{company.realm_id}/", 1)
    return f"{path}?{parts.query}" if parts.query else path


async def _replay(
    company: Company, interaction: dict[str, Any], path: str | None = None, body: Any = None
) -> httpx.Response:
    request = interaction["request"]
    recorded_body = _recorded_json(interaction, "request")
    return await company.http.request(
        request["method"].upper(),
        path or _our_path(request["uri"], company),
        json=body if body is not None else recorded_body,
        headers=company.headers,
    )


def _assert_same_entity_shape(ours: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert set(ours) == set(recorded), "envelope keys differ"
    [entity] = [key for key in recorded if key != "time"]
    missing = set(recorded[entity]) - set(ours[entity]) - NOT_EMULATED
    assert not missing, f"{entity} lacks server-filled fields {missing}"
    assert set(ours[entity]["MetaData"]) == set(recorded[entity]["MetaData"])
    for key in ("Id", "SyncToken"):
        assert isinstance(ours[entity][key], str)


def _assert_same_fault_shape(ours: dict[str, Any], recorded: dict[str, Any]) -> None:
    assert set(ours) == set(recorded) | {"time"}
    assert ours["Fault"]["type"] == recorded["Fault"]["type"]
    our_error, recorded_error = ours["Fault"]["Error"][0], recorded["Fault"]["Error"][0]
    assert set(recorded_error) <= set(our_error) <= set(recorded_error) | {"element"}
    assert our_error["code"] == recorded_error["code"]
    assert our_error["Message"] == recorded_error["Message"]


async def test_create_customer_matches_recording(company: Company) -> None:
    [interaction] = _interactions("create/customer.yml")
    response = await _replay(company, interaction)
    assert response.status_code == interaction["response"]["status"]["code"]
    _assert_same_entity_shape(response.json(), _recorded_json(interaction, "response"))


async def test_read_then_full_update_customer_matches_recording(company: Company) -> None:
    read, update = _interactions("update/customer.yml")
    recorded_read = _recorded_json(read, "response")["Customer"]
    ours = await company.create("Customer", {"DisplayName": recorded_read["DisplayName"]})

    response = await _replay(company, read, path=company.path(f"customer/{ours['Id']}"))
    assert response.status_code == 200
    _assert_same_entity_shape(response.json(), _recorded_json(read, "response"))

    body = _recorded_json(update, "request") | {"Id": ours["Id"], "SyncToken": ours["SyncToken"]}
    response = await _replay(company, update, body=body)
    recorded = _recorded_json(update, "response")
    assert response.status_code == 200
    _assert_same_entity_shape(response.json(), recorded)
    for key in ("SyncToken", "DisplayName", "PrintOnCheckName", "FullyQualifiedName"):
        assert response.json()["Customer"][key] == recorded["Customer"][key]
    assert response.json()["Customer"]["PrimaryPhone"] == recorded["Customer"]["PrimaryPhone"]


async def test_unrecognized_property_fault_matches_recording(company: Company) -> None:
    # Recorded against /invoice, which this first cut does not serve: sent to /customer instead.
    [interaction] = _interactions("error/400_json.yml")
    response = await _replay(company, interaction, path=company.path("customer"))
    assert response.status_code == 400
    _assert_same_fault_shape(response.json(), _recorded_json(interaction, "response"))
    assert "BadJson" in response.json()["Fault"]["Error"][0]["Detail"]


async def test_duplicate_name_fault_matches_recording(company: Company) -> None:
    [interaction] = _interactions("error/validation.yml")
    await company.create("Customer", _recorded_json(interaction, "request"))
    response = await _replay(company, interaction)
    assert response.status_code == interaction["response"]["status"]["code"]
    _assert_same_fault_shape(response.json(), _recorded_json(interaction, "response"))


async def test_unsupported_path_and_invalid_id_faults_match_recording(company: Company) -> None:
    for interaction in _interactions("error/500.yml"):
        response = await _replay(company, interaction)
        assert response.status_code == interaction["response"]["status"]["code"]
        recorded = _recorded_json(interaction, "response")
        ours = response.json()
        ours.pop("time")  # these recordings carry no time
        _assert_same_fault_shape(ours | {"time": None}, recorded)
        if "element" in recorded["Fault"]["Error"][0]:
            assert ours["Fault"]["Error"][0]["element"] == recorded["Fault"]["Error"][0]["element"]


async def test_expired_token_fault_matches_recording(company: Company) -> None:
    [interaction] = _interactions("error/401.yml")
    await company.http.post(f"/__sandbox/realms/{company.realm_id}/expire-access-tokens")
    response = await _replay(company, interaction)
    recorded_response = interaction["response"]
    assert response.status_code == recorded_response["status"]["code"]
    [recorded_header] = recorded_response["headers"]["Www-Authenticate"]
    assert response.headers["WWW-Authenticate"] == recorded_header
    ours, recorded = response.json()["fault"], _recorded_json(interaction, "response")["fault"]
    assert ours["type"] == recorded["type"]
    assert set(ours["error"][0]) == set(recorded["error"][0])
    for key in ("message", "code"):
        assert ours["error"][0][key] == recorded["error"][0][key]
    assert ours["error"][0]["detail"].startswith("Token expired: ")


async def test_deactivated_account_matches_recording(company: Company) -> None:
    read, deactivate = _interactions("deactivate/account.yml")
    recorded = _recorded_json(read, "response")["Account"]
    account = await company.create(
        "Account", {"Name": "Fees Billed", "AccountType": recorded["AccountType"]}
    )
    body = {"Id": account["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    response = await company.post("Account", body)
    _assert_same_entity_shape(response.json(), _recorded_json(deactivate, "response"))
    ours = response.json()["Account"]
    for key in ("Name", "FullyQualifiedName", "Active", "Classification", "AccountSubType"):
        assert ours[key] == recorded[key]


# --- every recorded file ------------------------------------------------------------------------

COVERED = {
    "all/customers.yml": "test_count_and_page_of_all_customers_match_recording",
    "batch/basic.yml": "test_batch_matches_recording",
    "cdc/basic.yml": "test_cdc_matches_recording",
    "create/customer.yml": "test_create_customer_matches_recording",
    "create/invoice.yml": "test_create_invoice_matches_recording",
    "deactivate/account.yml": "test_deactivated_account_matches_recording",
    "delete/invoice.yml": "test_read_then_delete_invoice_matches_recording",
    "error/400_json.yml": "test_unrecognized_property_on_invoice_matches_recording",
    "error/401.yml": "test_expired_token_fault_matches_recording",
    "error/500.yml": "test_unsupported_path_and_invalid_id_faults_match_recording",
    "error/validation.yml": "test_duplicate_name_fault_matches_recording",
    "get/display_name.yml": "test_query_by_display_name_with_a_quote_matches_recording",
    "get/id.yml": "test_read_customer_by_id_matches_recording",
    "get/inactive_vendors.yml": "test_active_in_true_false_query_matches_recording",
    "misc/ampersand.yml": "test_ampersand_in_a_query_matches_recording",
    "update/customer.yml": "test_read_then_full_update_customer_matches_recording",
    "void/invoice.yml": "test_read_then_void_invoice_matches_recording",
}


def test_every_recording_is_replayed() -> None:
    files = {path.relative_to(RECORDINGS).as_posix() for path in RECORDINGS.rglob("*.yml")}
    assert files == set(COVERED), "a recording without a replay test (or a test without one)"
    assert all(callable(globals().get(name)) for name in COVERED.values())


def _seed_body(record: dict[str, Any]) -> dict[str, Any]:
    """A recorded record as a create body: the server's own fields and demo-company links go."""
    return {k: v for k, v in record.items() if k not in SYSTEM_FIELDS | SUB_CUSTOMER_FIELDS}


async def _seed(company: Company, entity: str, records: list[dict[str, Any]]) -> list[str]:
    """Create these recorded records in order; their Ids in our company."""
    return [(await company.create(entity, _seed_body(record)))["Id"] for record in records]


def _assert_same_query_shape(
    ours: dict[str, Any], recorded: dict[str, Any], entity: str, recorded_entity: str | None = None
) -> list[dict[str, Any]]:
    """Same envelope and QueryResponse keys, no row field the recorded rows never show."""
    recorded_entity = recorded_entity or entity
    assert set(ours) == set(recorded) == {"QueryResponse", "time"}
    expected_keys = {entity if key == recorded_entity else key for key in recorded["QueryResponse"]}
    assert set(ours["QueryResponse"]) == expected_keys
    rows: list[dict[str, Any]] = ours["QueryResponse"][entity]
    assert ours["QueryResponse"]["maxResults"] == len(rows)
    if entity == recorded_entity:
        known = set().union(*(set(row) for row in recorded["QueryResponse"][entity]))
        for row in rows:
            assert not set(row) - known, f"fields QBO never showed: {set(row) - known}"
            assert set(row["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    return rows


def _recorded_rows(relative: str, index: int = 0) -> dict[str, Any]:
    return _recorded_json(_interactions(relative)[index], "response")  # type: ignore[no-any-return]


async def test_count_and_page_of_all_customers_match_recording(company: Company) -> None:
    count, page = _interactions("all/customers.yml")
    recorded_page = _recorded_json(page, "response")
    # A sub-customer may share its DisplayName with a top-level customer ("Jack Doe" under
    # "Doe, Jack"); seeded as top-level customers, such names get a suffix.
    recorded_customers = recorded_page["QueryResponse"]["Customer"]
    top_level = {c["DisplayName"] for c in recorded_customers if "ParentRef" not in c}
    customers = [
        c | {"DisplayName": c["DisplayName"] + " (sub-customer)"}
        if "ParentRef" in c and c["DisplayName"] in top_level
        else c
        for c in recorded_customers
    ]
    await _seed(company, "Customer", customers)

    response = await _replay(company, count)
    assert response.status_code == 200
    assert response.json()["QueryResponse"] == _recorded_json(count, "response")["QueryResponse"]

    response = await _replay(company, page)
    assert response.status_code == 200
    rows = _assert_same_query_shape(response.json(), recorded_page, "Customer")
    assert sorted(c["DisplayName"] for c in rows) == sorted(c["DisplayName"] for c in customers)
    assert response.json()["QueryResponse"]["startPosition"] == 1


async def test_query_by_display_name_with_a_quote_matches_recording(company: Company) -> None:
    [interaction] = _interactions("get/display_name.yml")
    recorded = _recorded_json(interaction, "response")
    await _seed(company, "Customer", recorded["QueryResponse"]["Customer"])
    await company.create("Customer", {"DisplayName": "Amys Bird Sanctuary"})  # not a match
    response = await _replay(company, interaction)
    assert response.status_code == 200
    [row] = _assert_same_query_shape(response.json(), recorded, "Customer")
    assert row["DisplayName"] == "Amy's Bird Sanctuary"


async def test_read_customer_by_id_matches_recording(company: Company) -> None:
    [interaction] = _interactions("get/id.yml")
    recorded = _recorded_json(interaction, "response")
    for n in range(int(recorded["Customer"]["Id"]) - 1):
        await company.create("Customer", {"DisplayName": f"Filler {n}"})
    [our_id] = await _seed(company, "Customer", [recorded["Customer"]])
    assert our_id == recorded["Customer"]["Id"]
    response = await _replay(company, interaction)  # the recorded path, Id and all
    assert response.status_code == 200
    _assert_same_entity_shape(response.json(), recorded)


# Server-filled Vendor fields whose recorded values a seeded vendor must show again (Balance is
# the demo company's open A/P: bills are not served, so ours is 0).
VENDOR_FILLED = ("PrintOnCheckName", "Vendor1099", "CurrencyRef", "Active", "TaxIdentifier")


@pytest.mark.parametrize("entity", ["Vendor", "Customer"])
async def test_active_in_true_false_query_matches_recording(company: Company, entity: str) -> None:
    [interaction] = _interactions("get/inactive_vendors.yml")
    recorded = _recorded_json(interaction, "response")
    vendors = recorded["QueryResponse"]["Vendor"]
    if entity == "Vendor":
        await _seed(company, "Vendor", vendors)
    else:  # the same names and Active flags as customers
        await _seed(company, "Customer", [_as_customer(v) for v in vendors])
    uri = interaction["request"]["uri"].replace("FROM%20Vendor", f"FROM%20{entity}")
    response = await company.http.get(_our_path(uri, company), headers=company.headers)
    assert response.status_code == 200
    rows = _assert_same_query_shape(response.json(), recorded, entity, "Vendor")
    assert sorted((r["DisplayName"], r["Active"]) for r in rows) == sorted(
        (v["DisplayName"], v["Active"]) for v in vendors
    )
    if entity == "Vendor":
        by_name = {v["DisplayName"]: v for v in vendors}
        for row in rows:
            recorded_row = by_name[row["DisplayName"]]
            assert set(row) == set(recorded_row), row["DisplayName"]
            assert row["Balance"] == 0
            for key in VENDOR_FILLED:
                assert row.get(key) == recorded_row.get(key), (row["DisplayName"], key)


@pytest.mark.parametrize("entity", ["Vendor", "Customer"])
async def test_ampersand_in_a_query_matches_recording(company: Company, entity: str) -> None:
    [interaction] = _interactions("misc/ampersand.yml")
    recorded = _recorded_json(interaction, "response")
    [vendor] = recorded["QueryResponse"]["Vendor"]
    if entity == "Vendor":
        await _seed(company, "Vendor", [vendor])
    else:
        await _seed(company, "Customer", [_as_customer(vendor)])
    await company.create(entity, {"DisplayName": "Robertson"})  # "&" must not end the literal
    uri = interaction["request"]["uri"].replace("FROM%20Vendor", f"FROM%20{entity}")
    response = await company.http.get(_our_path(uri, company), headers=company.headers)
    assert response.status_code == 200
    [row] = _assert_same_query_shape(response.json(), recorded, entity, "Vendor")
    assert row["DisplayName"] == "Robertson & Associates"
    if entity == "Vendor":
        assert set(row) == set(vendor)
        assert row["CompanyName"] == row["PrintOnCheckName"] == "Robertson & Associates"


def _as_customer(vendor: dict[str, Any]) -> dict[str, Any]:
    return {"DisplayName": vendor["DisplayName"], "Active": vendor["Active"]}


# --- invoices -----------------------------------------------------------------------------------


async def _invoice_prerequisites(company: Company) -> None:
    """Customer 1 (Amy's Bird Sanctuary, with her addresses) and Item 1 ("Services")."""
    amy = _recorded_rows("get/display_name.yml")["QueryResponse"]["Customer"]
    assert await _seed(company, "Customer", amy) == ["1"]
    assert (await company.service_item("Services"))["Id"] == "1"


async def _recorded_invoice(company: Company) -> dict[str, Any]:
    await _invoice_prerequisites(company)
    [interaction] = _interactions("create/invoice.yml")
    response = await _replay(company, interaction)
    assert response.status_code == 200, response.text
    return response.json()["Invoice"]  # type: ignore[no-any-return]


@_needs("Invoice")
async def test_create_invoice_matches_recording(company: Company) -> None:
    await _invoice_prerequisites(company)
    [interaction] = _interactions("create/invoice.yml")
    response = await _replay(company, interaction)
    assert response.status_code == interaction["response"]["status"]["code"]
    recorded = _recorded_json(interaction, "response")
    _assert_same_entity_shape(response.json(), recorded)
    ours = response.json()["Invoice"]
    assert [line["DetailType"] for line in ours["Line"]] == [
        line["DetailType"] for line in recorded["Invoice"]["Line"]
    ]
    for key in ("TotalAmt", "Balance"):
        assert ours[key] == recorded["Invoice"][key]
    assert ours["CustomerRef"] == recorded["Invoice"]["CustomerRef"]


@_needs("Invoice")
async def test_read_then_delete_invoice_matches_recording(company: Company) -> None:
    read, delete = _interactions("delete/invoice.yml")
    invoice = await _recorded_invoice(company)
    response = await _replay(company, read, path=company.path(f"invoice/{invoice['Id']}"))
    assert response.status_code == 200
    _assert_same_entity_shape(response.json(), _recorded_json(read, "response"))

    path = company.path("invoice?operation=delete")
    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    response = await _replay(company, delete, path=path, body=body)
    recorded = _recorded_json(delete, "response")
    assert response.status_code == 200
    ours = response.json()
    assert set(ours) == set(recorded)
    assert set(ours["Invoice"]) == set(recorded["Invoice"])
    assert ours["Invoice"] == {"domain": "QBO", "status": "Deleted", "Id": invoice["Id"]}
    gone = await company.get("Invoice", invoice["Id"])
    assert (gone.status_code, gone.json()["Fault"]["Error"][0]["code"]) == (400, "610")


@_needs("Invoice")
async def test_read_then_void_invoice_matches_recording(company: Company) -> None:
    read, void = _interactions("void/invoice.yml")
    invoice = await _recorded_invoice(company)
    response = await _replay(company, read, path=company.path(f"invoice/{invoice['Id']}"))
    assert response.status_code == 200
    _assert_same_entity_shape(response.json(), _recorded_json(read, "response"))

    body = {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}
    response = await _replay(company, void, body=body)  # /v3/invoice?operation=void
    recorded = _recorded_json(void, "response")
    assert response.status_code == 200, response.text
    _assert_same_entity_shape(response.json(), recorded)
    ours = response.json()["Invoice"]
    for key in ("SyncToken", "TotalAmt", "Balance"):
        assert ours[key] == recorded["Invoice"][key]
    assert ours["PrivateNote"].startswith("Voided")
    assert [line["Amount"] for line in ours["Line"]] == [0, 0]


@_needs("Invoice")
async def test_unrecognized_property_on_invoice_matches_recording(company: Company) -> None:
    [interaction] = _interactions("error/400_json.yml")
    response = await _replay(company, interaction)  # literally: POST /invoice {"BadJson":true}
    assert response.status_code == 400
    _assert_same_fault_shape(response.json(), _recorded_json(interaction, "response"))
    assert "BadJson" in response.json()["Fault"]["Error"][0]["Detail"]


# --- batch and CDC ------------------------------------------------------------------------------


@_needs("Invoice")
async def test_batch_matches_recording(company: Company) -> None:
    """bid1 creates a Vendor (as recorded), bid2 deletes an Invoice that does not exist (610),
    bid3 updates with a stale SyncToken (a Customer for the SalesReceipt: 5010), bid4 queries
    (Invoices over 300 for the SalesReceipts)."""
    [interaction] = _interactions("batch/basic.yml")
    recorded = _recorded_json(interaction, "response")
    recorded_items = _recorded_json(interaction, "request")["BatchItemRequest"]
    await _invoice_prerequisites(company)
    raced = await company.create("Customer", {"DisplayName": "Raced"})
    await company.update("Customer", {**raced, "Notes": "changed by someone else"})
    line = {
        "Amount": 337.50,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 4.5, "UnitPrice": 75},
    }
    for _ in range(2):
        await company.create("Invoice", {"CustomerRef": {"value": "1"}, "Line": [line]})

    items = [
        recorded_items[0],
        recorded_items[1],
        {
            "bId": "bid3",
            "operation": "update",
            "Customer": {"Id": raced["Id"], "SyncToken": "0", "sparse": True, "Notes": "mine"},
        },
        {"bId": "bid4", "Query": recorded_items[3]["Query"].replace("SalesReceipt", "Invoice")},
    ]
    response = await _replay(company, interaction, body={"BatchItemRequest": items})
    assert response.status_code == interaction["response"]["status"]["code"]
    ours = response.json()
    assert list(ours) == list(recorded)
    renamed = {"SalesReceipt": "Invoice"}
    for our_item, recorded_item in zip(
        ours["BatchItemResponse"], recorded["BatchItemResponse"], strict=True
    ):
        assert list(our_item) == [renamed.get(key, key) for key in recorded_item]
        assert our_item["bId"] == recorded_item["bId"]
        if "Fault" in recorded_item:
            assert our_item["Fault"]["type"] == recorded_item["Fault"]["type"]
            [our_error] = our_item["Fault"]["Error"]
            [recorded_error] = recorded_item["Fault"]["Error"]
            assert set(our_error) == set(recorded_error)
            assert (our_error["code"], our_error["Message"]) == (
                recorded_error["code"],
                recorded_error["Message"],
            )
    created = ours["BatchItemResponse"][0]["Vendor"]
    recorded_vendor = recorded["BatchItemResponse"][0]["Vendor"]
    assert set(created) == set(recorded_vendor)
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    for key in ("DisplayName", "Balance", *VENDOR_FILLED):
        assert created.get(key) == recorded_vendor.get(key), key
    query = ours["BatchItemResponse"][3]["QueryResponse"]
    recorded_query = recorded["BatchItemResponse"][3]["QueryResponse"]
    assert set(query) == {renamed.get(key, key) for key in recorded_query}
    assert query["maxResults"] == recorded_query["maxResults"] == len(query["Invoice"])


ESTIMATE_ONLY = (
    "this case creates estimates and asks CDC for them, as cdc/basic.yml does (serving Estimate "
    "is not planned); the [Invoice] case replays the same recording with Invoice, a sales form "
    "of the same shape, in Estimate's place"
)


@pytest.mark.parametrize(
    "entity",
    [pytest.param("Estimate", marks=_needs("Estimate", ESTIMATE_ONLY)), pytest.param("Invoice")],
)
async def test_cdc_matches_recording(company: Company, entity: str) -> None:
    """The envelope of cdc/basic.yml. The recording asks back to 2011 (QBO answered then);
    the documented 30-day window is enforced here, so the replay asks for the last hour."""
    [interaction] = _interactions("cdc/basic.yml")
    recorded = _recorded_json(interaction, "response")
    await _invoice_prerequisites(company)
    since = (clock.now() - timedelta(hours=1)).isoformat(timespec="seconds")
    line = {
        "Amount": 300,
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": {"ItemRef": {"value": "1"}, "Qty": 4, "UnitPrice": 75},
    }
    ids = [
        (await company.create(entity, {"CustomerRef": {"value": "1"}, "Line": [line]}))["Id"]
        for _ in range(2)
    ]
    response = await company.http.get(
        company.path("cdc"),
        params={"changedSince": since, "entities": entity.lower()},
        headers=company.headers,
    )
    assert response.status_code == interaction["response"]["status"]["code"]
    ours = response.json()
    assert list(ours) == list(recorded)
    [our_cdc], [recorded_cdc] = ours["CDCResponse"], recorded["CDCResponse"]
    assert list(our_cdc) == list(recorded_cdc)
    [our_changes], [recorded_changes] = our_cdc["QueryResponse"], recorded_cdc["QueryResponse"]
    assert list(our_changes) == [entity if key == "Estimate" else key for key in recorded_changes]
    assert [record["Id"] for record in our_changes[entity]] == ids
    assert our_changes["maxResults"] == 2
    system = {"domain", "sparse", "Id", "SyncToken", "MetaData"}
    for record in our_changes[entity]:
        assert system <= set(record)
