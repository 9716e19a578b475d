"""Injected faults: every kind, how calls match, and how `times`/`fraction` count."""

from __future__ import annotations

import time
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from tests.sandbox.helpers import Company, fault

XML_NS = {"qbo": "http://schema.intuit.com/finance/v3"}


async def inject(company: Company, **spec: Any) -> str:
    response = await company.http.post(f"/__sandbox/realms/{company.realm_id}/faults", json=spec)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


async def listed(company: Company) -> list[dict[str, Any]]:
    response = await company.http.get(f"/__sandbox/realms/{company.realm_id}/faults")
    assert response.status_code == 200
    return response.json()["faults"]  # type: ignore[no-any-return]


async def customers(company: Company) -> list[str]:
    return [c["DisplayName"] for c in (await company.state()).get("Customer", [])]


# --- the kinds --------------------------------------------------------------------------------


async def test_status_fault_answers_a_server_fault_without_writing(company: Company) -> None:
    await inject(company, kind="status", status=503, path="customer", method="POST")
    response = await company.post("Customer", {"DisplayName": "Not Yet"})
    assert response.status_code == 503
    assert response.headers["intuit_tid"]
    body = response.json()
    assert set(body) == {"Fault", "time"}
    assert body["Fault"]["type"] == "SystemFault"
    assert body["Fault"]["Error"][0]["code"] == "10000"
    assert await customers(company) == []

    assert (await company.post("Customer", {"DisplayName": "Not Yet"})).status_code == 200
    log = await company.request_log()
    assert [(e["status"], e["injected"]) for e in log] == [(503, "status"), (200, None)]


async def test_status_fault_defaults_to_500_and_can_answer_xml(company: Company) -> None:
    await inject(company, kind="status", path="account/*")
    assert (await company.get("Account", "1")).status_code == 500
    await inject(company, kind="status", path="account/*", format="xml")
    response = await company.get("Account", "1")
    assert response.status_code == 500
    assert response.headers["content-type"].startswith("application/xml")
    error = ET.fromstring(response.text).find("qbo:Fault/qbo:Error", XML_NS)
    assert error is not None and error.get("code") == "10000"


async def test_throttle_fault_answers_429_with_retry_after(company: Company) -> None:
    await inject(company, kind="throttle", seconds=7, path="query")
    response = await company.query("SELECT * FROM Account")
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "7"
    assert response.json() == {
        "Fault": {
            "Error": [
                {
                    "Message": "message=ThrottleExceeded; errorCode=003001; statusCode=429",
                    "Detail": "The request limit was reached.",
                    "code": "3001",
                }
            ],
            "type": "ThrottlingFault",
        }
    }
    await inject(company, kind="throttle", path="query", format="xml")
    response = await company.query("SELECT * FROM Account")
    assert (response.status_code, response.headers["Retry-After"]) == (429, "60")
    root = ET.fromstring(response.text)
    assert root.tag == "{http://schema.intuit.com/finance/v3}IntuitResponse"
    fault_element = root.find("qbo:Fault", XML_NS)
    assert fault_element is not None and fault_element.get("type") == "ThrottlingFault"
    assert root.findtext("qbo:Fault/qbo:Error/qbo:Message", namespaces=XML_NS) == (
        "message=ThrottleExceeded; errorCode=003001; statusCode=429"
    )
    assert (await company.query("SELECT * FROM Account")).status_code == 200


async def test_delay_fault_sleeps_then_answers_normally(company: Company) -> None:
    await inject(company, kind="delay", seconds=0.3, path="account/1")
    started = time.monotonic()
    response = await company.get("Account", "1")
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.3
    log = await company.request_log()
    assert log[-1]["injected"] == "delay"


