"""Bad numbers stop at the door: `POST /events` answers 422 naming the field, never 202 or 500.

Each money and quantity field of every event type that carries one gets each bad kind of number,
as a JSON number and as a string; the same event with a good number is let through (409 here:
the company never connected, so nothing ever runs).
"""

from __future__ import annotations

import copy
import json
from typing import Any, get_args

import httpx
import pytest

from billing.events import BillingEvent
from store import Store
from tests.events import credit, customer, event_json, invoice, item, payment, refund

Path = tuple[str | int, ...]

# Zero and less are refused only where money changes hands; invoice lines may be 0 or negative
# (free items, returns), and quantities may be negative (a return line).
BAD_AMOUNTS_PAID = ["0", "-5", "12.345", "NaN", "Infinity", "1e30"]
BAD_AMOUNTS = ["12.345", "NaN", "Infinity", "-Infinity", "1e30", "-1e30"]
BAD_QUANTITIES = ["NaN", "Infinity", "1e999999", "1000001", "-1000001"]

INVOICE_MONEY: list[Path] = [
    ("lines", 0, "unit_price"),
    ("lines", 0, "amount"),
    ("lines", 0, "item", "unit_price"),
    ("total",),
    ("amount_due",),
]
INVOICE_QUANTITIES: list[Path] = [
    ("lines", 0, "quantity"),
    ("lines", 0, "item", "quantity_on_hand"),
]


def on(prefix: Path, paths: list[Path]) -> list[Path]:
    return [prefix + path for path in paths]


# event type → (a good `data`, the paid/credited/refunded amounts, other money, quantities)
EVENTS: dict[str, tuple[dict[str, Any], list[Path], list[Path], list[Path]]] = {
    "product.saved": (
        {"item": item("p1", quantity_on_hand="3")},
        [],
        [("item", "unit_price")],
        [("item", "quantity_on_hand")],
    ),
    "work_order_type.saved": ({"item": item("w1")}, [], [("item", "unit_price")], []),
    "dosage.saved": (
        {"item": item("d1", quantity_on_hand="3")},
        [],
        [("item", "unit_price")],
        [("item", "quantity_on_hand")],
    ),
    "invoice.saved": (
        {"invoice": invoice("i1", "c1")},
        [],
        on(("invoice",), INVOICE_MONEY),
        on(("invoice",), INVOICE_QUANTITIES),
    ),
    "payment.recorded": (
        {"payment": payment("p1", "i1", "c1", "20.00"), "invoice": invoice("i1", "c1"), "customer": customer("c1")},
        [("payment", "amount")],
        on(("invoice",), INVOICE_MONEY),
        on(("invoice",), INVOICE_QUANTITIES),
    ),
    "payment.refunded": (
        {"payment_id": "p1", "refund": refund("r1", "5.00")},
        [("refund", "amount")],
        [],
        [],
    ),
    "credit.recorded": (
        {"credit": credit("cr1", "c1", "40.00"), "customer": customer("c1")},
        [("credit", "amount")],
        [],
        [],
    ),
    "credit.applied": (
        {"credit_id": "cr1", "invoice": invoice("i1", "c1"), "customer": customer("c1"), "amount": "10.00"},
        [("amount",)],
        on(("invoice",), INVOICE_MONEY),
        on(("invoice",), INVOICE_QUANTITIES),
    ),
    "credit.refunded": (
        {"credit_id": "cr1", "refund": refund("r2", "5.00")},
        [("refund", "amount")],
        [],
        [],
    ),
    "payout.paid": (
        {"payout": {"id": "po1", "arrived_on": "2030-01-05", "gross": "100.00", "fees": "3.00", "net": "97.00", "payment_ids": ["p1"]}},
        [("payout", "gross"), ("payout", "net")],
        [("payout", "fees")],
        [],
    ),
}  # fmt: skip

BAD = "__the_bad_number__"


def with_value(data: dict[str, Any], path: Path, value: object) -> dict[str, Any]:
    changed = copy.deepcopy(data)
    parent: Any = changed
    for step in path[:-1]:
        parent = parent[step]
    parent[path[-1]] = value
    return changed


def bodies(type_: str, data: dict[str, Any], path: Path, bad: str) -> list[tuple[str, str]]:
    """The event with `bad` at `path`: as a JSON number (NaN and Infinity as Python writes
    them), and as a string; each with its own event id."""
    sent = []
    for token in (bad, json.dumps(bad)):
        raw = event_json("co_never_connected", type_, with_value(data, path, BAD))
        sent.append((raw["event_id"], json.dumps(raw).replace(json.dumps(BAD), token)))
    return sent


def field_errors(reply: httpx.Response) -> list[tuple[Any, ...]]:
    if reply.status_code != 422:
        return []
    return [tuple(error["loc"]) for error in reply.json()["detail"]]


def names(reply: httpx.Response, path: Path) -> bool:
    wanted = ("data", *path)
    return any(loc[-len(wanted) :] == wanted for loc in field_errors(reply))


@pytest.mark.parametrize("type_", sorted(EVENTS))
async def test_bad_amounts_and_quantities_answer_422_naming_the_field(
    api: str, http: httpx.AsyncClient, store: Store, type_: str
) -> None:
    data, paid, money, quantities = EVENTS[type_]
    good = event_json("co_never_connected", type_, data)
    control = await http.post(f"{api}/events", json=good)
    # Past the door, the company is found never connected.
    assert (control.status_code, field_errors(control)) == (409, []), control.text
    cases = (
        [(path, bad) for path in paid for bad in BAD_AMOUNTS_PAID]
        + [(path, bad) for path in money for bad in BAD_AMOUNTS]
        + [(path, bad) for path in quantities for bad in BAD_QUANTITIES]
    )
    refused = []
    for path, bad in cases:
        for event_id, body in bodies(type_, data, path, bad):
            reply = await http.post(
                f"{api}/events", content=body, headers={"content-type": "application/json"}
            )
            assert reply.status_code == 422, f"{path}={bad}: {reply.status_code} {reply.text}"
            assert names(reply, path), f"{path}={bad}: {reply.text}"
            assert await store.get_event(event_id) is None
            refused.append(event_id)
    assert len(refused) == 2 * len(cases)


async def test_good_edge_numbers_pass_the_door(
    api: str, http: httpx.AsyncClient, store: Store
) -> None:
    """The limits themselves are fine: a cent, the largest amount, a million units, a return."""
    data, _, _, _ = EVENTS["payment.recorded"]
    for path, value in [
        (("payment", "amount"), "0.01"),
        (("payment", "amount"), "99999999.99"),
        (("payment", "amount"), 120),
        (("invoice", "lines", 0, "quantity"), "1000000"),
        (("invoice", "lines", 0, "quantity"), "-1"),
        (("invoice", "amount_due"), "0.00"),
    ]:
        body = event_json("co_never_connected", "payment.recorded", with_value(data, path, value))
        reply = await http.post(f"{api}/events", json=body)
        assert reply.status_code == 409, f"{path}={value}: {reply.text}"
        assert "no QuickBooks connection" in reply.text


def test_every_event_type_with_a_number_is_covered() -> None:
    (union, *_) = get_args(BillingEvent)
    declared = {get_args(model.model_fields["type"].annotation)[0] for model in get_args(union)}
    without_numbers = {"customer.saved", "invoice.voided", "invoice.deleted", "payment.deleted", "payment.voided"}  # fmt: skip
    assert set(EVENTS) <= declared and declared - set(EVENTS) <= without_numbers
