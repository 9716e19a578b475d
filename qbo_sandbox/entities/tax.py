"""TaxAgency, TaxRate and TaxCode: the sales tax name lists (Finance.xsd field names).

Agencies are created with `POST /taxagency`; rates and codes only through the TaxService
(`POST /taxservice/taxcode`, tax.py), as in QBO, so their own endpoints read and query only.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import (
    ARRAY,
    BOOLEAN,
    DATE,
    NUMBER,
    OBJECT,
    REFERENCE,
    STRING,
    EntityRules,
    Field,
    Kind,
    require,
    resolve_reference,
)
from qbo_sandbox.realms import Realm, Record

USER_DEFINED = "USER_DEFINED"
SYSTEM_GENERATED = "SYSTEM_GENERATED"
"""`TaxAgencyConfig` / `TaxCodeConfigType`: made by the user (or an app) or by the AST engine."""
SPECIAL_TAX_TYPES = ("NONE", "ZERO_RATE", "ADJUSTMENT_RATE", "REVERSE_CHARGE")
DISPLAY_TYPES = ("ReadOnly", "HideInTransactionForms", "HideInPrintForms", "HideInAll")


class TaxAgencyRules(EntityRules):
    name = "TaxAgency"
    writable: ClassVar[Mapping[str, Field]] = {
        "DisplayName": Field(Kind.STRING, max_length=100),
        "TaxTrackedOnSales": BOOLEAN,
        "TaxTrackedOnPurchases": BOOLEAN,
        "TaxRegistrationNumber": STRING,
        "ReportingPeriod": STRING,
        "TaxAgencyExtension": OBJECT,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "TaxAgencyConfig": STRING,
        "LastFileDate": DATE,
        "TaxTrackedOnSalesAccountRef": REFERENCE,
    }
    name_field = "DisplayName"
    name_scope = ("TaxAgency",)
    name_taken_by = "Another tax agency"
    updatable = False

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("TaxTrackedOnSales", True)
        record.setdefault("TaxTrackedOnPurchases", False)
        record.setdefault("TaxAgencyConfig", USER_DEFINED)


class TaxRateRules(EntityRules):
    name = "TaxRate"
    writable: ClassVar[Mapping[str, Field]] = {
        "Name": Field(Kind.STRING, max_length=100),
        "Description": Field(Kind.STRING, max_length=100),
        "Active": BOOLEAN,
        "RateValue": NUMBER,
        "AgencyRef": REFERENCE,
        "TaxReturnLineRef": REFERENCE,
        "SpecialTaxType": Field(Kind.STRING, choices=SPECIAL_TAX_TYPES),
        "DisplayType": Field(Kind.STRING, choices=DISPLAY_TYPES),
        "EffectiveTaxRate": ARRAY,
        "OriginalTaxRate": STRING,
    }
    name_field = "Name"
    name_scope = ("TaxRate",)
    name_taken_by = "Another tax rate"
    creatable = False
    updatable = False

    def validate(self, realm: Realm, record: Record) -> None:
        require(record, "RateValue", "AgencyRef")
        resolve_reference(realm, record, "AgencyRef", "TaxAgency")

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("Description", record["Name"])
        record.setdefault("SpecialTaxType", "NONE")
        record.setdefault("DisplayType", "ReadOnly")


class TaxCodeRules(EntityRules):
    name = "TaxCode"
    writable: ClassVar[Mapping[str, Field]] = {
        "Name": Field(Kind.STRING, max_length=100),
        "Description": Field(Kind.STRING, max_length=100),
        "Active": BOOLEAN,
        "Hidden": BOOLEAN,
        "Taxable": BOOLEAN,
        "TaxGroup": BOOLEAN,
        "SalesTaxRateList": OBJECT,
        "PurchaseTaxRateList": OBJECT,
    }
    read_only: ClassVar[Mapping[str, Field]] = {"TaxCodeConfigType": STRING}
    name_field = "Name"
    name_scope = ("TaxCode",)
    name_taken_by = "Another tax code"
    creatable = False
    updatable = False

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("Description", record["Name"])
        record.setdefault("Hidden", False)
        record.setdefault("Taxable", True)
        record.setdefault("TaxGroup", True)
        record.setdefault("SalesTaxRateList", {"TaxRateDetail": []})
        record.setdefault("PurchaseTaxRateList", {"TaxRateDetail": []})
        record.setdefault("TaxCodeConfigType", USER_DEFINED)


def sales_rate_ids(code: Record) -> list[str]:
    """The Ids of a tax code's sales rates, in TaxOrder."""
    details = (code.get("SalesTaxRateList") or {}).get("TaxRateDetail") or []
    ordered = sorted(details, key=lambda detail: int(detail.get("TaxOrder", 0)))
    return [str(detail["TaxRateRef"]["value"]) for detail in ordered]
