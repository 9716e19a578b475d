"""OAuth 2.0 tokens: opaque random strings bound to one realm, with rotating refresh tokens."""

from __future__ import annotations

import base64
import binascii
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox.jsonio import json_response

REFRESH_TOKEN_TTL_SECONDS = 8_726_400  # Intuit's rolling 101 days


@dataclass
class _Token:
    realm_id: str
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

    def issue(self, realm_id: str) -> TokenGrant:
        now = self._clock()
        access_token = "sbx-at-" + secrets.token_urlsafe(32)
        refresh_token = "sbx-rt-" + secrets.token_urlsafe(24)
        self._access[access_token] = _Token(realm_id, now + self.access_token_ttl)
        self._refresh[refresh_token] = _Token(realm_id, now + REFRESH_TOKEN_TTL_SECONDS)
        return TokenGrant(access_token, refresh_token, self.access_token_ttl)

    def refresh(self, refresh_token: str) -> TokenGrant | None:
        """A new token pair; the refresh token used is spent at once (rotation)."""
        token = self._refresh.pop(refresh_token, None)
        if token is None or token.expires_at <= self._clock():
            return None
        return self.issue(token.realm_id)

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
        expired_at = self._clock()
        for token in self._access.values():
            if token.realm_id == realm_id:
                token.expires_at = min(token.expires_at, expired_at)

    def revoke(self, realm_id: str) -> None:
        for tokens in (self._access, self._refresh):
            for value in [value for value, token in tokens.items() if token.realm_id == realm_id]:
                del tokens[value]


def _has_client_credentials(authorization: str | None) -> bool:
    scheme, _, encoded = (authorization or "").partition(" ")
    if scheme.lower() != "basic":
        return False
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return False
    client_id, separator, client_secret = decoded.partition(":")
    return bool(separator and client_id and client_secret)


def _oauth_error(error: str, status_code: int) -> Response:
    return json_response({"error": error}, status_code)


def oauth_routes(tokens: TokenStore) -> list[Route]:
    async def token_endpoint(request: Request) -> Response:
        if not _has_client_credentials(request.headers.get("authorization")):
            return _oauth_error("invalid_client", 401)
        form = parse_qs((await request.body()).decode("utf-8", errors="replace"))
        grant_type = form.get("grant_type", [""])[0]
        if grant_type != "refresh_token":
            return _oauth_error("unsupported_grant_type", 400)
        refresh_token = form.get("refresh_token", [""])[0]
        if not refresh_token:
            return _oauth_error("invalid_request", 400)
        grant = tokens.refresh(refresh_token)
        if grant is None:
            return _oauth_error("invalid_grant", 400)
        return json_response(grant.as_json())

    return [Route("/oauth2/v1/tokens/bearer", token_endpoint, methods=["POST"])]
