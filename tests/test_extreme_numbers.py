"""No input can wedge a customer's lane: extreme but valid-looking numbers (the largest amounts,
a million units, ten decimal places, exponents, negative lines) are refused at the door, or run
to `completed`, or fail that one event with a plain message; the next event always runs."""

from __future__ import annotations

import json
import os
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, Phase, given, note, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from billing.events import BillingEvent, parse_event
from billing.money import CENT, MAX_AMOUNT, MAX_QUANTITY
from starter.dispatch import EventDispatcher
from store import Store
from tests.events import credit, customer, event_json, item, new_id, payment, refund, wait_done
from tests.test_billing_property import new_company

pytestmark = pytest.mark.usefixtures("worker")

AMOUNTS = [
    "0.01",
    "0.99",
    "1",
    "19.99",
    "12345678.91",
    "99999999.99",
    "99999999.999",
    "1E+8",
    "1e-2",
]
QUANTITIES = ["1", "0.0000000001", "0.3333333333", "2.5", "-1", "1E+6", "999999.9999999", "1000000.0001", "0E-10"]  # fmt: skip


def line(item_id: str, quantity: str, unit_price: str) -> dict[str, Any]:
    amount = (Decimal(quantity) * Decimal(unit_price)).quantize(CENT, rounding=ROUND_HALF_UP)
    return {
        "item_id": item_id,
        "item_type": "product",
        "item": item(item_id, name=f"Item {item_id}", price=unit_price),
        "quantity": quantity,
        "unit_price": unit_price,
        "amount": str(amount),
    }


def an_invoice(invoice_id: str, customer_id: str, lines: list[dict[str, Any]]) -> dict[str, Any]:
    total = sum((Decimal(x["amount"]) for x in lines), Decimal(0))
    return {
        "id": invoice_id,
        "number": invoice_id.upper()[:21],
        "customer_id": customer_id,
        "issued_on": "2030-01-01",
        "created_at": "2030-01-01T00:00:00Z",
        "lines": lines,
        "total": str(total),
        "amount_due": str(total),
    }


@st.composite
def extreme_events(draw: st.DrawFn, company_id: str) -> list[dict[str, Any]]:
    """One customer's events, each carrying numbers drawn from the edges of what is allowed."""
    cid = new_id("cust")
    person = customer(cid, first=cid, email=f"{cid}@example.com")
    amount = st.sampled_from(AMOUNTS)
    lines = [
        line(f"prod_{n}", draw(st.sampled_from(QUANTITIES)), draw(amount))
        for n in range(draw(st.integers(1, 3)))
    ]
    iid, pid, crid = new_id("inv"), new_id("pay"), new_id("cr")
    bodies: list[tuple[str, dict[str, Any]]] = [
        ("payment.recorded", {"payment": payment(pid, iid, cid, draw(amount)), "invoice": an_invoice(iid, cid, lines), "customer": person}),
        ("payment.refunded", {"payment_id": pid, "refund": refund(new_id("ref"), draw(amount))}),
        ("payment.deleted", {"payment_id": pid, "invoice_id": iid}),
        ("credit.recorded", {"credit": credit(crid, cid, draw(amount)), "customer": person}),
        ("credit.applied", {"credit_id": crid, "invoice": an_invoice(iid, cid, lines), "customer": person, "amount": draw(amount)}),
        ("credit.refunded", {"credit_id": crid, "refund": refund(new_id("ref"), draw(amount))}),
        ("customer.saved", {"customer": person}),  # the lane's last event: it must always run
    ]  # fmt: skip
    return [event_json(company_id, type_, data) for type_, data in bodies]


def out_of_bounds(raw: dict[str, Any]) -> bool:
    """Whether a number in the event is beyond what API.md accepts (the door must refuse it)."""
    text = json.dumps(raw)
    for value in AMOUNTS + QUANTITIES:
        if f'"{value}"' not in text:
            continue
        number = Decimal(value)
        if value in AMOUNTS and (abs(number) > MAX_AMOUNT or number != number.quantize(CENT)):
            return True
        if value in QUANTITIES and abs(number) > MAX_QUANTITY:
            return True
    invoice = raw["data"].get("invoice")
    computed = [x["amount"] for x in invoice["lines"]] + [invoice["total"]] if invoice else []
    return any(abs(Decimal(amount)) > MAX_AMOUNT for amount in computed)


@settings(
    max_examples=int(os.environ.get("BILLING_EXAMPLES", "6")),
    deadline=None,
    suppress_health_check=list(HealthCheck),
    phases=(Phase.explicit, Phase.reuse, Phase.generate),
)
@given(data=st.data())
async def test_extreme_numbers_never_wedge_a_lane(
    data: st.DataObject,
    dispatcher: EventDispatcher,
    store: Store,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    company = await new_company(sandbox_url, store, http)
    raws = data.draw(extreme_events(company.company_id))
    accepted: list[BillingEvent] = []
    for raw in raws:
        note(f"{raw['type']}: {json.dumps(raw['data'])}")
        try:
            accepted.append(parse_event(json.dumps(raw)))
        except ValidationError:
            assert out_of_bounds(raw), f"{raw['type']} refused at the door but within bounds"
            continue
        assert not out_of_bounds(raw), f"{raw['type']} accepted with out-of-bounds numbers"
    for event in accepted:
        await dispatcher.submit(event)
    for event in accepted:
        status = await wait_done(dispatcher, event.event_id, timeout=90)
        assert status.status in ("completed", "failed"), status
        assert status.message, f"{event.type} ended {status.status} without a word"
        assert "internal error" not in status.message, status.message
    final = accepted[-1]
    assert final.type == "customer.saved"
    assert (await wait_done(dispatcher, final.event_id)).status == "completed"
