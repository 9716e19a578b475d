"""Money as `Decimal` with exactly two places; never float."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated

from pydantic import AfterValidator, PlainSerializer

CENT = Decimal("0.01")


def _to_cents(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise ValueError("must be a finite amount")
    if value != value.quantize(CENT, rounding=ROUND_HALF_UP):
        raise ValueError("must have at most two decimal places")
    return value.quantize(CENT)


Money = Annotated[
    Decimal,
    AfterValidator(_to_cents),
    PlainSerializer(lambda v: f"{v:.2f}", return_type=str, when_used="json"),
]
"""An amount in dollars: accepts "120.00", "120" or 120; serialises as "120.00"."""


def format_usd(amount: Decimal) -> str:
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
