"""Vendor: a name-list entity (suppliers, 1099 contractors) sharing the customer/employee
DisplayName namespace (see contact.py); shaped like `get/inactive_vendors.yml`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.contact import (
    BUSINESS_CONTACT_FIELDS,
    ContactRules,
    masked_tax_identifier,
)
from qbo_sandbox.entities.schema import (
    BOOLEAN,
    HOME_CURRENCY,
    NUMBER,
    OBJECT,
    REFERENCE,
    STRING,
    ZERO,
    Field,
    Kind,
)
from qbo_sandbox.realms import Realm, Record


class VendorRules(ContactRules):
    name = "Vendor"
    writable: ClassVar[Mapping[str, Field]] = {
        **BUSINESS_CONTACT_FIELDS,
        "TaxIdentifier": Field(Kind.STRING, max_length=20),
        "AcctNum": Field(Kind.STRING, max_length=100),
        "Vendor1099": BOOLEAN,
        "TermRef": REFERENCE,
        "APAccountRef": REFERENCE,
        "BillRate": NUMBER,
        "CostRate": NUMBER,
        "TaxReportingBasis": Field(Kind.STRING, choices=("Cash", "Accrual")),
        "T4AEligible": BOOLEAN,
        "T5018Eligible": BOOLEAN,
        "HasTPAR": BOOLEAN,
        "BusinessNumber": STRING,
        "GSTIN": STRING,
        "GSTRegistrationType": STRING,
        "VendorPaymentBankDetail": OBJECT,
        "Source": STRING,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "Balance": NUMBER,
        "CurrencyRef": REFERENCE,
        "V4IDPseudonym": STRING,
    }

    def server_defaults(self) -> Record:
        # Open A/P: bills and vendor credits are not served, so a vendor never owes or is owed.
        return {"Balance": ZERO}

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("Vendor1099", False)
        record["CurrencyRef"] = dict(HOME_CURRENCY)
        if record.get("TaxIdentifier"):
            # QBO never shows a tax id whole; the sandbox keeps only what it shows.
            record["TaxIdentifier"] = masked_tax_identifier(record["TaxIdentifier"])
        super().complete(realm, record)
