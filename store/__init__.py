"""The service's own store: QBO connections, record links, accepted events, the activity log and
the QBO request budgets every process shares."""

from store.crypto import TokenCipher
from store.db import Store
from store.limits import RequestBudgets
from store.tables import AcceptedEvent, ActivityLogEntry, Connection, Link

__all__ = [
    "AcceptedEvent",
    "ActivityLogEntry",
    "Connection",
    "Link",
    "RequestBudgets",
    "Store",
    "TokenCipher",
]
