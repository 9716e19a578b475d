"""OAuth 2.0 for QBO: code exchange, refresh with rotating refresh tokens, revoke.

`TokenManager` hands out access tokens per realm. One refresh per realm at a time across all
processes: a lease taken by compare-and-swap on the stored token version (a rotated refresh token
must never be lost, and a refresh token must never be spent twice).
"""

from __future__ import annotations

import asyncio
import os
import socket
import uuid
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx
from pydantic import BaseModel

from qbo import wire
from qbo.errors import QBOError, ReconnectRequiredError, ServerError, intuit_tid

REFRESH_MARGIN = timedelta(minutes=5)
# How long a refresh lease lasts: an owner that died frees the realm after this.
REFRESH_LEASE = timedelta(seconds=30)
RECONNECT_REASON = "QuickBooks refused the refresh token; reconnect QuickBooks"


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
    @property
    def version(self) -> int: ...


class TokenStore(Protocol):
    """Where a realm's tokens live (the service store, encrypted), shared by every process."""

    async def load_tokens(self, realm_id: str) -> CurrentTokens: ...

    async def claim_refresh(
        self, realm_id: str, version: int, owner: str, lease: timedelta
    ) -> bool:
        """Take the realm's refresh lease if the tokens are still at `version` and no unexpired
        lease is held; True if `owner` now holds it."""
        ...

    async def release_refresh(self, realm_id: str, owner: str) -> None: ...

    async def save_tokens(self, realm_id: str, tokens: OAuthTokens, version: int) -> bool:
        """Store tokens refreshed from `version` as `version + 1` and end the lease; False (and
        nothing stored) if the version moved."""
        ...

    async def mark_reconnect_required(self, realm_id: str, reason: str, version: int) -> bool:
        """Mark the company only if the tokens are still at `version`; False if they moved."""
        ...


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
    """Access tokens per realm, refreshed early and at most once at a time per realm: the
    in-process lock keeps this process's tasks in line, the store's lease all processes."""

    def __init__(
        self, oauth: OAuthClient, store: TokenStore, lease: timedelta = REFRESH_LEASE
    ) -> None:
        self._oauth = oauth
        self._store = store
        self._lease = lease
        self._locks: dict[str, asyncio.Lock] = {}
        self._loaded: dict[str, CurrentTokens] = {}
        self._owner = f"{socket.gethostname()}:{os.getpid()}"

    def _lock(self, realm_id: str) -> asyncio.Lock:
        return self._locks.setdefault(realm_id, asyncio.Lock())

    async def access_token(self, realm_id: str) -> str:
        """The realm's access token: the one last loaded while it is fresh (an access token
        stays valid until it expires, whoever refreshed since; one QBO refuses is refreshed)."""
        tokens = self._loaded.get(realm_id)
        if tokens is None or not _fresh(tokens):
            tokens = self._loaded[realm_id] = await self._store.load_tokens(realm_id)
        if _fresh(tokens):
            return tokens.access_token
        return await self.refresh(realm_id, rejected_access_token=tokens.access_token)

    async def refresh(self, realm_id: str, rejected_access_token: str) -> str:
        """Refresh after `rejected_access_token` failed, unless someone already did it."""
        async with self._lock(realm_id):
            loop = asyncio.get_running_loop()
            # Long enough for a dead owner's lease to expire and a new owner to finish.
            give_up_at = loop.time() + 2 * self._lease.total_seconds()
            pause = 0.02
            self._loaded.pop(realm_id, None)
            while True:
                current = await self._store.load_tokens(realm_id)
                if current.access_token != rejected_access_token and _fresh(current):
                    return current.access_token  # another task or process refreshed
                owner = f"{self._owner}:{uuid.uuid4().hex[:8]}"
                if await self._store.claim_refresh(realm_id, current.version, owner, self._lease):
                    token = await self._refresh_as_owner(realm_id, current, owner)
                    if token is not None:
                        return token
                    continue  # the tokens moved under us (a reconnect): look again
                if loop.time() > give_up_at:
                    raise ServerError("another process's QuickBooks token refresh did not finish")
                await asyncio.sleep(pause)
                pause = min(pause * 2, 0.25)

    async def _refresh_as_owner(
        self, realm_id: str, current: CurrentTokens, owner: str
    ) -> str | None:
        """Spend `current`'s refresh token under our lease; None if the stored version moved."""
        try:
            # Finish well inside the lease, so no second owner can spend the same token.
            async with asyncio.timeout(self._lease.total_seconds() / 2):
                fresh = await self._oauth.refresh(current.refresh_token)
        except ReconnectRequiredError:
            if await self._store.mark_reconnect_required(
                realm_id, RECONNECT_REASON, current.version
            ):
                raise
            return None  # a newer save made this refusal stale
        except TimeoutError as exc:
            await self._store.release_refresh(realm_id, owner)
            raise ServerError("token endpoint did not answer in time") from exc
        except BaseException:
            await asyncio.shield(self._store.release_refresh(realm_id, owner))
            raise
        if await self._store.save_tokens(realm_id, fresh, current.version):
            return fresh.access_token
        await self._store.release_refresh(realm_id, owner)
        return None


def _fresh(tokens: CurrentTokens) -> bool:
    return tokens.access_expires_at - REFRESH_MARGIN > datetime.now(UTC)
