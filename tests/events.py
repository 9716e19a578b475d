"""Billing events as parsed models for the tests (builders in devstack.sample_events), and waiting
helpers."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from billing.events import BillingEvent, parse_event
from devstack.sample_events import (
    credit,
    customer,
    event_json,
    invoice,
    item,
    new_id,
    payment,
    payment_recorded_json,
    refund,
)
from starter.dispatch import IN_PROGRESS, EventDispatcher, EventStatus


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
        if status.status not in IN_PROGRESS:
            return status
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {event_id} still {status.status} after {timeout}s")
        await asyncio.sleep(0.1)


def billing_event(
    company_id: str, type_: str, data: dict[str, Any], event_id: str | None = None
) -> BillingEvent:
    return parse_event_dict(event_json(company_id, type_, data, event_id))


def payment_recorded(
    company_id: str,
    customer_id: str,
    invoice_id: str,
    payment_id: str,
    amount: str,
    currency: str = "USD",
    **invoice_args: Any,
) -> BillingEvent:
    """payment.recorded with its invoice and customer snapshots (invoice_args go to `invoice`)."""
    return parse_event_dict(
        payment_recorded_json(
            company_id, customer_id, invoice_id, payment_id, amount, currency, **invoice_args
        )
    )


__all__ = [
    "billing_event",
    "credit",
    "customer",
    "customer_saved",
    "event_json",
    "invoice",
    "item",
    "item_saved",
    "new_id",
    "parse_event_dict",
    "payment",
    "payment_recorded",
    "refund",
    "wait_done",
]