async def test_drop_after_commit_writes_once_and_the_retry_gets_the_original_reply(
    company: Company,
) -> None:
    await inject(company, kind="drop_after_commit", path="customer", method="POST")
    with pytest.raises(httpx.TransportError):
        await company.post("Customer", {"DisplayName": "Lost Reply"}, requestid="rid-lost")
    state = await company.state()
    assert [c["DisplayName"] for c in state["Customer"]] == ["Lost Reply"]

    retry = await company.post("Customer", {"DisplayName": "Lost Reply"}, requestid="rid-lost")
    assert retry.status_code == 200
    assert retry.json()["Customer"] == (await company.state())["Customer"][0]
    assert len((await company.state())["Customer"]) == 1
    log = await company.request_log()
    assert [(e["status"], e["replayed"], e["injected"]) for e in log] == [
        (200, False, "drop_after_commit"),
        (200, True, None),
    ]


async def test_drop_after_commit_is_a_transport_error_not_an_http_error(
    company: Company,
) -> None:
    await inject(company, kind="drop_after_commit", path="account/*")
    with pytest.raises((httpx.RemoteProtocolError, httpx.ReadError)):
        await company.get("Account", "1")


async def test_drop_before_performs_nothing(company: Company) -> None:
    await inject(company, kind="drop_before", path="customer")
    with pytest.raises(httpx.TransportError):
        await company.post("Customer", {"DisplayName": "Never Sent"}, requestid="rid-drop")
    assert await customers(company) == []
    retry = await company.post("Customer", {"DisplayName": "Never Sent"}, requestid="rid-drop")
    assert retry.status_code == 200
    log = await company.request_log()
    assert [(e["status"], e["replayed"], e["injected"]) for e in log] == [
        (None, False, "drop_before"),
        (200, False, None),
    ]


async def test_expire_token_fault_expires_the_access_tokens_before_auth(company: Company) -> None:
    await inject(company, kind="expire_token", path="*")
    response = await company.get("Account", "1")
    assert response.status_code == 401
    assert response.json()["fault"]["error"][0]["detail"].startswith("Token expired: ")
    # the tokens stay expired: a refresh is needed
    assert (await company.get("Account", "1")).status_code == 401
    assert (await company.request_log())[0]["injected"] == "expire_token"
    assert (await listed(company))[0]["hits"] == 1


async def test_stale_synctoken_fault_makes_an_update_fail_with_5010(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Raced"})
    await inject(company, kind="stale_synctoken", path="customer", method="POST")
    # a create is no update: the fault waits for one
    await company.create("Customer", {"DisplayName": "Bystander"})
    [waiting] = await listed(company)
    assert (waiting["remaining"], waiting["hits"]) == (1, 0)

    update = {"Id": created["Id"], "SyncToken": "0", "sparse": True, "Notes": "mine"}
    assert fault(await company.post("Customer", update))["code"] == "5010"
    current = (await company.get("Customer", created["Id"])).json()["Customer"]
    assert current["SyncToken"] == "1"
    assert "Notes" not in current
    again = await company.post("Customer", update | {"SyncToken": "1"})
    assert again.status_code == 200 and again.json()["Customer"]["SyncToken"] == "2"
    assert [e["injected"] for e in await company.request_log()] == [
        None,
        None,
        "stale_synctoken",
        None,
        None,
    ]


async def test_stale_synctoken_fault_on_an_unknown_record_is_not_used_up(company: Company) -> None:
    await inject(company, kind="stale_synctoken", path="customer")
    missing = {"Id": "999", "SyncToken": "0", "sparse": True, "Notes": "x"}
    assert fault(await company.post("Customer", missing))["code"] == "610"
    assert (await listed(company))[0]["remaining"] == 1


# --- matching and counting --------------------------------------------------------------------


async def test_times_counts_only_the_calls_a_fault_affected(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "Seen"})
    fault_id = await inject(company, kind="status", path="customer", method="POST", times=2)
    assert (await company.get("Customer", "1")).status_code == 200  # path differs
    assert (await company.query("SELECT * FROM Customer")).status_code == 200  # path differs
    other = await company.http.get(company.path("customer"), headers=company.headers)
    assert other.status_code == 400  # method differs: QBO's own answer
    assert (await company.post("Customer", {"DisplayName": "A"})).status_code == 500
    assert (await company.post("Customer", {"DisplayName": "A"})).status_code == 500
    assert (await company.post("Customer", {"DisplayName": "A"})).status_code == 200
    assert await listed(company) == [
        {
            "id": fault_id,
            "kind": "status",
            "path": "customer",
            "method": "POST",
            "remaining": 0,
            "hits": 2,
            "seed": None,
        }
    ]


