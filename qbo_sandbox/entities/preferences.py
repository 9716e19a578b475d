"""Preferences: the company's settings, one record (Id "1") created with the company.

Only `SalesFormsPrefs.CustomTxnNumbers` changes behaviour here: when true, a DocNumber already
used by the same transaction type is refused with 6140 (QBO's duplicate check).
`TaxPrefs.UsingSalesTax`/`PartnerTaxEnabled` (AST) show the company's tax settings; the server
owns them (the control API's `settings` change them). Update it like
any record (`POST /preferences` with Id, SyncToken, `"sparse": true`); read it with
`select * from Preferences`.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.sales_tax import tax_prefs
from qbo_sandbox.entities.schema import OBJECT, EntityRules, Field
from qbo_sandbox.realms import Realm, Record

SECTIONS = (
    "AccountingInfoPrefs",
    "ProductAndServicesPrefs",
    "SalesFormsPrefs",
    "EmailMessagesPrefs",
    "VendorAndPurchasesPrefs",
    "TimeTrackingPrefs",
    "TaxPrefs",
    "CurrencyPrefs",
    "ReportPrefs",
    "OtherPrefs",
)


class PreferencesRules(EntityRules):
    name = "Preferences"
    writable: ClassVar[Mapping[str, Field]] = {section: OBJECT for section in SECTIONS}
    creatable = False

    def complete(self, realm: Realm, record: Record) -> None:
        sales_forms = dict(record.get("SalesFormsPrefs") or {})
        sales_forms["CustomTxnNumbers"] = sales_forms.get("CustomTxnNumbers") is True
        record["SalesFormsPrefs"] = sales_forms
        record["TaxPrefs"] = tax_prefs(realm, record.get("TaxPrefs"))

    def after_write(self, realm: Realm, record: Record) -> None:
        realm.custom_txn_numbers = record["SalesFormsPrefs"]["CustomTxnNumbers"]


STARTING_PREFERENCES: Record = {
    "AccountingInfoPrefs": {"TrackDepartments": False, "ClassTrackingPerTxn": False},
    "ProductAndServicesPrefs": {"ForSales": True, "ForPurchase": True, "QuantityOnHand": True},
    "SalesFormsPrefs": {
        "CustomTxnNumbers": False,
        "AllowDeposit": False,
        "AllowDiscount": False,
        "AllowShipping": False,
    },
    "CurrencyPrefs": {"MultiCurrencyEnabled": False, "HomeCurrency": {"value": "USD"}},
}
