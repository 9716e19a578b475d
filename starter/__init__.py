"""How the billing backend starts syncs: the Python API (`EventDispatcher`) and the HTTP ingress."""

from starter.dispatch import Accepted, EventDispatcher, EventStatus, NotSyncing

__all__ = ["Accepted", "EventDispatcher", "EventStatus", "NotSyncing"]
