"""Billing events as the backend sends them (JSON dicts): the builders the tests, the benchmarks
and the demo tools share. Pure data; nothing here talks to a server."""

from __future__ import annotations

import uuid
from decimal import Decimal
from typing import Any


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


def invoice(
    invoice_id: str,
    customer_id: str,
    lines: list[tuple[str, str, str]] | None = None,
    number: str | None = None,
    amount_due: str | None = None,
    created_at: str = "2030-01-01T00:00:00Z",
) -> dict[str, Any]:
    """An invoice; `lines` are (item id, quantity, unit price), each item sent with a snapshot."""
    lines = lines or [("prod_chlorine", "2", "30.00"), ("wot_weekly", "1", "60.00")]
    rendered = []
    total = Decimal("0")
    for item_id, qty, price in lines:
        amount = (Decimal(qty) * Decimal(price)).quantize(Decimal("0.01"))
        total += amount
        kind = "work_order_type" if item_id.startswith("wot") else "product"
        rendered.append(
            {
                "item_id": item_id,
                "item_type": kind,
                "item": item(item_id, name=f"Item {item_id}", price=price),
                "quantity": qty,
                "unit_price": price,
                "amount": str(amount),
            }
        )
    return {
        "id": invoice_id,
        "number": number or invoice_id.upper(),
        "customer_id": customer_id,
        "issued_on": "2030-01-01",
        "created_at": created_at,
        "lines": rendered,
        "total": str(total),
        "amount_due": amount_due if amount_due is not None else str(total),
    }


def payment(
    payment_id: str, invoice_id: str, customer_id: str, amount: str, **extra: Any
) -> dict[str, Any]:
    return {
        "id": payment_id,
        "invoice_id": invoice_id,
        "customer_id": customer_id,
        "amount": amount,
        "method": "card",
        "received_on": "2030-01-02",
        **extra,
    }


def credit(credit_id: str, customer_id: str, amount: str) -> dict[str, Any]:
    return {
        "id": credit_id,
        "customer_id": customer_id,
        "amount": amount,
        "method": "check",
        "received_on": "2030-01-03",
    }


def refund(refund_id: str, amount: str) -> dict[str, Any]:
    return {"id": refund_id, "amount": amount, "reason": "Goodwill", "refunded_on": "2030-01-04"}


def payment_recorded_json(
    company_id: str,
    customer_id: str,
    invoice_id: str,
    payment_id: str,
    amount: str,
    currency: str = "USD",
    customer_data: dict[str, Any] | None = None,
    **invoice_args: Any,
) -> dict[str, Any]:
    """payment.recorded with its invoice and customer snapshots (invoice_args go to `invoice`)."""
    the_invoice = {**invoice(invoice_id, customer_id, **invoice_args), "currency": currency}
    return event_json(
        company_id,
        "payment.recorded",
        {
            "payment": payment(payment_id, invoice_id, customer_id, amount, currency=currency),
            "invoice": the_invoice,
            "customer": customer_data or customer(customer_id),
        },
    )
