"""Our answers have the shape of real QBO traffic recorded in ../shared/qbo-recordings.

Each recorded request is sent to a fresh sandbox company (realm and ids mapped to ours), and the
status, envelope keys, server-filled field names and fault shape are compared. Values are not
compared: they belong to Intuit's demo company. A fuller replay comes with a later issue.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import yaml

from tests.processes import REPO_ROOT
from tests.sandbox.helpers import Company

RECORDINGS = REPO_ROOT.parent / "shared" / "qbo-recordings"

pytestmark = pytest.mark.skipif(
    not RECORDINGS.is_dir(), reason=f"QBO recordings not found at {RECORDINGS}"
)

# Server-filled fields the recordings show that this sandbox deliberately leaves out:
# tax codes are not modelled yet, so no DefaultTaxCodeRef.
NOT_EMULATED = {"DefaultTaxCodeRef"}


def _interactions(relative: str) -> list[dict[str, Any]]:
    document = yaml.safe_load((RECORDINGS / relative).read_text())
    return document["http_interactions"]  # type: ignore[no-any-return]


def _recorded_json(interaction: dict[str, Any], side: str) -> Any:
    text = interaction[side]["body"]["string"]
    return json.loads(text) if text else None


def _our_path(recorded_uri: str, company: Company) -> str:
    """Recorded paths use -COMPANY_ID- (or omit the company); ours name the test's realm."""
    path = urlsplit(recorded_uri).path
    path = path.replace("/v3/company/-COMPANY_ID-/", "/v3/")
    return path.replace("/v3/", f"/v3/company/{company.realm_id}/", 1)


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
