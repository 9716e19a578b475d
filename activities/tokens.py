"""The service store seen by the QBO client as its `TokenStore`."""

from __future__ import annotations

from qbo import OAuthTokens
from store import Store
from store.db import StoredTokens


class StoreTokenStore:
    def __init__(self, store: Store) -> None:
        self._store = store

    async def load_tokens(self, realm_id: str) -> StoredTokens:
        return await self._store.load_tokens(realm_id)

    async def save_tokens(self, realm_id: str, tokens: OAuthTokens) -> None:
        await self._store.save_tokens(
            realm_id,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            tokens.x_refresh_token_expires_in,
        )

    async def mark_reconnect_required(self, realm_id: str, reason: str) -> None:
        await self._store.mark_reconnect_required(realm_id, reason)
