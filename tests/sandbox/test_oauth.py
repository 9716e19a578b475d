"""Tokens: refresh rotation, expiry, revocation, and the gateway's 401 fault."""

from __future__ import annotations

import base64
import os
import subprocess
import sys

import httpx

from tests.processes import REPO_ROOT, free_port
from tests.sandbox.helpers import Company

TOKEN_URL = "/oauth2/v1/tokens/bearer"
WWW_AUTHENTICATE = 'Bearer realm="Intuit", error="invalid_token"'


async def _refresh(
    http: httpx.AsyncClient, refresh_token: str, client_credentials: bool = True
) -> httpx.Response:
    headers = {"Accept": "application/json"}
    if client_credentials:
        credentials = base64.b64encode(b"client-id:client-secret").decode()
        headers["Authorization"] = f"Basic {credentials}"
    return await http.post(
        TOKEN_URL,
        data={"grant_type": "refresh_token", "refresh_token": refresh_token},
        headers=headers,
    )


def _assert_gateway_401(response: httpx.Response) -> str:
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == WWW_AUTHENTICATE
    fault = response.json()["fault"]
    assert fault["type"] == "AUTHENTICATION"
    [error] = fault["error"]
    assert error["code"] == "3200"
    assert error["message"] == "message=AuthenticationFailed; errorCode=003200; statusCode=401"
    return str(error["detail"])


async def test_refresh_rotates_the_refresh_token(company: Company) -> None:
    response = await _refresh(company.http, company.refresh_token)
    assert response.status_code == 200
    grant = response.json()
    assert set(grant) == {
        "token_type",
        "access_token",
        "expires_in",
        "refresh_token",
        "x_refresh_token_expires_in",
    }
    assert grant["token_type"] == "bearer" and grant["expires_in"] == 3600
    assert grant["refresh_token"] != company.refresh_token
    assert grant["access_token"] != company.access_token

    old = await _refresh(company.http, company.refresh_token)
    assert (old.status_code, old.json()) == (400, {"error": "invalid_grant"})

    company.access_token = grant["access_token"]
    assert (await company.get("Account", "1")).status_code == 200
    assert (await _refresh(company.http, grant["refresh_token"])).status_code == 200


async def test_refresh_log_counts_rotations_and_spent_tokens_per_company(
    company: Company, http: httpx.AsyncClient
) -> None:
    other = await Company.new(http)
    first = (await _refresh(company.http, company.refresh_token)).json()
    await _refresh(company.http, company.refresh_token)  # already spent by the rotation
    await _refresh(company.http, first["refresh_token"])
    await _refresh(company.http, "sbx-rt-never-issued")  # no company to put it on

    log = await http.get(f"/__sandbox/realms/{company.realm_id}/token-refreshes")
    assert log.json() == {
        "refreshes": [{"outcome": "rotated"}, {"outcome": "spent"}, {"outcome": "rotated"}]
    }
    untouched = await http.get(f"/__sandbox/realms/{other.realm_id}/token-refreshes")
    assert untouched.json() == {"refreshes": []}
    assert (await http.get("/__sandbox/realms/nope/token-refreshes")).status_code == 404


async def test_token_endpoint_requires_client_credentials(company: Company) -> None:
    missing = await _refresh(company.http, company.refresh_token, client_credentials=False)
    assert (missing.status_code, missing.json()) == (401, {"error": "invalid_client"})
    # a refused call spends nothing
    assert (await _refresh(company.http, company.refresh_token)).status_code == 200


async def test_unknown_refresh_token_is_invalid_grant(http: httpx.AsyncClient) -> None:
    response = await _refresh(http, "not-a-token")
    assert (response.status_code, response.json()) == (400, {"error": "invalid_grant"})


async def test_expired_access_token_gets_the_gateway_401(company: Company) -> None:
    assert (await company.get("Account", "1")).status_code == 200
    expire = await company.http.post(f"/__sandbox/realms/{company.realm_id}/expire-access-tokens")
    assert expire.status_code == 204
    response = await company.get("Account", "1")
    assert _assert_gateway_401(response).startswith("Token expired: ")
    assert response.headers["intuit_tid"]

    grant = (await _refresh(company.http, company.refresh_token)).json()
    company.access_token = grant["access_token"]
    assert (await company.get("Account", "1")).status_code == 200


async def test_missing_or_unknown_token_is_401(company: Company) -> None:
    _assert_gateway_401(await company.http.get(company.path("account/1")))
    company.access_token = "forged"
    _assert_gateway_401(await company.get("Account", "1"))


async def test_revoked_realm_tokens_stop_working(company: Company) -> None:
    revoke = await company.http.post(f"/__sandbox/realms/{company.realm_id}/revoke")
    assert revoke.status_code == 204
    _assert_gateway_401(await company.get("Account", "1"))
    refused = await _refresh(company.http, company.refresh_token)
    assert (refused.status_code, refused.json()) == (400, {"error": "invalid_grant"})


async def test_token_is_bound_to_its_realm(company: Company) -> None:
    other = await Company.new(company.http)
    company.access_token = other.access_token
    _assert_gateway_401(await company.get("Account", "1"))
    unknown_realm = await company.http.get(
        "/v3/company/123456/account/1", headers={"Authorization": f"Bearer {other.access_token}"}
    )
    assert unknown_realm.status_code == 403
    assert unknown_realm.json()["fault"]["error"][0]["code"] == "3100"


def test_cli_announces_itself_and_honours_the_ttl_setting() -> None:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "qbo_sandbox", "--port", str(port)],
        cwd=REPO_ROOT,
        env={**os.environ, "QBO_SANDBOX_ACCESS_TOKEN_TTL": "0"},  # born expired: no waiting
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().strip()
        assert line == f"QBO sandbox listening on http://127.0.0.1:{port}"
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as http:
            realm = http.post("/__sandbox/realms").json()
            assert realm["expires_in"] == 0
            headers = {"Authorization": f"Bearer {realm['access_token']}"}
            response = http.get(f"/v3/company/{realm['realm_id']}/account/1", headers=headers)
            assert response.status_code == 401
            assert response.json()["fault"]["error"][0]["detail"].startswith("Token expired")
    finally:
        process.terminate()
        process.wait(timeout=10)
