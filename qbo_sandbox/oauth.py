"""OAuth 2.0: authorize (auto-approved), code exchange, rotating refresh tokens, revoke.

Tokens are opaque random strings bound to one realm and to one *grant*: the tokens that descend
from one authorization (a code exchange, a company made by the control API, `POST .../tokens`).
A refresh keeps the grant; revoking any token of a grant ends the whole grant.
"""

from __future__ import annotations

import base64
import binascii
import html
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, urlencode, urlsplit, urlunsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.routing import Route

from qbo_sandbox.jsonio import JsonError, json_response, loads

if TYPE_CHECKING:
    from qbo_sandbox.state import Sandbox

REFRESH_TOKEN_TTL_SECONDS = 8_726_400  # Intuit's rolling 101 days
AUTHORIZATION_CODE_TTL_SECONDS = 600
ACCOUNTING_SCOPE = "com.intuit.quickbooks.accounting"


@dataclass
class _Token:
    realm_id: str
    expires_at: float
    grant_id: str


@dataclass(frozen=True)
class _Code:
    realm_id: str
    client_id: str
    redirect_uri: str
    expires_at: float


@dataclass(frozen=True)
class TokenGrant:
    access_token: str
    refresh_token: str
    expires_in: int

    def as_json(self) -> dict[str, object]:
        return {
            "token_type": "bearer",
            "access_token": self.access_token,
            "expires_in": self.expires_in,
            "refresh_token": self.refresh_token,
            "x_refresh_token_expires_in": REFRESH_TOKEN_TTL_SECONDS,
        }


class AccessProblem(Enum):
    MISSING = "missing"
    UNKNOWN = "unknown"
    EXPIRED = "expired"


@dataclass(frozen=True)
class AccessCheck:
    """The realm an access token belongs to, or why it cannot be used."""

    realm_id: str | None
    problem: AccessProblem | None


class TokenStore:
    """Every token issued by this sandbox. Revoked tokens are forgotten, so they read as unknown."""

    def __init__(self, access_token_ttl: int, clock: Callable[[], float] = time.time) -> None:
        self.access_token_ttl = access_token_ttl
        self._clock = clock
        self._access: dict[str, _Token] = {}
        self._refresh: dict[str, _Token] = {}
        self._codes: dict[str, _Code] = {}
        # Spent refresh tokens stay known by realm, so a second use is logged where it belongs.
        self._spent: dict[str, str] = {}
        self._refresh_log: dict[str, list[str]] = {}

    def issue(self, realm_id: str, grant_id: str | None = None) -> TokenGrant:
        """A token pair; without `grant_id` it starts a new grant."""
        now = self._clock()
        grant = grant_id or secrets.token_hex(8)
        access_token = "sbx-at-" + secrets.token_urlsafe(32)
        refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
        self._access[access_token] = _Token(realm_id, now + self.access_token_ttl, grant)
        self._refresh[refresh_token] = _Token(realm_id, now + REFRESH_TOKEN_TTL_SECONDS, grant)
        return TokenGrant(access_token, refresh_token, self.access_token_ttl)

    def refresh(self, refresh_token: str) -> TokenGrant | None:
        """A new token pair; the refresh token used is spent at once (rotation)."""
        token = self._refresh.pop(refresh_token, None)
        if token is None:
            spent_in = self._spent.get(refresh_token)
            if spent_in is not None:
                self._refresh_log[spent_in].append("spent")
            return None
        log = self._refresh_log.setdefault(token.realm_id, [])
        if token.expires_at <= self._clock():
            log.append("expired")
            return None
        self._spent[refresh_token] = token.realm_id
        log.append("rotated")
        return self.issue(token.realm_id, token.grant_id)

    def refresh_log(self, realm_id: str) -> list[str]:
        """Each refresh-token grant asked for the company, in order: rotated, spent or expired."""
        return list(self._refresh_log.get(realm_id, []))

    def check_access(self, access_token: str | None) -> AccessCheck:
        if not access_token:
            return AccessCheck(None, AccessProblem.MISSING)
        token = self._access.get(access_token)
        if token is None:
            return AccessCheck(None, AccessProblem.UNKNOWN)
        if token.expires_at <= self._clock():
            return AccessCheck(token.realm_id, AccessProblem.EXPIRED)
        return AccessCheck(token.realm_id, None)

    def expire_access_tokens(self, realm_id: str) -> None:
        self._expire(self._access, realm_id)

    def expire_refresh_tokens(self, realm_id: str) -> None:
        """As if 100 days passed without a refresh: every refresh gets `invalid_grant`."""
        self._expire(self._refresh, realm_id)

    def _expire(self, tokens: dict[str, _Token], realm_id: str) -> None:
        expired_at = self._clock()
        for token in tokens.values():
            if token.realm_id == realm_id:
                token.expires_at = min(token.expires_at, expired_at)

    def revoke(self, realm_id: str) -> None:
        """Every token of the company (all grants)."""
        self._forget(lambda token: token.realm_id == realm_id)

    def revoke_token(self, value: str) -> bool:
        """Ends the grant of an access or refresh token; False when the token is unknown."""
        token = self._refresh.get(value) or self._access.get(value)
        if token is None:
            return False
        grant_id = token.grant_id
        self._forget(lambda other: other.grant_id == grant_id)
        return True

    def _forget(self, doomed: Callable[[_Token], bool]) -> None:
        for tokens in (self._access, self._refresh):
            for value in [value for value, token in tokens.items() if doomed(token)]:
                del tokens[value]

    def new_code(self, realm_id: str, client_id: str, redirect_uri: str) -> str:
        code = "sbx-ac-" + secrets.token_urlsafe(24)
        expires_at = self._clock() + AUTHORIZATION_CODE_TTL_SECONDS
        self._codes[code] = _Code(realm_id, client_id, redirect_uri, expires_at)
        return code

    def redeem_code(
        self, code: str, client_id: str, redirect_uri: str
    ) -> tuple[str, TokenGrant] | None:
        """The realm and a new grant for a code; any attempt spends the code (single use)."""
        issued = self._codes.pop(code, None)
        if issued is None or issued.expires_at <= self._clock():
            return None
        if issued.client_id != client_id or issued.redirect_uri != redirect_uri:
            return None
        return issued.realm_id, self.issue(issued.realm_id)


