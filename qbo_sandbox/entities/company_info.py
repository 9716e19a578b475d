"""CompanyInfo: the one record describing the company, read as `GET /companyinfo/{realmId}`.

Created with the company (seed.py) under Id "1"; it can be updated, never created or deleted.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import ARRAY, DATE, OBJECT, STRING, EntityRules, Field, Kind
from qbo_sandbox.realms import Realm, Record

COMPANY_INFO_ID = "1"
MONTHS = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)


class CompanyInfoRules(EntityRules):
    name = "CompanyInfo"
    writable: ClassVar[Mapping[str, Field]] = {
        "CompanyName": Field(Kind.STRING, max_length=1024),
        "LegalName": Field(Kind.STRING, max_length=1024),
        "CompanyAddr": OBJECT,
        "CustomerCommunicationAddr": OBJECT,
        "LegalAddr": OBJECT,
        "CustomerCommunicationEmailAddr": OBJECT,
        "PrimaryPhone": OBJECT,
        "Email": OBJECT,
        "WebAddr": OBJECT,
        "CompanyStartDate": DATE,
        "FiscalYearStartMonth": Field(Kind.STRING, choices=MONTHS),
        "Country": STRING,
        "SupportedLanguages": STRING,
        "NameValue": ARRAY,
    }
    creatable = False

    def stored_id(self, realm: Realm, record_id: str) -> str:
        return COMPANY_INFO_ID if record_id == realm.realm_id else record_id

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("CompanyName", realm.company_name)
        record.setdefault("LegalName", record["CompanyName"])
        record["Country"] = realm.country  # the control API's `country` setting decides
        record.setdefault("FiscalYearStartMonth", "January")
        record.setdefault("SupportedLanguages", "en")

    def after_write(self, realm: Realm, record: Record) -> None:
        realm.company_name = record["CompanyName"]


def starting_company_info(realm: Realm, start_date: str) -> Record:
    """The body seed.py creates the record from."""
    return {
        "CompanyName": realm.company_name,
        "LegalName": realm.company_name,
        "CompanyAddr": {
            "Line1": "2500 Garcia Ave",
            "City": "Mountain View",
            "CountrySubDivisionCode": "CA",
            "PostalCode": "94043",
        },
        "CompanyStartDate": start_date,
        "NameValue": [
            {"Name": "OfferingSku", "Value": "QuickBooks Online Plus"},
            {"Name": "SubscriptionStatus", "Value": "PAID"},
            {"Name": "IsQbdtMigrated", "Value": "false"},
        ],
    }
