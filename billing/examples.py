"""One example of each billing event, as the backend sends it (the help page's customer and
invoice), for the API docs and the schema files; each passes the door (tests/test_openapi.py)."""

from __future__ import annotations

from typing import Any

COMPANY = "co_42"
CUSTOMER: dict[str, Any] = {
    "id": "cust_1001",
    "first_name": "Jane",
    "last_name": "Smith",
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
}
CHLORINE: dict[str, Any] = {
    "id": "prod_chlorine",
    "name": "Chlorine tabs",
    "unit_price": "24.50",
    "active": True,
    "kind": "non_inventory",
}
WEEKLY_CLEANING: dict[str, Any] = {
    "id": "wot_weekly",
    "name": "Weekly cleaning",
    "unit_price": "120.00",
    "active": True,
    "kind": "service",
}
CHLORINE_DOSE: dict[str, Any] = {
    "id": "dose_chlorine",
    "name": "Liquid chlorine (gal)",
    "unit_price": "5.99",
    "active": True,
    "kind": "service",
}
INVOICE: dict[str, Any] = {
    "id": "inv_1043",
    "number": "1043",
    "customer_id": "cust_1001",
    "issued_on": "2026-11-26",
    "due_on": "2026-12-10",
    "created_at": "2026-11-26T09:58:00Z",
    "lines": [
        {
            "item_id": "wot_weekly",
            "item_type": "work_order_type",
            "item": WEEKLY_CLEANING,
            "quantity": "1",
            "unit_price": "120.00",
            "amount": "120.00",
        },
        {
            "item_id": "prod_chlorine",
            "item_type": "product",
            "item": CHLORINE,
            "quantity": "2",
            "unit_price": "24.50",
            "amount": "49.00",
        },
    ],
    "total": "169.00",
    "amount_due": "169.00",
}
PAYMENT: dict[str, Any] = {
    "id": "pay_77",
    "invoice_id": "inv_1043",
    "customer_id": "cust_1001",
    "amount": "169.00",
    "method": "card",
    "received_on": "2026-11-26",
}
CREDIT: dict[str, Any] = {
    "id": "cr_9",
    "customer_id": "cust_1001",
    "amount": "75.00",
    "method": "check",
    "received_on": "2026-11-27",
}
PAYMENT_REFUND = {
    "id": "ref_5",
    "amount": "20.00",
    "reason": "Goodwill",
    "refunded_on": "2026-11-28",
}
CREDIT_REFUND = {"id": "ref_6", "amount": "75.00", "refunded_on": "2026-11-29"}
PAYOUT: dict[str, Any] = {
    "id": "po_9001",
    "arrived_on": "2026-11-30",
    "gross": "169.00",
    "fees": "5.20",
    "net": "163.80",
    "payment_ids": ["pay_77"],
}

EVENT_DATA: dict[str, dict[str, Any]] = {
    "customer.saved": {"customer": CUSTOMER},
    "product.saved": {"item": CHLORINE},
    "work_order_type.saved": {"item": WEEKLY_CLEANING},
    "dosage.saved": {"item": CHLORINE_DOSE},
    "invoice.saved": {"invoice": INVOICE},
    "invoice.voided": {"invoice_id": "inv_1043"},
    "invoice.deleted": {"invoice_id": "inv_1043"},
    "payment.recorded": {"payment": PAYMENT, "invoice": INVOICE, "customer": CUSTOMER},
    "payment.deleted": {"payment_id": "pay_77", "invoice_id": "inv_1043"},
    "payment.voided": {"payment_id": "pay_77", "invoice_id": "inv_1043"},
    "payment.refunded": {"payment_id": "pay_77", "refund": PAYMENT_REFUND},
    "credit.recorded": {"credit": CREDIT, "customer": CUSTOMER},
    "credit.applied": {
        "credit_id": "cr_9",
        "invoice": INVOICE,
        "customer": CUSTOMER,
        "amount": "75.00",
    },
    "credit.refunded": {"credit_id": "cr_9", "refund": CREDIT_REFUND},
    "payout.paid": {"payout": PAYOUT},
}


def example_event(event_type: str) -> dict[str, Any]:
    """The example `event_type` event, a body POST /events accepts."""
    return {
        "event_id": f"evt_{event_type.replace('.', '_')}_1",
        "type": event_type,
        "company_id": COMPANY,
        "occurred_at": "2026-11-26T10:00:00Z",
        "data": EVENT_DATA[event_type],
    }
