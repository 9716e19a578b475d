"""Customer: a name-list entity whose DisplayName is unique across customers, vendors and
employees (inactive included; see contact.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.entities.contact import BUSINESS_CONTACT_FIELDS, ContactRules
from qbo_sandbox.entities.schema import (
    ARRAY,
    BOOLEAN,
    DATE,
    HOME_CURRENCY,
    NUMBER,
    OBJECT,
    REFERENCE,
    STRING,
    ZERO,
    Field,
    Kind,
    resolve_reference,
)
from qbo_sandbox.realms import Realm, Record


class CustomerRules(ContactRules):
    name = "Customer"
    writable: ClassVar[Mapping[str, Field]] = {
        **BUSINESS_CONTACT_FIELDS,
        "ShipAddr": OBJECT,
        "Notes": Field(Kind.STRING, max_length=2000),
        "Job": BOOLEAN,
        "BillWithParent": BOOLEAN,
        "ParentRef": REFERENCE,
        "Taxable": BOOLEAN,
        "DefaultTaxCodeRef": REFERENCE,
        "TaxExemptionReasonId": STRING,
        "SalesTermRef": REFERENCE,
        "PaymentMethodRef": REFERENCE,
        "CustomerTypeRef": REFERENCE,
        "ARAccountRef": REFERENCE,
        "PreferredDeliveryMethod": Field(Kind.STRING, choices=("Print", "Email", "None")),
        "ResaleNum": Field(Kind.STRING, max_length=16),
        "PrimaryTaxIdentifier": STRING,
        "SecondaryTaxIdentifier": STRING,
        "BusinessNumber": STRING,
        "GSTIN": STRING,
        "GSTRegistrationType": STRING,
        "IsProject": BOOLEAN,
        "OpenBalanceDate": DATE,
        "Source": STRING,
        "CustomField": ARRAY,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "Balance": NUMBER,
        "BalanceWithJobs": NUMBER,
        "FullyQualifiedName": STRING,
        "Level": NUMBER,
        "CurrencyRef": REFERENCE,
        "V4IDPseudonym": STRING,
    }

    def server_defaults(self) -> Record:
        return {"Balance": ZERO, "BalanceWithJobs": ZERO}

    def validate(self, realm: Realm, record: Record) -> None:
        if record.get("Active") is False and record.get("Balance", ZERO) != ZERO:
            raise faults.business_validation(
                "You can't make this customer inactive because it has an open balance."
            )

    def complete(self, realm: Realm, record: Record) -> None:
        parent = resolve_reference(realm, record, "ParentRef", "Customer")
        record["Job"] = parent is not None
        record.setdefault("BillWithParent", False)
        record.setdefault("Taxable", False)
        record.setdefault("PreferredDeliveryMethod", "Print")
        record["CurrencyRef"] = dict(HOME_CURRENCY)
        super().complete(realm, record)
        if parent is None:
            record["FullyQualifiedName"] = record["DisplayName"]
            record.pop("Level", None)
        else:
            record["FullyQualifiedName"] = f"{parent['FullyQualifiedName']}:{record['DisplayName']}"
            record["Level"] = parent.get("Level", 0) + 1
