"""OAuth: authorize (auto-approved), code exchange, revoke, refresh-token expiry."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from qbo_sandbox.oauth import REFRESH_TOKEN_TTL_SECONDS, TokenStore
from tests.sandbox.helpers import Company

TOKEN_URL = "/oauth2/v1/tokens/bearer"
REVOKE_URL = "/v2/oauth2/tokens/revoke"
AUTHORIZE_URL = "/connect/oauth2"
REDIRECT_URI = "http://127.0.0.1:9/quickbooks/callback"
CLIENT = ("client-id", "client-secret")
GRANT_KEYS = {
    "token_type",
    "access_token",
    "expires_in",
    "refresh_token",
    "x_refresh_token_expires_in",
}


def authorize_params(**overrides: str | None) -> dict[str, str]:
    params: dict[str, str | None] = {
        "client_id": CLIENT[0],
        "response_type": "code",
        "scope": "com.intuit.quickbooks.accounting",
        "redirect_uri": REDIRECT_URI,
        "state": "opaque-state",
    }
    params.update(overrides)
    return {key: value for key, value in params.items() if value is not None}


async def authorize(http: httpx.AsyncClient, **overrides: str | None) -> httpx.URL:
    response = await http.get(AUTHORIZE_URL, params=authorize_params(**overrides))
    assert response.status_code == 302, response.text
    return httpx.URL(response.headers["location"])


async def exchange(
    http: httpx.AsyncClient,
    code: str,
    redirect_uri: str = REDIRECT_URI,
    client: tuple[str, str] = CLIENT,
) -> httpx.Response:
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
    return await http.post(TOKEN_URL, data=form, auth=client)


async def refresh(http: httpx.AsyncClient, refresh_token: str) -> httpx.Response:
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token}
    return await http.post(TOKEN_URL, data=form, auth=CLIENT)


async def revoke(http: httpx.AsyncClient, token: str, **kwargs: Any) -> httpx.Response:
    kwargs.setdefault("auth", CLIENT)
    return await http.post(REVOKE_URL, json={"token": token}, **kwargs)


async def api_status(http: httpx.AsyncClient, realm_id: str, access_token: str) -> int:
    response = await http.get(
        f"/v3/company/{realm_id}/account/1", headers={"Authorization": f"Bearer {access_token}"}
    )
    return response.status_code


def invalid_grant(response: httpx.Response) -> bool:
    return response.status_code == 400 and response.json() == {"error": "invalid_grant"}


# --- authorize --------------------------------------------------------------------------------


async def test_authorize_redirects_with_code_state_and_a_new_seeded_company(
    http: httpx.AsyncClient,
) -> None:
    callback = await authorize(http)
    assert str(callback).startswith(REDIRECT_URI + "?")
    assert callback.params["state"] == "opaque-state"
    assert callback.params["code"]
    realm_id = callback.params["realmId"]
    state = await http.get(f"/__sandbox/realms/{realm_id}")
    assert state.status_code == 200
    assert len(state.json()["entities"]["Account"]) == 11  # the seeded chart of accounts


async def test_authorize_keeps_the_redirect_query_and_can_pick_an_existing_company(
    company: Company,
) -> None:
    callback = await authorize(
        company.http, redirect_uri=REDIRECT_URI + "?tenant=7", realm_id=company.realm_id
    )
    assert callback.params["tenant"] == "7"
    assert callback.params["realmId"] == company.realm_id
    grant = await exchange(company.http, callback.params["code"], REDIRECT_URI + "?tenant=7")
    assert grant.status_code == 200
    assert await api_status(company.http, company.realm_id, grant.json()["access_token"]) == 200


@pytest.mark.parametrize(
    ("overrides", "error"),
    [
        ({"client_id": None}, "invalid_request"),
        ({"redirect_uri": None}, "invalid_request"),
        ({"state": None}, "invalid_request"),
        ({"response_type": "token"}, "unsupported_response_type"),
        ({"scope": "openid email"}, "invalid_scope"),
        ({"redirect_uri": "not a url"}, "invalid_request"),
        ({"realm_id": "123"}, "invalid_request"),
    ],
)
async def test_authorize_shows_an_error_page_for_a_bad_request(
    http: httpx.AsyncClient, overrides: dict[str, str | None], error: str
) -> None:
    response = await http.get(AUTHORIZE_URL, params=authorize_params(**overrides))
    assert response.status_code == 400
    assert response.headers["content-type"].startswith("text/html")
    assert error in response.text


async def test_scope_may_hold_more_than_accounting(http: httpx.AsyncClient) -> None:
    callback = await authorize(http, scope="openid com.intuit.quickbooks.accounting email")
    assert callback.params["code"]


# --- code exchange ----------------------------------------------------------------------------


async def test_code_exchange_gives_a_working_token_pair_once(http: httpx.AsyncClient) -> None:
    callback = await authorize(http)
    realm_id, code = callback.params["realmId"], callback.params["code"]
    response = await exchange(http, code)
    assert response.status_code == 200
    grant = response.json()
    assert set(grant) == GRANT_KEYS
    assert grant["token_type"] == "bearer" and grant["expires_in"] == 3600
    assert grant["x_refresh_token_expires_in"] == REFRESH_TOKEN_TTL_SECONDS
    assert await api_status(http, realm_id, grant["access_token"]) == 200
    assert (await refresh(http, grant["refresh_token"])).status_code == 200

    assert invalid_grant(await exchange(http, code))  # single use


async def test_code_exchange_needs_the_same_redirect_uri_and_client(
    http: httpx.AsyncClient,
) -> None:
    code = (await authorize(http)).params["code"]
    assert invalid_grant(await exchange(http, code, redirect_uri=REDIRECT_URI + "/other"))
    # any attempt spends the code
    assert invalid_grant(await exchange(http, code))

    code = (await authorize(http)).params["code"]
    assert invalid_grant(await exchange(http, code, client=("someone-else", "secret")))


async def test_code_exchange_errors(http: httpx.AsyncClient) -> None:
    assert invalid_grant(await exchange(http, "sbx-ac-unknown"))
    missing = await http.post(
        TOKEN_URL, data={"grant_type": "authorization_code", "code": "x"}, auth=CLIENT
    )
    assert (missing.status_code, missing.json()) == (400, {"error": "invalid_request"})
    no_client = await http.post(
        TOKEN_URL,
        data={"grant_type": "authorization_code", "code": "x", "redirect_uri": REDIRECT_URI},
    )
    assert (no_client.status_code, no_client.json()) == (401, {"error": "invalid_client"})
    other = await http.post(TOKEN_URL, data={"grant_type": "password"}, auth=CLIENT)
    assert other.json() == {"error": "unsupported_grant_type"}


def test_codes_expire_after_ten_minutes() -> None:
    now = [1_000.0]
    store = TokenStore(3600, clock=lambda: now[0])
    late = store.new_code("r", "client", REDIRECT_URI)
    in_time = store.new_code("r", "client", REDIRECT_URI)
    now[0] += 599
    assert store.redeem_code(in_time, "client", REDIRECT_URI) is not None
    now[0] += 1
    assert store.redeem_code(late, "client", REDIRECT_URI) is None


# --- revoke -----------------------------------------------------------------------------------


async def test_revoking_a_refresh_token_ends_its_grant_only(company: Company) -> None:
    http = company.http
    callback = await authorize(http, realm_id=company.realm_id)
    grant = (await exchange(http, callback.params["code"])).json()
    rotated = (await refresh(http, grant["refresh_token"])).json()

    response = await revoke(http, rotated["refresh_token"])
    assert response.status_code == 200
    assert invalid_grant(await refresh(http, rotated["refresh_token"]))
    for access_token in (grant["access_token"], rotated["access_token"]):
        assert await api_status(http, company.realm_id, access_token) == 401
    # the company's other connection (the control API's grant) is untouched
    assert await api_status(http, company.realm_id, company.access_token) == 200
    assert (await refresh(http, company.refresh_token)).status_code == 200


async def test_revoking_an_access_token_ends_its_grant(company: Company) -> None:
    assert (await revoke(company.http, company.access_token)).status_code == 200
    assert await api_status(company.http, company.realm_id, company.access_token) == 401
    assert invalid_grant(await refresh(company.http, company.refresh_token))


async def test_revoke_answers_200_for_unknown_tokens_and_checks_the_request(
    http: httpx.AsyncClient,
) -> None:
    assert (await revoke(http, "not-a-token")).status_code == 200
    no_client = await revoke(http, "not-a-token", auth=None)
    assert (no_client.status_code, no_client.json()) == (401, {"error": "invalid_client"})
    empty = await http.post(REVOKE_URL, json={}, auth=CLIENT)
    assert (empty.status_code, empty.json()) == (400, {"error": "invalid_request"})
    form = await http.post(REVOKE_URL, data={"token": "not-a-token"}, auth=CLIENT)
    assert form.status_code == 200


# --- refresh-token expiry ---------------------------------------------------------------------


async def test_expired_refresh_tokens_get_invalid_grant(company: Company) -> None:
    expire = await company.http.post(f"/__sandbox/realms/{company.realm_id}/expire-refresh-tokens")
    assert expire.status_code == 204
    assert invalid_grant(await refresh(company.http, company.refresh_token))
    # access tokens live on until their own expiry
    assert await api_status(company.http, company.realm_id, company.access_token) == 200
    unknown = await company.http.post("/__sandbox/realms/123/expire-refresh-tokens")
    assert unknown.status_code == 404


def test_refresh_tokens_expire_on_a_rolling_window() -> None:
    now = [0.0]
    store = TokenStore(3600, clock=lambda: now[0])
    grant = store.issue("r")
    now[0] += REFRESH_TOKEN_TTL_SECONDS - 1
    renewed = store.refresh(grant.refresh_token)
    assert renewed is not None  # each refresh starts a fresh window
    now[0] += REFRESH_TOKEN_TTL_SECONDS - 1
    assert store.refresh(renewed.refresh_token) is not None
    stale = store.issue("r")
    now[0] += REFRESH_TOKEN_TTL_SECONDS
    assert store.refresh(stale.refresh_token) is None
