"""The HTTP contract of docs/API.md, over real HTTP against a real worker and the sandbox."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from starter.dispatch import IN_PROGRESS
from starter.signing import sign
from store import Store
from tests.conftest import Company
from tests.events import customer, event_json, item
from tests.processes import SIGNING_SECRET

pytestmark = pytest.mark.usefixtures("worker")


async def follow(http: httpx.AsyncClient, api: str, event_id: str) -> dict[str, object]:
    for _ in range(300):
        state = (await http.get(f"{api}/events/{event_id}")).json()
        if state["status"] not in IN_PROGRESS:
            return dict(state)
        await asyncio.sleep(0.1)
    raise TimeoutError(event_id)


async def test_event_is_accepted_once_and_can_be_followed(
    api: str, http: httpx.AsyncClient, company: Company
) -> None:
    body = event_json(company.company_id, "customer.saved", {"customer": customer("cust_api_1")})
    first = await http.post(f"{api}/events", json=body)
    again = await http.post(f"{api}/events", json=body)
    assert first.status_code == again.status_code == 202
    assert first.json()["status"] == "accepted"
    assert again.json() == {**first.json(), "status": "duplicate"}
    assert first.json()["workflow_id"].startswith(f"{company.company_id}/customer/cust_api_1/")

    state = await follow(http, api, body["event_id"])
    assert state["status"] == "completed"
    assert state["message"] == "Customer Jane Smith created in QuickBooks"
    assert str(state["temporal_ui_url"]).endswith(
        "/namespaces/default/workflows/" + first.json()["workflow_id"].replace("/", "%2F")
    )
    assert (await http.get(f"{api}/events/evt_never_sent")).status_code == 404


async def test_malformed_events_answer_422_with_the_field_errors(
    api: str, http: httpx.AsyncClient, company: Company
) -> None:
    bad_amount = event_json(
        company.company_id, "product.saved", {"item": item("p1", price="12.345")}
    )
    reply = await http.post(f"{api}/events", json=bad_amount)
    assert reply.status_code == 422
    (error,) = reply.json()["detail"]
    assert error["loc"][-1] == "unit_price" and "two decimal places" in error["msg"]

    unknown_type = event_json(company.company_id, "pool.drained", {})
    reply = await http.post(f"{api}/events", json=unknown_type)
    assert reply.status_code == 422 and "pool.drained" in json.dumps(reply.json())

    missing = event_json(company.company_id, "customer.saved", {"customer": {"first_name": "A"}})
    reply = await http.post(f"{api}/events", json=missing)
    assert reply.status_code == 422
    assert ["body", *reply.json()["detail"][0]["loc"][-3:]] == ["body", "data", "customer", "id"]

    reply = await http.post(f"{api}/events", content=b"{not json")
    assert reply.status_code == 422


@pytest.mark.parametrize(
    ("quantity", "price", "field"),
    [("1e999999", "30.00", "quantity"), ("1", "1e30", "unit_price"), ("NaN", "30.00", "quantity")],
)
async def test_numbers_beyond_the_contract_answer_422_not_202_then_a_wedged_lane(
    api: str, http: httpx.AsyncClient, company: Company, quantity: str, price: str, field: str
) -> None:
    line = {"item_id": "p1", "item_type": "product", "quantity": quantity, "unit_price": price}
    invoice = {
        "id": "inv_1", "number": "1", "customer_id": "c1", "issued_on": "2030-01-01",
        "created_at": "2030-01-01T00:00:00Z", "lines": [{**line, "amount": "30.00"}],
        "total": "30.00", "amount_due": "30.00",
    }  # fmt: skip
    body = event_json(company.company_id, "invoice.saved", {"invoice": invoice})
    reply = await http.post(f"{api}/events", json=body)
    assert reply.status_code == 422, reply.text
    assert field in {str(error["loc"][-1]) for error in reply.json()["detail"]}


async def test_no_connection_or_sync_off_answers_409_and_queues_nothing(
    api: str, http: httpx.AsyncClient, store: Store, company: Company
) -> None:
    unknown = event_json("co_nobody", "customer.saved", {"customer": customer("c1")})
    reply = await http.post(f"{api}/events", json=unknown)
    assert reply.status_code == 409 and "no QuickBooks connection" in reply.json()["detail"]

    await store.update_settings(company.company_id, sync_enabled=False)
    off = event_json(company.company_id, "customer.saved", {"customer": customer("c1")})
    reply = await http.post(f"{api}/events", json=off)
    assert reply.status_code == 409 and "switched off" in reply.json()["detail"]
    assert await store.get_event(off["event_id"]) is None


async def test_signed_events_are_checked(
    signed_api: str, http: httpx.AsyncClient, company: Company
) -> None:
    body = json.dumps(
        event_json(company.company_id, "customer.saved", {"customer": customer("cust_sig")})
    ).encode()
    headers = {"content-type": "application/json"}
    unsigned = await http.post(f"{signed_api}/events", content=body, headers=headers)
    assert unsigned.status_code == 401
    forged = await http.post(
        f"{signed_api}/events",
        content=body,
        headers={**headers, "X-Signature": sign("wrong", body)},
    )
    assert forged.status_code == 401 and "does not match" in forged.json()["detail"]
    stale = await http.post(
        f"{signed_api}/events",
        content=body,
        headers={**headers, "X-Signature": sign(SIGNING_SECRET, body, timestamp=1_700_000_000)},
    )
    assert stale.status_code == 401 and "older than 5 minutes" in stale.json()["detail"]
    good = await http.post(
        f"{signed_api}/events",
        content=body,
        headers={**headers, "X-Signature": sign(SIGNING_SECRET, body)},
    )
    assert good.status_code == 202


async def test_settings_choose_accounts_from_the_qbo_chart_and_set_the_sync_start(
    api: str, http: httpx.AsyncClient, store: Store, company: Company
) -> None:
    await store.update_settings(company.company_id, sync_enabled=False)
    accounts = (await http.get(f"{api}/companies/{company.company_id}/quickbooks/accounts")).json()
    by_name = {a["name"]: a for a in accounts}
    assert by_name["Undeposited Funds"]["sub_type"] == "UndepositedFunds"
    assert by_name["Checking"]["type"] == "Bank"

    url = f"{api}/companies/{company.company_id}/quickbooks/settings"
    wrong = await http.put(url, json={"income_account_id": "9999", "sync_enabled": True})
    assert wrong.status_code == 422 and "9999" in json.dumps(wrong.json())

    chosen = {
        "income_account_id": by_name["Services"]["id"],
        "deposit_account_id": by_name["Undeposited Funds"]["id"],
        "refund_account_id": by_name["Checking"]["id"],
        "sync_enabled": True,
    }
    saved = await http.put(url, json=chosen)
    assert saved.status_code == 200
    assert saved.json()["sync_started_at"] is not None
    assert {k: saved.json()[k] for k in chosen} == chosen
    assert (await http.get(url)).json() == saved.json()
    assert (await http.get(f"{api}/companies/co_nobody/quickbooks/settings")).status_code == 404


async def test_activity_log_as_json_and_as_a_page(
    api: str, http: httpx.AsyncClient, company: Company
) -> None:
    for n, name in enumerate(["Ann", "Bob"]):
        body = event_json(
            company.company_id,
            "customer.saved",
            {"customer": customer(f"cust_log_{n}", first=name)},
        )
        assert (await http.post(f"{api}/events", json=body)).status_code == 202
        assert (await follow(http, api, body["event_id"]))["status"] == "completed"

    entries = (await http.get(f"{api}/companies/{company.company_id}/activity")).json()
    assert [e["record_id"] for e in entries] == ["cust_log_1", "cust_log_0"]  # newest first
    assert {e["outcome"] for e in entries} == {"success"}
    assert entries[0]["qbo_type"] == "Customer" and entries[0]["workflow_id"]
    limited = (await http.get(f"{api}/companies/{company.company_id}/activity?limit=1")).json()
    assert len(limited) == 1

    page = await http.get(
        f"{api}/companies/{company.company_id}/activity", headers={"accept": "text/html"}
    )
    assert page.headers["content-type"].startswith("text/html")
    assert "Customer Bob Smith created in QuickBooks" in page.text


async def test_connect_flow_stores_the_company_and_disconnect_revokes_it(
    api: str, http: httpx.AsyncClient, store: Store, sandbox_url: str
) -> None:
    company_id = "co_connect_flow"
    start = await http.get(f"{api}/companies/{company_id}/quickbooks/connect")
    assert start.status_code == 302
    authorize = httpx.URL(start.headers["location"])
    assert str(authorize).startswith(f"{sandbox_url}/connect/oauth2")
    assert authorize.params["response_type"] == "code"
    assert authorize.params["scope"] == "com.intuit.quickbooks.accounting"
    assert authorize.params["redirect_uri"] == f"{api}/quickbooks/callback"
    assert company_id not in authorize.params["state"]  # sealed, not readable

    approved = await http.get(authorize)  # the sandbox approves at once
    assert approved.status_code == 302
    callback = httpx.URL(approved.headers["location"])
    assert callback.params["state"] == authorize.params["state"] and callback.params["realmId"]
    done = await http.get(callback)
    assert done.status_code == 302
    assert done.headers["location"] == f"/companies/{company_id}/quickbooks/settings"

    conn = await store.get_connection(company_id)
    assert conn is not None and conn.realm_id == callback.params["realmId"]
    assert (conn.status, conn.sync_enabled) == ("connected", False)  # connecting is not syncing
    accounts = await http.get(f"{api}/companies/{company_id}/quickbooks/accounts")
    assert accounts.status_code == 200 and len(accounts.json()) >= 5

    # The code is single-use: replaying the callback fails cleanly.
    assert (await http.get(callback)).status_code == 502
    tampered = callback.copy_set_param("state", "x" + callback.params["state"][1:])
    assert (await http.get(tampered)).status_code == 400

    refresh_token = (await store.load_tokens(conn.realm_id)).refresh_token
    gone = await http.delete(f"{api}/companies/{company_id}/quickbooks/connection")
    assert gone.status_code == 200
    assert (gone.json()["connection_status"], gone.json()["sync_enabled"]) == (
        "disconnected",
        False,
    )
    refresh = await http.post(
        f"{sandbox_url}/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        auth=("skimmer-dev", "skimmer-dev-secret"),
    )
    assert refresh.status_code == 400 and refresh.json()["error"] == "invalid_grant"
    body = event_json(company_id, "customer.saved", {"customer": customer("c1")})
    assert (await http.post(f"{api}/events", json=body)).status_code == 409

    # Reconnecting works again and lands on the same company.
    again = await http.get(f"{api}/companies/{company_id}/quickbooks/connect")
    back = await http.get(
        httpx.URL(again.headers["location"]).copy_set_param("realm_id", conn.realm_id)
    )
    assert (await http.get(back.headers["location"])).status_code == 302
    reconnected = await store.get_connection(company_id)
    assert reconnected is not None and reconnected.status == "connected"
    assert reconnected.realm_id == conn.realm_id
