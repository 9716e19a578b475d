"""OAuth 2.0 for QBO: code exchange, refresh with rotating refresh tokens, revoke.

`TokenManager` hands out access tokens per realm, refreshing them under a per-realm lock so two
refreshes for one realm never run at once (a rotated refresh token must never be lost).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from pydantic import BaseModel

from qbo import wire
from qbo.errors import QBOError, ReconnectRequiredError, ServerError, intuit_tid

REFRESH_MARGIN = timedelta(minutes=5)


class OAuthTokens(BaseModel):
    access_token: str
    refresh_token: str
    expires_in: int = 3600
    x_refresh_token_expires_in: int | None = None

    def __repr__(self) -> str:  # never print secrets
        return f"OAuthTokens(expires_in={self.expires_in})"

    __str__ = __repr__


class CurrentTokens(Protocol):
    @property
    def access_token(self) -> str: ...
    @property
    def refresh_token(self) -> str: ...
    @property
    def access_expires_at(self) -> datetime: ...


class TokenStore(Protocol):
    """Where a realm's tokens live (the service store, encrypted)."""

    async def load_tokens(self, realm_id: str) -> CurrentTokens: ...

    async def save_tokens(self, realm_id: str, tokens: OAuthTokens) -> None: ...

    async def mark_reconnect_required(self, realm_id: str, reason: str) -> None: ...


class OAuthClient:
    """Intuit's token endpoint (or the local sandbox's)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        token_url: str,
        client_id: str,
        client_secret: str,
        revoke_url: str | None = None,
    ) -> None:
        self._http = http
        self._token_url = token_url
        self._revoke_url = revoke_url
        self._auth = httpx.BasicAuth(client_id, client_secret)

    async def _token_request(self, form: dict[str, str]) -> OAuthTokens:
        try:
            response = await self._http.post(
                self._token_url, data=form, auth=self._auth, headers={"Accept": "application/json"}
            )
        except httpx.TransportError as exc:
            raise ServerError(f"token endpoint unreachable: {type(exc).__name__}") from exc
        body = wire.loads(response.content) if response.content else {}
        if response.status_code == 200:
            return OAuthTokens.model_validate(body)
        error = str(body.get("error", "")) if isinstance(body, dict) else ""
        tid = intuit_tid(response.headers)
        if error == "invalid_grant":
            raise ReconnectRequiredError(
                "QuickBooks refused the refresh token (invalid_grant): reconnect QuickBooks",
                status=response.status_code,
                code="invalid_grant",
                intuit_tid=tid,
            )
        if response.status_code >= 500:
            raise ServerError("token endpoint failed", status=response.status_code, intuit_tid=tid)
        raise QBOError(
            f"token endpoint answered {error or response.status_code}",
            status=response.status_code,
            code=error,
            intuit_tid=tid,
        )

    async def exchange_code(self, code: str, redirect_uri: str) -> OAuthTokens:
        return await self._token_request(
            {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect_uri}
        )

    async def refresh(self, refresh_token: str) -> OAuthTokens:
        return await self._token_request(
            {"grant_type": "refresh_token", "refresh_token": refresh_token}
        )

    async def revoke(self, token: str) -> None:
        if not self._revoke_url:
            return
        response = await self._http.post(self._revoke_url, json={"token": token}, auth=self._auth)
        if response.status_code >= 400:
            raise QBOError("token revoke failed", status=response.status_code)


class TokenManager:
    """Access tokens per realm, refreshed early and at most once at a time per realm."""

    def __init__(self, oauth: OAuthClient, store: TokenStore) -> None:
        self._oauth = oauth
        self._store = store
        self._locks: dict[str, asyncio.Lock] = {}

    def _lock(self, realm_id: str) -> asyncio.Lock:
        return self._locks.setdefault(realm_id, asyncio.Lock())

    async def access_token(self, realm_id: str) -> str:
        tokens = await self._store.load_tokens(realm_id)
        if tokens.access_expires_at - REFRESH_MARGIN > datetime.now(UTC):
            return tokens.access_token
        return await self.refresh(realm_id, rejected_access_token=tokens.access_token)

    async def refresh(self, realm_id: str, rejected_access_token: str) -> str:
        """Refresh after `rejected_access_token` failed, unless someone already did it."""
        async with self._lock(realm_id):
            current = await self._store.load_tokens(realm_id)
            if current.access_token != rejected_access_token and (
                current.access_expires_at - REFRESH_MARGIN > datetime.now(UTC)
            ):
                return current.access_token  # another task refreshed while we waited
            try:
                fresh = await self._oauth.refresh(current.refresh_token)
            except ReconnectRequiredError:
                # Another process may have rotated the token a moment ago: use its result.
                latest = await self._store.load_tokens(realm_id)
                if latest.refresh_token != current.refresh_token:
                    return latest.access_token
                await self._store.mark_reconnect_required(
                    realm_id, "QuickBooks refused the refresh token; reconnect QuickBooks"
                )
                raise
            await self._store.save_tokens(realm_id, fresh)
            return fresh.access_token
