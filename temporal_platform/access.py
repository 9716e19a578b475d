"""Who may call operators' endpoints (the codec server): one async bearer-token check, pluggable,
so the Web UI's OIDC tokens could replace API keys without touching the endpoints."""

from __future__ import annotations

import ipaddress
from collections.abc import Awaitable, Callable

from config import Settings
from store.api_keys import ApiKeys, holder_of_key, key_hash

# Takes the token of `Authorization: Bearer <token>`; answers who holds it, None for a token it
# does not know (401), or raises `NotAnOperator` (403).
BearerCheck = Callable[[str], Awaitable[str | None]]


class NotAnOperator(PermissionError):
    """A valid token whose holder may not read every company's payloads."""


def operator_key_check(keys: ApiKeys, admin_api_key: str) -> BearerCheck:
    """ADMIN_API_KEY or a live admin key of the store; a company key is refused, since the codec
    server decrypts every company's payloads."""

    async def operator(token: str) -> str | None:
        holder = await holder_of_key(keys, admin_api_key, key_hash(token))
        if holder is None:
            return None
        if holder.company_id is not None:
            raise NotAnOperator(
                f"API key {holder.key_id} is for company {holder.company_id}: the codec server "
                "decrypts every company's payloads, so it takes ADMIN_API_KEY or an admin key"
            )
        return holder.key_id

    return operator


async def has_admin_key(keys: ApiKeys) -> bool:
    return any(k.company_id is None and k.revoked_at is None for k in await keys.list())


async def operator_check(settings: Settings, keys: ApiKeys) -> BearerCheck | None:
    """The check the codec server applies when it has a key to check: ADMIN_API_KEY is set, or the
    store holds a live admin key when it starts. None (anyone) otherwise, which
    `require_protected_unless_loopback` allows on a loopback address only."""
    if settings.admin_api_key or await has_admin_key(keys):
        return operator_key_check(keys, settings.admin_api_key)
    return None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def require_protected_unless_loopback(check: BearerCheck | None, host: str) -> None:
    """Decrypted customer data is never served to the network without a key."""
    if check is None and not is_loopback(host):
        raise SystemExit(
            f"the codec server would serve decrypted payloads on {host} to anyone: set "
            "ADMIN_API_KEY or make an admin key in the store (skimmer-qbo keys create --admin); "
            "callers then send Authorization: Bearer <key>. Or bind it to 127.0.0.1 "
            "(CODEC_SERVER_HOST)"
        )
