"""The service's own store: QBO connections, record links, accepted events, the activity log,
the QBO request budgets every process shares, and API keys."""

from store.api_keys import ApiKey, ApiKeys, KeyNotFound
from store.crypto import TokenCipher
from store.db import LinkState, Store
from store.limits import RequestBudgets
from store.tables import AcceptedEvent, ActivityLogEntry, Connection, Link

__all__ = [
    "AcceptedEvent",
    "ActivityLogEntry",
    "ApiKey",
    "ApiKeys",
    "Connection",
    "KeyNotFound",
    "Link",
    "LinkState",
    "RequestBudgets",
    "Store",
    "TokenCipher",
]