async def test_a_refused_token_does_not_use_a_fault_up(company: Company) -> None:
    await inject(company, kind="status", path="*")
    forged = await company.http.get(
        company.path("account/1"), headers={"Authorization": "Bearer forged"}
    )
    assert forged.status_code == 401
    assert (await listed(company))[0]["hits"] == 0
    assert (await company.get("Account", "1")).status_code == 500


async def test_globs_match_the_path_after_the_company(company: Company) -> None:
    await inject(company, kind="status", path="invoice*", times=None)
    await inject(company, kind="throttle", path="account/*", times=None)
    assert (await company.get("Account", "1")).status_code == 429
    assert (await company.query("SELECT * FROM Account")).status_code == 200
    invoice = await company.http.get(company.path("invoice/1"), headers=company.headers)
    assert invoice.status_code == 500
    assert (await company.create("Customer", {"DisplayName": "Fine"}))["Id"] == "1"


async def test_times_null_with_fraction_is_probabilistic(company: Company) -> None:
    never = await inject(company, kind="status", path="account/1", times=None, fraction=0.0)
    for _ in range(20):
        assert (await company.get("Account", "1")).status_code == 200
    await company.http.delete(f"/__sandbox/realms/{company.realm_id}/faults/{never}")

    await inject(company, kind="status", path="account/2", times=None, fraction=0.5)
    statuses = [(await company.get("Account", "2")).status_code for _ in range(200)]
    assert 40 <= statuses.count(500) <= 160
    assert set(statuses) == {200, 500}
    [half] = await listed(company)
    assert (half["remaining"], half["hits"]) == (None, statuses.count(500))


async def test_times_with_fraction_stops_after_times_hits(company: Company) -> None:
    await inject(company, kind="status", path="account/1", times=3, fraction=1.0)
    statuses = [(await company.get("Account", "1")).status_code for _ in range(5)]
    assert statuses == [500, 500, 500, 200, 200]


async def test_times_null_without_fraction_affects_every_call(company: Company) -> None:
    await inject(company, kind="status", path="account/1", times=None)
    statuses = {(await company.get("Account", "1")).status_code for _ in range(5)}
    assert statuses == {500}


async def test_faults_act_before_requestid_replay(company: Company) -> None:
    first = await company.post("Customer", {"DisplayName": "Kept"}, requestid="rid-order")
    await inject(company, kind="status", path="customer")
    assert (await company.post("Customer", {}, requestid="rid-order")).status_code == 500
    again = await company.post("Customer", {}, requestid="rid-order")
    assert again.content == first.content
    log = await company.request_log()
    assert [(e["replayed"], e["injected"]) for e in log] == [
        (False, None),
        (False, "status"),
        (True, None),
    ]


async def test_a_batch_is_one_call_for_faults(company: Company) -> None:
    await inject(company, kind="status", path="batch")
    body = {"BatchItemRequest": [{"bId": "1", "Query": "SELECT * FROM Account"}]}
    response = await company.http.post(company.path("batch"), json=body, headers=company.headers)
    assert response.status_code == 500
    response = await company.http.post(company.path("batch"), json=body, headers=company.headers)
    assert response.status_code == 200


async def test_delay_and_an_answer_fault_can_hit_one_call(company: Company) -> None:
    await inject(company, kind="delay", seconds=0.05, path="account/1")
    await inject(company, kind="status", path="account/1")
    assert (await company.get("Account", "1")).status_code == 500
    assert (await company.request_log())[-1]["injected"] == "delay+status"


# --- control API ------------------------------------------------------------------------------