def _client_id(authorization: str | None) -> str | None:
    """The client id of HTTP Basic client credentials (any non-empty id and secret)."""
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    client_id, separator, client_secret = decoded.partition(":")
    return client_id if separator and client_id and client_secret else None


def _oauth_error(error: str, status_code: int) -> Response:
    return json_response({"error": error}, status_code)


def _error_page(error: str, description: str) -> Response:
    """What Intuit shows in the browser when the authorize request itself is wrong."""
    page = (
        "<!DOCTYPE html><html><head><title>QBO sandbox: authorization error</title></head>"
        f"<body><h1>Authorization error</h1><p>Error: <code>{html.escape(error)}</code></p>"
        f"<p>{html.escape(description)}</p></body></html>"
    )
    return HTMLResponse(page, status_code=400)


def _with_query(url: str, params: dict[str, str]) -> str:
    parts = urlsplit(url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def oauth_routes(sandbox: Sandbox) -> list[Route]:
    tokens = sandbox.tokens

    async def authorize(request: Request) -> Response:
        params = request.query_params
        for name in ("client_id", "redirect_uri", "state", "response_type", "scope"):
            if not params.get(name):
                return _error_page("invalid_request", f"The {name} parameter is missing.")
        if params["response_type"] != "code":
            return _error_page("unsupported_response_type", 'response_type must be "code".')
        if ACCOUNTING_SCOPE not in params["scope"].split():
            return _error_page("invalid_scope", f"The scope must include {ACCOUNTING_SCOPE}.")
        redirect = urlsplit(params["redirect_uri"])
        if redirect.scheme not in ("http", "https") or not redirect.netloc:
            return _error_page("invalid_request", "redirect_uri must be an absolute http(s) URL.")
        realm_id = params.get("realm_id")
        if realm_id:
            if sandbox.realms.get(realm_id) is None:
                return _error_page("invalid_request", f"No sandbox company {realm_id}.")
        else:
            realm_id = (await sandbox.new_company())[0].realm_id
        code = tokens.new_code(realm_id, params["client_id"], params["redirect_uri"])
        callback = {"code": code, "state": params["state"], "realmId": realm_id}
        return RedirectResponse(_with_query(params["redirect_uri"], callback), status_code=302)

    async def token_endpoint(request: Request) -> Response:
        client_id = _client_id(request.headers.get("authorization"))
        if client_id is None:
            return _oauth_error("invalid_client", 401)
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))

        def field(name: str) -> str:
            return form.get(name, [""])[0]

        grant_type = field("grant_type")
        if grant_type == "refresh_token":
            if not field("refresh_token"):
                return _oauth_error("invalid_request", 400)
            grant = tokens.refresh(field("refresh_token"))
        elif grant_type == "authorization_code":
            if not field("code") or not field("redirect_uri"):
                return _oauth_error("invalid_request", 400)
            redeemed = tokens.redeem_code(field("code"), client_id, field("redirect_uri"))
            grant = redeemed[1] if redeemed else None
        else:
            return _oauth_error("unsupported_grant_type", 400)
        if grant is None:
            return _oauth_error("invalid_grant", 400)
        return json_response(grant.as_json())

    async def revoke(request: Request) -> Response:
        if _client_id(request.headers.get("authorization")) is None:
            return _oauth_error("invalid_client", 401)
        raw = await request.body()
        token: object = None
        if "json" in request.headers.get("content-type", ""):
            try:
                body = loads(raw)
            except JsonError:
                return _oauth_error("invalid_request", 400)
            token = body.get("token") if isinstance(body, dict) else None
        else:
            token = parse_qs(raw.decode("utf-8", errors="replace")).get("token", [""])[0]
        if not isinstance(token, str) or not token:
            return _oauth_error("invalid_request", 400)
        tokens.revoke_token(token)  # unknown tokens: 200 all the same, as Intuit does
        return Response(status_code=200)

    return [
        Route("/connect/oauth2", authorize, methods=["GET"]),
        Route("/oauth2/v1/tokens/bearer", token_endpoint, methods=["POST"]),
        Route("/v2/oauth2/tokens/revoke", revoke, methods=["POST"]),
    ]
