"""Builders of billing events as the backend sends them (JSON dicts), and waiting helpers."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from billing.events import BillingEvent, parse_event
from starter.dispatch import EventDispatcher, EventStatus


def new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def event_json(
    company_id: str, type_: str, data: dict[str, Any], event_id: str | None = None
) -> dict[str, Any]:
    return {
        "event_id": event_id or new_id("evt"),
        "type": type_,
        "company_id": company_id,
        "occurred_at": "2026-11-26T10:00:00Z",
        "data": data,
    }


def customer(
    customer_id: str, first: str = "Jane", last: str = "Smith", **extra: Any
) -> dict[str, Any]:
    return {
        "id": customer_id,
        "first_name": first,
        "last_name": last,
        "display_as_company": False,
        "email": "jane.smith@example.com",
        "phone": "555-0100",
        "billing_address": {
            "line1": "12 Pool Lane",
            "city": "Phoenix",
            "state": "AZ",
            "postal_code": "85001",
        },
        "active": True,
        **extra,
    }


def item(
    item_id: str, name: str = "Chlorine tabs", price: str = "24.50", **extra: Any
) -> dict[str, Any]:
    return {
        "id": item_id,
        "name": name,
        "unit_price": price,
        "active": True,
        "kind": "service",
        **extra,
    }


def customer_saved(
    company_id: str, data: dict[str, Any], event_id: str | None = None
) -> BillingEvent:
    return parse_event_dict(event_json(company_id, "customer.saved", {"customer": data}, event_id))


def item_saved(
    company_id: str, type_: str, data: dict[str, Any], event_id: str | None = None
) -> BillingEvent:
    return parse_event_dict(event_json(company_id, type_, {"item": data}, event_id))


def parse_event_dict(raw: dict[str, Any]) -> BillingEvent:
    import json

    return parse_event(json.dumps(raw))


async def wait_done(
    dispatcher: EventDispatcher, event_id: str, timeout: float = 60.0
) -> EventStatus:
    """Poll until the event's workflow has completed or failed."""
    deadline = time.monotonic() + timeout
    while True:
        status = await dispatcher.status(event_id)
        assert status is not None, f"event {event_id} was never accepted"
        if status.status != "running":
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {event_id} still running after {timeout}s")
        await asyncio.sleep(0.1)
