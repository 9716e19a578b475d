"""Account (chart of accounts): Name unique among accounts; the type decides the classification."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import (
    BOOLEAN,
    DATE,
    HOME_CURRENCY,
    NUMBER,
    REFERENCE,
    STRING,
    ZERO,
    EntityRules,
    Field,
    Kind,
    require,
)
from qbo_sandbox.realms import Realm, Record

# AccountType → (Classification, the AccountSubType QBO picks when none is sent)
ACCOUNT_TYPES: Mapping[str, tuple[str, str]] = {
    "Bank": ("Asset", "Checking"),
    "Other Current Asset": ("Asset", "OtherCurrentAssets"),
    "Fixed Asset": ("Asset", "OtherFixedAssets"),
    "Other Asset": ("Asset", "OtherLongTermAssets"),
    "Accounts Receivable": ("Asset", "AccountsReceivable"),
    "Equity": ("Equity", "OpeningBalanceEquity"),
    "Expense": ("Expense", "OtherMiscellaneousServiceCost"),
    "Other Expense": ("Expense", "OtherMiscellaneousExpense"),
    "Cost of Goods Sold": ("Expense", "SuppliesMaterialsCogs"),
    "Accounts Payable": ("Liability", "AccountsPayable"),
    "Credit Card": ("Liability", "CreditCard"),
    "Long Term Liability": ("Liability", "OtherLongTermLiabilities"),
    "Other Current Liability": ("Liability", "OtherCurrentLiabilities"),
    "Income": ("Revenue", "ServiceFeeIncome"),
    "Other Income": ("Revenue", "OtherMiscellaneousIncome"),
}


class AccountRules(EntityRules):
    name = "Account"
    writable: ClassVar[Mapping[str, Field]] = {
        "Name": Field(Kind.STRING, max_length=100),
        "AcctNum": Field(Kind.STRING, max_length=20),
        "Description": Field(Kind.STRING, max_length=100),
        "Active": BOOLEAN,
        "AccountType": Field(Kind.STRING, choices=tuple(ACCOUNT_TYPES)),
        "AccountSubType": STRING,
        "SubAccount": BOOLEAN,
        "ParentRef": REFERENCE,
        "TaxCodeRef": REFERENCE,
        "TxnLocationType": STRING,
        "AccountAlias": STRING,
        "OpeningBalance": NUMBER,
        "OpeningBalanceDate": DATE,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "FullyQualifiedName": STRING,
        "Classification": STRING,
        "CurrentBalance": NUMBER,
        "CurrentBalanceWithSubAccounts": NUMBER,
        "CurrencyRef": REFERENCE,
    }
    name_field = "Name"
    name_scope = ("Account",)
    name_taken_by = "Another account"

    def server_defaults(self) -> Record:
        return {"CurrentBalance": ZERO, "CurrentBalanceWithSubAccounts": ZERO}

    def validate(self, realm: Realm, record: Record) -> None:
        require(record, "AccountType")

    def complete(self, realm: Realm, record: Record) -> None:
        classification, default_sub_type = ACCOUNT_TYPES[record["AccountType"]]
        record["FullyQualifiedName"] = record["Name"]
        record["Classification"] = classification
        record.setdefault("AccountSubType", default_sub_type)
        record.setdefault("SubAccount", False)
        record["CurrencyRef"] = dict(HOME_CURRENCY)
