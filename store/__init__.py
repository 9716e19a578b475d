"""The service's own store: QBO connections, record links, accepted events and the activity log."""

from store.crypto import TokenCipher
from store.db import Store
from store.tables import AcceptedEvent, ActivityLogEntry, Connection, Link

__all__ = ["AcceptedEvent", "ActivityLogEntry", "Connection", "Link", "Store", "TokenCipher"]
