"""What every new sandbox company starts with: CompanyInfo, Preferences, a chart of accounts."""

from __future__ import annotations

import copy

from qbo_sandbox import clock, writes
from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.entities.company_info import starting_company_info
from qbo_sandbox.entities.preferences import STARTING_PREFERENCES
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
    # What a real small business's chart also has (added after the first five: their Ids stay).
    {"Name": "Merchant Account Fees", "AccountType": "Expense", "AccountSubType": "BankCharges"},
    {
        "Name": "Miscellaneous",
        "AccountType": "Other Expense",
        "AccountSubType": "OtherMiscellaneousExpense",
    },
    {"Name": "Mastercard", "AccountType": "Credit Card", "AccountSubType": "CreditCard"},
    {"Name": "Inventory", "AccountType": "Other Current Asset", "AccountSubType": "Inventory"},
    {
        "Name": "Supplies & Materials - COGS",
        "AccountType": "Cost of Goods Sold",
        "AccountSubType": "SuppliesMaterialsCogs",
    },
    {
        "Name": "Sales Tax Payable",
        "AccountType": "Other Current Liability",
        "AccountSubType": "SalesTaxPayable",
    },
)


def seed_chart_of_accounts(realm: Realm) -> list[Record]:
    """Seed a new company (its CompanyInfo and Preferences too); returns the accounts."""
    if not realm.table("CompanyInfo"):
        today = clock.now().date().isoformat()
        writes.save(realm, ENTITIES["CompanyInfo"], starting_company_info(realm, today))
        writes.save(realm, ENTITIES["Preferences"], copy.deepcopy(STARTING_PREFERENCES))
    return [writes.save(realm, ENTITIES["Account"], dict(account)) for account in STANDARD_ACCOUNTS]
