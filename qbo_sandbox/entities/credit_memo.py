"""CreditMemo: a credit to a customer's account; payments consume it (Balance/RemainingCredit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import NUMBER, Field
from qbo_sandbox.entities.transactions import (
    SALES_FORM_FIELDS,
    SALES_FORM_READ_ONLY,
    SalesFormRules,
)


class CreditMemoRules(SalesFormRules):
    name = "CreditMemo"
    writable: ClassVar[Mapping[str, Field]] = dict(SALES_FORM_FIELDS)
    read_only: ClassVar[Mapping[str, Field]] = {**SALES_FORM_READ_ONLY, "RemainingCredit": NUMBER}
    receivable = True