async def test_faults_are_listed_and_deleted(company: Company) -> None:
    base = f"/__sandbox/realms/{company.realm_id}/faults"
    first = await inject(company, kind="delay", seconds=0.01)
    second = await inject(company, kind="drop_before", path="payment", method="post", times=4)
    assert first != second
    assert await listed(company) == [
        {
            "id": first,
            "kind": "delay",
            "path": "*",
            "method": None,
            "remaining": 1,
            "hits": 0,
            "seed": None,
        },
        {
            "id": second,
            "kind": "drop_before",
            "path": "payment",
            "method": "POST",
            "remaining": 4,
            "hits": 0,
            "seed": None,
        },
    ]
    assert (await company.http.delete(f"{base}/{first}")).status_code == 204
    assert [f["id"] for f in await listed(company)] == [second]
    assert (await company.http.delete(f"{base}/{first}")).status_code == 404
    assert (await company.http.delete(base)).status_code == 204
    assert await listed(company) == []


@pytest.mark.parametrize(
    "spec",
    [
        {},
        {"kind": "explode"},
        {"kind": "status", "status": 404},
        {"kind": "status", "times": 0},
        {"kind": "status", "times": 1.5},
        {"kind": "status", "fraction": 1.5},
        {"kind": "delay", "seconds": -1},
        {"kind": "throttle", "format": "yaml"},
        {"kind": "status", "method": "FETCH"},
        {"kind": "status", "path": ""},
        {"kind": "status", "colour": "red"},
    ],
)
async def test_bad_fault_specs_are_refused(company: Company, spec: dict[str, Any]) -> None:
    response = await company.http.post(f"/__sandbox/realms/{company.realm_id}/faults", json=spec)
    assert response.status_code == 400
    assert response.json()["error"]


async def test_faults_of_an_unknown_realm_are_404(http: httpx.AsyncClient) -> None:
    base = "/__sandbox/realms/123/faults"
    assert (await http.get(base)).status_code == 404
    assert (await http.post(base, json={"kind": "status"})).status_code == 404
    assert (await http.delete(base)).status_code == 404
    assert (await http.delete(f"{base}/fault-1")).status_code == 404


async def statuses_under_seeded_fault(company: Company, seed: int | str | None) -> list[int]:
    await company.http.delete(f"/__sandbox/realms/{company.realm_id}/faults")
    await inject(company, kind="status", path="account/1", times=None, fraction=0.5, seed=seed)
    return [(await company.get("Account", "1")).status_code for _ in range(40)]


async def test_a_seeded_fraction_fault_replays_the_same_decisions(company: Company) -> None:
    first = await statuses_under_seeded_fault(company, 424242)
    again = await statuses_under_seeded_fault(company, 424242)
    other = await statuses_under_seeded_fault(company, "another seed")
    assert first == again
    assert set(first) == {200, 500}
    assert other != first
    [fault] = await listed(company)
    assert fault["seed"] == "another seed"


async def test_a_seed_must_be_an_integer_or_a_string(company: Company) -> None:
    for seed in (True, 1.5, [1]):
        response = await company.http.post(
            f"/__sandbox/realms/{company.realm_id}/faults", json={"kind": "status", "seed": seed}
        )
        assert response.status_code == 400
        assert "seed" in response.json()["error"]


def test_the_sandbox_seed_replays_faults_added_without_one() -> None:
    from qbo_sandbox.injection import FaultInjector, parse_fault

    def draws(injector: FaultInjector, realm_id: str) -> list[bool]:
        injector.add(realm_id, parse_fault({"kind": "status", "times": None, "fraction": 0.5}))
        return [
            injector.take(realm_id, "GET", "account/1", ("status",)) is not None for _ in range(40)
        ]

    assert draws(FaultInjector(seed=7), "r1") == draws(FaultInjector(seed=7), "r1")
    assert draws(FaultInjector(seed=7), "r1") != draws(FaultInjector(seed=8), "r1")
    assert draws(FaultInjector(seed=7), "r1") != draws(FaultInjector(seed=7), "r2")
