"""Item (products and services): Name unique among items; sold items need an income account."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import (
    BOOLEAN,
    DATE,
    NUMBER,
    REFERENCE,
    STRING,
    ZERO,
    EntityRules,
    Field,
    Kind,
    require,
    resolve_reference,
)
from qbo_sandbox.realms import Realm, Record

ITEM_TYPES = ("Service", "NonInventory", "Inventory")
REQUIRED_BY_TYPE: Mapping[str, tuple[str, ...]] = {
    "Service": ("IncomeAccountRef",),
    "NonInventory": ("IncomeAccountRef",),
    "Inventory": (
        "IncomeAccountRef",
        "AssetAccountRef",
        "ExpenseAccountRef",
        "QtyOnHand",
        "InvStartDate",
    ),
}
ACCOUNT_REFERENCES = ("IncomeAccountRef", "ExpenseAccountRef", "AssetAccountRef")


class ItemRules(EntityRules):
    name = "Item"
    writable: ClassVar[Mapping[str, Field]] = {
        "Name": Field(Kind.STRING, max_length=100),
        "Sku": Field(Kind.STRING, max_length=100),
        "Description": Field(Kind.STRING, max_length=4000),
        "PurchaseDesc": Field(Kind.STRING, max_length=1000),
        "Active": BOOLEAN,
        "Type": Field(Kind.STRING, choices=ITEM_TYPES),
        "UnitPrice": NUMBER,
        "PurchaseCost": NUMBER,
        "RatePercent": NUMBER,
        "Taxable": BOOLEAN,
        "SalesTaxIncluded": BOOLEAN,
        "PurchaseTaxIncluded": BOOLEAN,
        "SalesTaxCodeRef": REFERENCE,
        "PurchaseTaxCodeRef": REFERENCE,
        "IncomeAccountRef": REFERENCE,
        "ExpenseAccountRef": REFERENCE,
        "AssetAccountRef": REFERENCE,
        "TrackQtyOnHand": BOOLEAN,
        "QtyOnHand": NUMBER,
        "ReorderPoint": NUMBER,
        "InvStartDate": DATE,
        "SubItem": BOOLEAN,
        "ParentRef": REFERENCE,
        "ClassRef": REFERENCE,
        "PrefVendorRef": REFERENCE,
        "TaxClassificationRef": REFERENCE,
        "ItemCategoryType": STRING,
        "AbatementRate": NUMBER,
        "ReverseChargeRate": NUMBER,
        "ServiceType": STRING,
        "UQCDisplayText": STRING,
        "UQCId": STRING,
        "Source": STRING,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "FullyQualifiedName": STRING,
        "Level": NUMBER,
    }
    name_field = "Name"
    name_scope = ("Item",)
    name_taken_by = "Another product or service"

    def validate(self, realm: Realm, record: Record) -> None:
        require(record, "Type")
        require(record, *REQUIRED_BY_TYPE[record["Type"]])
        for element in ACCOUNT_REFERENCES:
            resolve_reference(realm, record, element, "Account")

    def complete(self, realm: Realm, record: Record) -> None:
        record["FullyQualifiedName"] = record["Name"]
        record.setdefault("Taxable", False)
        record.setdefault("UnitPrice", ZERO)
        record.setdefault("PurchaseCost", ZERO)
        record.setdefault("TrackQtyOnHand", record["Type"] == "Inventory")
