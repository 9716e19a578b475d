"""API keys at the door (docs/API.md, "Access"): every protected route against each kind of key,
over real HTTP to the real API, with keys made in the real store."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from config import Settings
from store import Store
from tests.conftest import Company, connect_sandbox_company
from tests.events import customer, event_json, invoice, new_id, payment

pytestmark = pytest.mark.usefixtures("worker")


@dataclass
class Keys:
    """One key of each kind, for `company` and for another company."""

    own: str
    other_company: str
    revoked: str
    admin: str
    bad: str = "skq_" + "x" * 43


@pytest.fixture
async def keys(store: Store, company: Company, settings: Settings) -> Keys:
    _, own = await store.keys.create(company.company_id, "front office")
    _, other = await store.keys.create("co_someone_else")
    revoked_row, revoked = await store.keys.create(company.company_id, "old laptop")
    await store.keys.revoke(revoked_row.key_id)
    return Keys(own=own, other_company=other, revoked=revoked, admin=settings.admin_api_key)


@pytest.fixture
async def bare() -> AsyncIterator[httpx.AsyncClient]:
    """A client that sends only the headers a test gives it (no admin key)."""
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def failed_event(http: httpx.AsyncClient, api: str, company: Company) -> str:
    """A payment of $150.00 on a $120.00 invoice: it fails before QuickBooks sees it."""
    cid, iid, pid = new_id("cust"), new_id("inv"), new_id("pay")
    data = {
        "payment": payment(pid, iid, cid, "150.00"),
        "invoice": invoice(iid, cid, number="1043"),
        "customer": customer(cid),
    }
    body = event_json(company.company_id, "payment.recorded", data)
    assert (await http.post(f"{api}/events", json=body)).status_code == 202
    await until_failed(http, api, body["event_id"])
    return str(body["event_id"])


async def until_failed(http: httpx.AsyncClient, api: str, event_id: str) -> None:
    deadline = time.monotonic() + 60
    while (state := (await http.get(f"{api}/events/{event_id}")).json())["status"] != "failed":
        assert time.monotonic() < deadline, state
        await asyncio.sleep(0.1)


@dataclass
class Setting:
    """What one route of the matrix needs: the company, its failed event, the clients."""

    api: str
    http: httpx.AsyncClient  # carries the admin key
    company: Company
    store: Store
    sandbox_url: str
    event_id: str = ""


@dataclass(frozen=True)
class Route:
    method: str
    path: str  # {co}: the company; {event}: a failed event of it
    body: dict[str, Any] | None = None
    success: int = 200
    # Run after a call that got through, so the next kind of key finds the route as before.
    restore: Callable[[Setting], Awaitable[None]] | None = field(default=None, compare=False)

    def __str__(self) -> str:
        return f"{self.method} {self.path}"


async def fail_again(s: Setting) -> None:
    await until_failed(s.http, s.api, s.event_id)  # the retry fails as the first run did


async def reconnect(s: Setting) -> None:
    await connect_sandbox_company(s.sandbox_url, s.store, s.http, s.company.company_id)


PROTECTED = [
    Route("GET", "/events/{event}"),
    Route("GET", "/events/{event}/steps"),
    Route("POST", "/events/{event}/retry", success=202, restore=fail_again),
    Route("POST", "/companies/{co}/events/retry", success=202),
    Route("GET", "/companies/{co}/quickbooks/connect", success=302),
    Route("GET", "/companies/{co}/quickbooks/accounts"),
    Route("GET", "/companies/{co}/quickbooks/settings"),
    Route("PUT", "/companies/{co}/quickbooks/settings", body={"sync_enabled": True}),
    Route("DELETE", "/companies/{co}/quickbooks/connection", restore=reconnect),
    Route("POST", "/companies/{co}/reconcile", success=202),
    Route("GET", "/companies/{co}/activity"),
]


@pytest.mark.parametrize("route", PROTECTED, ids=str)
async def test_every_protected_route_lets_in_only_a_key_that_reaches_the_company(
    route: Route,
    api: str,
    http: httpx.AsyncClient,
    bare: httpx.AsyncClient,
    store: Store,
    company: Company,
    keys: Keys,
    sandbox_url: str,
) -> None:
    s = Setting(api, http, company, store, sandbox_url)
    if "{event}" in route.path:
        s.event_id = await failed_event(http, api, company)
    url = api + route.path.format(co=company.company_id, event=s.event_id)

    async def call(headers: dict[str, str]) -> httpx.Response:
        return await bare.request(route.method, url, json=route.body, headers=headers)

    for kind, headers in (
        ("no key", {}),
        ("a bad key", bearer(keys.bad)),
        ("a revoked key", bearer(keys.revoked)),
        ("a key sent another way", {"Authorization": f"Basic {keys.own}"}),
    ):
        refused = await call(headers)
        assert refused.status_code == 401, (kind, refused.text)
        assert refused.headers["www-authenticate"].startswith("Bearer"), kind
    other = await call(bearer(keys.other_company))
    assert other.status_code == 403, other.text
    assert company.company_id in other.json()["detail"]  # which company it was refused for
    for kind, key in (("its company's key", keys.own), ("an admin key", keys.admin)):
        allowed = await call(bearer(key))
        assert allowed.status_code == route.success, (kind, allowed.text)
        if route.restore is not None:
            await route.restore(s)


async def test_the_open_routes_need_no_key(
    api: str, bare: httpx.AsyncClient, company: Company
) -> None:
    body = event_json(company.company_id, "customer.saved", {"customer": customer(new_id("c"))})
    assert (await bare.post(f"{api}/events", json=body)).status_code == 202  # signed, if at all
    assert (await bare.get(f"{api}/healthz")).status_code == 200
    assert (await bare.get(f"{api}/docs")).status_code == 200
    spec = (await bare.get(f"{api}/openapi.json")).json()
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"
    assert (await bare.get(f"{api}/readyz")).status_code == 200
    assert (await bare.get(f"{api}/metrics")).status_code == 200
    assert (await bare.get(f"{api}/sign-in")).status_code == 200
    bad_state = await bare.get(f"{api}/quickbooks/callback", params={"state": "x", "code": "c"})
    assert bad_state.status_code == 400  # bound by its state, not by a key


async def test_a_key_of_another_company_cannot_repoint_this_companys_quickbooks(
    api: str, bare: httpx.AsyncClient, store: Store, company: Company, keys: Keys
) -> None:
    connect = f"{api}/companies/{company.company_id}/quickbooks/connect"
    refused = await bare.get(connect, headers=bearer(keys.other_company))
    assert refused.status_code == 403 and "location" not in refused.headers
    assert "not " + company.company_id in refused.json()["detail"]
    anonymous = await bare.get(connect)
    assert anonymous.status_code == 401 and "location" not in anonymous.headers
    conn = await store.get_connection(company.company_id)
    assert conn is not None and conn.realm_id == company.realm_id  # untouched
    started = await bare.get(connect, headers=bearer(keys.own))
    assert started.status_code == 302 and "state=" in started.headers["location"]


async def test_a_company_key_follows_only_its_own_events_and_an_unknown_one_is_404(
    api: str, bare: httpx.AsyncClient, keys: Keys
) -> None:
    unknown = f"{api}/events/evt_never_sent"
    assert (await bare.get(unknown, headers=bearer(keys.own))).status_code == 404
    assert (await bare.get(unknown, headers=bearer(keys.admin))).status_code == 404
    assert (await bare.get(unknown)).status_code == 401  # no key: not even whether it exists


async def test_a_browser_asking_for_a_page_without_a_key_is_sent_to_sign_in(
    api: str, bare: httpx.AsyncClient, company: Company
) -> None:
    page = f"/companies/{company.company_id}/activity?limit=5"
    sent = await bare.get(api + page, headers={"accept": "text/html"})
    assert sent.status_code == 303
    assert httpx.URL(sent.headers["location"]).params["next"] == page
    asked_as_json = await bare.get(api + page)
    assert asked_as_json.status_code == 401  # programs get the 401, not a page


async def test_signing_in_keeps_a_session_not_the_key_and_signing_out_or_revoking_ends_it(
    api: str, bare: httpx.AsyncClient, store: Store, company: Company
) -> None:
    row, key = await store.keys.create(company.company_id)
    page = f"/companies/{company.company_id}/activity"
    origin = {"origin": api}
    wrong = await bare.post(
        f"{api}/sign-in", data={"key": "skq_nope", "next": page}, headers=origin
    )
    assert (
        wrong.status_code == 401 and "not valid" in wrong.text and "set-cookie" not in wrong.headers
    )
    elsewhere = await bare.post(
        f"{api}/sign-in", data={"key": key, "next": "//evil.example/x"}, headers=origin
    )
    assert elsewhere.headers["location"] == page  # never sent to another site; its own page
    signed = await bare.post(f"{api}/sign-in", data={"key": key, "next": page}, headers=origin)
    assert signed.status_code == 303 and signed.headers["location"] == page
    cookie = signed.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie and key not in cookie
    token = signed.cookies["skimmer_session"]

    async def with_session(
        method: str, path: str, headers: dict[str, str] | None = None
    ) -> httpx.Response:
        bare.cookies.clear()  # only the token given: what a browser holding it would send
        cookie = {"cookie": f"skimmer_session={token}"}
        return await bare.request(method, api + path, headers={**cookie, **(headers or {})})

    assert (await with_session("GET", page)).status_code == 200
    assert (await with_session("GET", "/companies/co_other/activity")).status_code == 403
    forged = await with_session(
        "POST", f"/companies/{company.company_id}/events/retry", headers={"origin": "http://evil"}
    )
    assert forged.status_code == 403  # a change by cookie must come from our own pages
    ours = await with_session(
        "POST", f"/companies/{company.company_id}/events/retry", headers=origin
    )
    assert ours.status_code == 202

    out = await with_session("POST", "/sign-out")
    assert out.status_code == 303 and out.headers["location"] == "/sign-in"
    assert (
        await with_session("GET", page)
    ).status_code == 401  # ended in the store, not only the cookie

    again = await bare.post(f"{api}/sign-in", data={"key": key, "next": page}, headers=origin)
    token = again.cookies["skimmer_session"]
    assert (await with_session("GET", page)).status_code == 200
    await store.keys.revoke(row.key_id)
    assert (await with_session("GET", page)).status_code == 401
