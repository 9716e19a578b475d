"""Wiring shared by the worker, the HTTP ingress, the demo and the tests: store and QBO client."""

from __future__ import annotations

import httpx

from activities.common import Deps
from activities.tokens import StoreTokenStore
from config import DEFAULT_DATA_DIR, Settings
from qbo import OAuthClient, QBOClient, QBOLimits, RealmLimiter, TokenManager
from store import RequestBudgets, Store, TokenCipher
from telemetry.metrics import QuickBooksRequestMetrics
from telemetry.runtime import process_telemetry


def open_store(settings: Settings) -> Store:
    cipher = TokenCipher.from_key_or_file(
        settings.token_encryption_key, DEFAULT_DATA_DIR / "token-encryption.key"
    )
    store = Store(settings.database_url, cipher)
    store.create_all()
    return store


def http_client() -> httpx.AsyncClient:
    # QBO times out requests after 120 s; connect quickly or fail and let Temporal retry.
    return httpx.AsyncClient(
        timeout=httpx.Timeout(120.0, connect=10.0),
        limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
    )


def oauth_client(settings: Settings, http: httpx.AsyncClient) -> OAuthClient:
    return OAuthClient(
        http,
        settings.qbo_token_url,
        settings.qbo_client_id,
        settings.qbo_client_secret,
        revoke_url=settings.qbo_revoke_url,
    )


def qbo_limits(settings: Settings) -> QBOLimits:
    return QBOLimits(
        requests_per_minute=settings.qbo_requests_per_minute,
        requests_per_second=settings.qbo_requests_per_second,
        concurrent_requests=settings.qbo_concurrent_requests,
        batch_calls_per_minute=settings.qbo_batch_calls_per_minute,
        margin_seconds=settings.qbo_limit_margin_seconds,
        lease_seconds=settings.qbo_request_lease_seconds,
    )


def qbo_limiter(settings: Settings, store: Store) -> RealmLimiter:
    """The per-realm QBO limits, drawn from the store every worker and API process shares."""
    return RealmLimiter(RequestBudgets(store.engine), qbo_limits(settings))


def qbo_client(settings: Settings, store: Store, http: httpx.AsyncClient) -> QBOClient:
    tokens = TokenManager(oauth_client(settings, http), StoreTokenStore(store))
    return QBOClient(
        http,
        tokens,
        qbo_limiter(settings, store),
        base_url=settings.qbo_base_url,
        # Every QBO request counts in the process's metrics, whichever process makes it.
        observer=QuickBooksRequestMetrics(process_telemetry().meter),
    )


def build_deps(settings: Settings, store: Store, http: httpx.AsyncClient) -> Deps:
    return Deps(store=store, qbo=qbo_client(settings, store, http))
