"""Who may call operators' endpoints (the codec server): one bearer-token check, pluggable, so
API keys or the Web UI's OIDC tokens can replace the admin key without touching the endpoints."""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Callable

from config import Settings

# Takes the token of `Authorization: Bearer <token>`; True lets the caller in.
BearerCheck = Callable[[str], bool]


def admin_key_check(admin_api_key: str) -> BearerCheck:
    """Accepts exactly ADMIN_API_KEY (compared in constant time)."""
    expected = admin_api_key.encode()

    def allowed(token: str) -> bool:
        return bool(expected) and hmac.compare_digest(token.encode(), expected)

    return allowed


def operator_check(settings: Settings) -> BearerCheck | None:
    """The check the codec server applies: ADMIN_API_KEY when set; None (anyone) when not,
    which `require_protected_unless_loopback` allows on a loopback address only."""
    return admin_key_check(settings.admin_api_key) if settings.admin_api_key else None


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
            "ADMIN_API_KEY (callers then send Authorization: Bearer <key>), or bind it to "
            "127.0.0.1 (CODEC_SERVER_HOST)"
        )
