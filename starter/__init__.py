"""How the billing backend starts syncs: the Python API (`EventDispatcher`) and the HTTP ingress."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from starter.dispatch import Accepted, EventDispatcher, EventStatus, NotSyncing

__all__ = ["Accepted", "EventDispatcher", "EventStatus", "NotSyncing"]


def __getattr__(name: str) -> Any:
    # Loaded on first use: `skimmer-qbo`'s API commands never need Temporal or the store.
    if name in __all__:
        return getattr(import_module("starter.dispatch"), name)
    raise AttributeError(f"module 'starter' has no attribute {name!r}")
