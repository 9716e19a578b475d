"""The entity types this sandbox serves; add a rules module and list it here to serve another."""

from __future__ import annotations

from qbo_sandbox.entities.account import AccountRules
from qbo_sandbox.entities.company_info import CompanyInfoRules
from qbo_sandbox.entities.credit_memo import CreditMemoRules
from qbo_sandbox.entities.customer import CustomerRules
from qbo_sandbox.entities.deposit import DepositRules
from qbo_sandbox.entities.employee import EmployeeRules
from qbo_sandbox.entities.invoice import InvoiceRules
from qbo_sandbox.entities.item import ItemRules
from qbo_sandbox.entities.journal_entry import JournalEntryRules
from qbo_sandbox.entities.payment import PaymentRules
from qbo_sandbox.entities.preferences import PreferencesRules
from qbo_sandbox.entities.refund_receipt import RefundReceiptRules
from qbo_sandbox.entities.schema import EntityRules
from qbo_sandbox.entities.tax import TaxAgencyRules, TaxCodeRules, TaxRateRules
from qbo_sandbox.entities.vendor import VendorRules

ENTITIES: dict[str, EntityRules] = {
    rules.name: rules
    for rules in (
        CustomerRules(),
        VendorRules(),
        EmployeeRules(),
        ItemRules(),
        AccountRules(),
        InvoiceRules(),
        PaymentRules(),
        RefundReceiptRules(),
        JournalEntryRules(),
        CreditMemoRules(),
        DepositRules(),
        CompanyInfoRules(),
        PreferencesRules(),
        TaxAgencyRules(),
        TaxRateRules(),
        TaxCodeRules(),
    )
}

TRANSACTIONS = tuple(name for name, rules in ENTITIES.items() if rules.deletable)


def by_path(segment: str) -> EntityRules | None:
    """The entity for a URL segment (`customer`) or query name, case-insensitively."""
    lowered = segment.lower()
    return next((rules for rules in ENTITIES.values() if rules.path == lowered), None)


__all__ = ["ENTITIES", "TRANSACTIONS", "EntityRules", "by_path"]
