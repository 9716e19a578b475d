"""The service store seen by the QBO client as its `TokenStore`."""

from __future__ import annotations

from datetime import timedelta

from qbo import OAuthTokens
from store import Store
from store.db import StoredTokens


class StoreTokenStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load_tokens(self, realm_id: str) -> StoredTokens:
        return await self._store.load_tokens(realm_id)

    async def claim_refresh(
        self, realm_id: str, version: int, owner: str, lease: timedelta
    ) -> bool:
        return await self._store.claim_refresh(realm_id, version, owner, lease)

    async def release_refresh(self, realm_id: str, owner: str) -> None:
        await self._store.release_refresh(realm_id, owner)

    async def save_tokens(self, realm_id: str, tokens: OAuthTokens, version: int) -> bool:
        return await self._store.save_tokens(
            realm_id,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            tokens.x_refresh_token_expires_in,
            version,
        )

    async def mark_reconnect_required(self, realm_id: str, reason: str, version: int) -> bool:
        return await self._store.mark_reconnect_required(realm_id, reason, version)
