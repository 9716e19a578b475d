"""Request limits per company: per minute, per second, in flight and batch calls per minute →
429 ThrottlingFault with Retry-After."""

from __future__ import annotations

import asyncio
import xml.etree.ElementTree as ET
from typing import Any

import httpx
import pytest

from qbo_sandbox.__main__ import parse_args
from qbo_sandbox.limits import Limits, LimitSettings
from tests.processes import running_sandbox
from tests.sandbox.helpers import Company

THROTTLED = {
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


async def set_limits(company: Company, **limits: Any) -> dict[str, Any]:
    response = await company.http.put(f"/__sandbox/realms/{company.realm_id}/limits", json=limits)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


async def test_limits_are_off_by_default_and_set_per_company(company: Company) -> None:
    url = f"/__sandbox/realms/{company.realm_id}/limits"
    off = {
        "per_minute": None,
        "per_second": None,
        "concurrent": None,
        "batch_per_minute": None,
        "format": "json",
    }
    assert (await company.http.get(url)).json() == off
    assert await set_limits(company, per_minute=500, concurrent=10) == {
        **off,
        "per_minute": 500,
        "concurrent": 10,
    }
    assert (await company.http.get(url)).json()["per_minute"] == 500
    other = await Company.new(company.http)
    assert (await other.http.get(f"/__sandbox/realms/{other.realm_id}/limits")).json() == off
    assert await set_limits(company, per_minute=None, concurrent=None) == off


async def test_per_minute_limit_answers_429_with_retry_after(company: Company) -> None:
    await set_limits(company, per_minute=3)
    for _ in range(3):
        assert (await company.get("Account", "1")).status_code == 200
    refused = await company.get("Account", "1")
    assert refused.status_code == 429
    assert refused.json() == THROTTLED
    assert 1 <= int(refused.headers["Retry-After"]) <= 60
    assert refused.headers["intuit_tid"]
    # a throttled call does not count; lifting the limit lets calls through again
    await set_limits(company, per_minute=4)
    assert (await company.get("Account", "1")).status_code == 200
    assert (await company.get("Account", "1")).status_code == 429
    await set_limits(company, per_minute=None)
    assert (await company.get("Account", "1")).status_code == 200
    log = await company.request_log()
    assert [entry["status"] for entry in log] == [200, 200, 200, 429, 200, 429, 200]


async def test_throttle_can_answer_xml(company: Company) -> None:
    await set_limits(company, per_minute=1, format="xml")
    await company.get("Account", "1")
    refused = await company.get("Account", "1")
    assert refused.status_code == 429 and refused.headers["Retry-After"]
    assert refused.headers["content-type"].startswith("application/xml")
    ns = {"qbo": "http://schema.intuit.com/finance/v3"}
    error = ET.fromstring(refused.text).find("qbo:Fault/qbo:Error", ns)
    assert error is not None and error.get("code") == "3001"


async def test_concurrency_limit_refuses_calls_beyond_the_slots(company: Company) -> None:
    await set_limits(company, concurrent=2)
    fault = {"kind": "delay", "path": "query", "seconds": 0.5, "times": None}
    await company.http.post(f"/__sandbox/realms/{company.realm_id}/faults", json=fault)

    async def slow_query() -> httpx.Response:
        return await company.query("SELECT * FROM Account")

    first_two = [asyncio.create_task(slow_query()) for _ in range(2)]
    await asyncio.sleep(0.15)  # both are in flight, sleeping in the delay fault
    refused = await asyncio.gather(*(slow_query() for _ in range(3)))
    assert [r.status_code for r in refused] == [429, 429, 429]
    assert all(r.headers["Retry-After"] == "1" for r in refused)
    assert [r.status_code for r in await asyncio.gather(*first_two)] == [200, 200]
    # slots are given back once answered
    assert (await slow_query()).status_code == 200


async def test_parallel_burst_over_the_concurrency_limit(company: Company) -> None:
    await set_limits(company, per_minute=500, concurrent=10)
    fault = {"kind": "delay", "path": "query", "seconds": 0.3, "times": None, "fraction": 1.0}
    await company.http.post(f"/__sandbox/realms/{company.realm_id}/faults", json=fault)
    statuses = [
        r.status_code
        for r in await asyncio.gather(*(company.query("SELECT * FROM Account") for _ in range(15)))
    ]
    assert statuses.count(200) == 10 and statuses.count(429) == 5


async def test_per_second_limit_answers_429_until_the_second_has_passed(company: Company) -> None:
    await set_limits(company, per_second=3)
    answers = await asyncio.gather(*(company.get("Account", "1") for _ in range(5)))
    assert sorted(r.status_code for r in answers) == [200, 200, 200, 429, 429]
    await asyncio.sleep(1.05)  # the three counted calls have left the sliding second
    assert (await company.get("Account", "1")).status_code == 200


async def test_per_second_429_asks_to_wait_one_second(company: Company) -> None:
    await set_limits(company, per_second=1)
    assert (await company.get("Account", "1")).status_code == 200
    refused = await company.get("Account", "1")
    assert refused.status_code == 429
    assert refused.json() == THROTTLED
    assert refused.headers["Retry-After"] == "1"


async def batch_call(company: Company) -> httpx.Response:
    items = [{"bId": str(n), "Query": "SELECT * FROM Account"} for n in range(3)]
    return await company.http.post(
        company.path("batch"), json={"BatchItemRequest": items}, headers=company.headers
    )


async def test_batch_calls_per_minute_answer_429_and_leave_other_calls_alone(
    company: Company,
) -> None:
    await set_limits(company, batch_per_minute=2, per_minute=4)
    assert [(await batch_call(company)).status_code for _ in range(2)] == [200, 200]
    refused = await batch_call(company)
    assert refused.status_code == 429
    assert refused.json() == THROTTLED
    assert 58 <= int(refused.headers["Retry-After"]) <= 60
    # Only batch calls are held back; the refused batch did not count toward the minute.
    assert (await company.get("Account", "1")).status_code == 200
    assert (await company.query("SELECT * FROM Item")).status_code == 200
    assert (await company.get("Account", "1")).status_code == 429
    load = (await company.http.get(f"/__sandbox/realms/{company.realm_id}/load")).json()
    assert (load["accepted"], load["throttled"], load["last_minute"]) == (4, 2, 4)


async def test_a_batch_call_counts_toward_the_per_second_limit(company: Company) -> None:
    await set_limits(company, per_second=2)
    assert (await batch_call(company)).status_code == 200
    assert (await company.get("Account", "1")).status_code == 200
    assert (await batch_call(company)).status_code == 429


async def test_load_shows_the_peak_in_flight(company: Company) -> None:
    fault = {"kind": "delay", "path": "query", "seconds": 0.3, "times": None}
    await company.http.post(f"/__sandbox/realms/{company.realm_id}/faults", json=fault)
    await asyncio.gather(*(company.query("SELECT * FROM Account") for _ in range(4)))
    load = (await company.http.get(f"/__sandbox/realms/{company.realm_id}/load")).json()
    assert load["peak_in_flight"] == 4
    assert (load["in_flight"], load["accepted"], load["throttled"]) == (0, 4, 0)
    assert (await company.http.get("/__sandbox/realms/123/load")).status_code == 404


async def test_a_batch_counts_as_one_call(company: Company) -> None:
    await set_limits(company, per_minute=2)
    items = [{"bId": str(n), "Query": "SELECT * FROM Account"} for n in range(10)]
    response = await company.http.post(
        company.path("batch"), json={"BatchItemRequest": items}, headers=company.headers
    )
    assert response.status_code == 200
    assert (await company.get("Account", "1")).status_code == 200
    assert (await company.get("Account", "1")).status_code == 429


async def test_refused_tokens_do_not_count(company: Company) -> None:
    await set_limits(company, per_minute=1)
    forged = await company.http.get(
        company.path("account/1"), headers={"Authorization": "Bearer forged"}
    )
    assert forged.status_code == 401
    assert (await company.get("Account", "1")).status_code == 200


@pytest.mark.parametrize(
    "body",
    [
        {"per_minute": 0},
        {"per_minute": -5},
        {"concurrent": 1.5},
        {"concurrent": "ten"},
        {"per_minute": True},
        {"per_second": 0},
        {"batch_per_minute": "forty"},
        {"format": "html"},
        {"burst": 3},
        [],
    ],
)
async def test_bad_limits_are_refused(company: Company, body: Any) -> None:
    url = f"/__sandbox/realms/{company.realm_id}/limits"
    assert (await company.http.put(url, json=body)).status_code == 400


async def test_limits_of_an_unknown_realm_are_404(http: httpx.AsyncClient) -> None:
    assert (await http.get("/__sandbox/realms/123/limits")).status_code == 404
    assert (await http.put("/__sandbox/realms/123/limits", json={})).status_code == 404


def test_retry_after_counts_down_to_the_oldest_call_leaving_the_window() -> None:
    now = [1000.0]
    limits = Limits(LimitSettings(per_minute=2), monotonic=lambda: now[0])
    assert limits.admit("r") is None
    limits.release("r")
    now[0] += 20
    assert limits.admit("r") is None
    limits.release("r")
    now[0] += 10
    refused = limits.admit("r")
    assert refused is not None and refused.headers["Retry-After"] == "30"
    now[0] += 30
    assert limits.admit("r") is None


def test_limits_setting_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("QBO_SANDBOX_LIMITS", raising=False)
    assert parse_args([]).limits is False
    assert parse_args(["--limits"]).limits is True
    monkeypatch.setenv("QBO_SANDBOX_LIMITS", "1")
    assert parse_args([]).limits is True


def test_limits_flag_gives_every_new_company_qbo_numbers() -> None:
    with running_sandbox(extra_args=["--limits"]) as url, httpx.Client(base_url=url) as http:
        realm_id = http.post("/__sandbox/realms").json()["realm_id"]
        limits = http.get(f"/__sandbox/realms/{realm_id}/limits").json()
        assert limits == {
            "per_minute": 500,
            "per_second": 10,
            "concurrent": 10,
            "batch_per_minute": 40,
            "format": "json",
        }
