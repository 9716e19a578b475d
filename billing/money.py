"""Money as `Decimal` with exactly two places; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer, WithJsonSchema

CENT = Decimal("0.01")
# The largest amount the service takes (QBO stores amounts with 15 significant digits).
MAX_AMOUNT = Decimal("99999999.99")
MAX_QUANTITY = Decimal(1_000_000)


def _to_cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if abs(value) > MAX_AMOUNT:
        raise ValueError(f"must be at most {MAX_AMOUNT:,} in size")
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError("must have at most two decimal places")
    return value.quantize(CENT)


def _more_than_zero(value: Decimal) -> Decimal:
    if value <= 0:
        raise ValueError("must be more than zero")
    return value


def _quantity(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite quantity")
    if abs(value) > MAX_QUANTITY:
        raise ValueError(f"must be at most {MAX_QUANTITY:,} in size")
    return value


def _number_or_text(description: str, **bounds: float) -> WithJsonSchema:
    """What the JSON Schema says a sender may send (the validators above are the rules)."""
    number = {"type": "number", **bounds}
    schema = {"anyOf": [number, {"type": "string"}], "description": description}
    return WithJsonSchema(schema, mode="validation")


Money = Annotated[
    Decimal,
    AfterValidator(_to_cents),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    _number_or_text(
        'Dollars, at most two places: "120.00", "120" or 120 (answered as "120.00").',
        minimum=-float(MAX_AMOUNT),
        maximum=float(MAX_AMOUNT),
    ),
]
"""An amount in dollars: accepts "120.00", "120" or 120; serialises as "120.00"."""

PositiveMoney = Annotated[
    Decimal,
    AfterValidator(_to_cents),
    AfterValidator(_more_than_zero),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
    _number_or_text(
        'Dollars paid, credited or refunded: more than zero, at most two places ("120.00").',
        exclusiveMinimum=0,
        maximum=float(MAX_AMOUNT),
    ),
]
"""An amount paid, credited or refunded: `Money` that is more than zero."""

Quantity = Annotated[
    Decimal,
    AfterValidator(_quantity),
    _number_or_text(
        "How many: any number of places.",
        minimum=-float(MAX_QUANTITY),
        maximum=float(MAX_QUANTITY),
    ),
]
"""How many of an item: finite, at most a million either way, any number of places."""


def format_usd(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
