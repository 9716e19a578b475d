"""The chart of accounts every new sandbox company starts with."""

from __future__ import annotations

from qbo_sandbox import writes
from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.realms import Realm, Record

STANDARD_ACCOUNTS: tuple[dict[str, str], ...] = (
    {
        "Name": "Sales of Product Income",
        "AccountType": "Income",
        "AccountSubType": "SalesOfProductIncome",
    },
    {"Name": "Services", "AccountType": "Income", "AccountSubType": "ServiceFeeIncome"},
    {
        "Name": "Undeposited Funds",
        "AccountType": "Other Current Asset",
        "AccountSubType": "UndepositedFunds",
    },
    {"Name": "Checking", "AccountType": "Bank", "AccountSubType": "Checking"},
    {
        "Name": "Accounts Receivable (A/R)",
        "AccountType": "Accounts Receivable",
        "AccountSubType": "AccountsReceivable",
    },
)


def seed_chart_of_accounts(realm: Realm) -> list[Record]:
    return [writes.save(realm, ENTITIES["Account"], dict(account)) for account in STANDARD_ACCOUNTS]
