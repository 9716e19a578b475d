"""What Customer, Vendor and Employee share: one DisplayName namespace, the DisplayName derived
from name parts, a PrintOnCheckName that follows it, and masked tax ids.

QBO keeps the three kinds of "names" in one list: a DisplayName used by any customer, vendor or
employee (inactive ones included, compared without their " (deleted)" suffix, ignoring case and
surrounding spaces) cannot be used by another one of any kind → 6240. The check itself is the one
every name-list entity goes through (`writes._check_unique_name`); `ContactRules` gives the three
entities the same scope and wording, so there is a single rule, declared once.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.entities.schema import BOOLEAN, OBJECT, EntityRules, Field, Kind, base_name
from qbo_sandbox.realms import Realm, Record

CONTACT_ENTITIES = ("Customer", "Vendor", "Employee")
"""The entity types whose DisplayNames must not clash with one another."""
NAME_PARTS = ("Title", "GivenName", "MiddleName", "FamilyName", "Suffix")

SSN_MASKED = re.compile(r"XXX-XX-\d{4}")
SSN_DIGITS = 9
TAX_ID_MASKED = re.compile(r"X+\d{4}")
TAX_ID_MASK = "XXXXXX"
"""Vendor `TaxIdentifier` as QBO shows it (`get/inactive_vendors.yml`): "XXXXXX9875"."""


BUSINESS_CONTACT_FIELDS: Mapping[str, Field] = {
    "Title": Field(Kind.STRING, max_length=16),
    "GivenName": Field(Kind.STRING, max_length=100),
    "MiddleName": Field(Kind.STRING, max_length=100),
    "FamilyName": Field(Kind.STRING, max_length=100),
    "Suffix": Field(Kind.STRING, max_length=16),
    "DisplayName": Field(Kind.STRING, max_length=500),
    "CompanyName": Field(Kind.STRING, max_length=100),
    "PrintOnCheckName": Field(Kind.STRING, max_length=110),
    "Active": BOOLEAN,
    "PrimaryPhone": OBJECT,
    "AlternatePhone": OBJECT,
    "Mobile": OBJECT,
    "Fax": OBJECT,
    "PrimaryEmailAddr": OBJECT,
    "WebAddr": OBJECT,
    "OtherContactInfo": OBJECT,
    "BillAddr": OBJECT,
}
"""The names, phones, addresses and e-mail a customer and a vendor both have."""


class ContactRules(EntityRules):
    """A customer, vendor or employee: `DisplayName` is the unique name (see the module doc)."""

    name_field = "DisplayName"
    name_scope = CONTACT_ENTITIES
    name_taken_by = "Another customer, vendor or employee"
    fallback_name_field: ClassVar[str | None] = "CompanyName"
    """The field that names the record when neither DisplayName nor a name part is sent."""

    def derive_name(self, record: Record) -> None:
        if not record.get("DisplayName"):
            derived: object = display_name_from_parts(record)
            if not derived and self.fallback_name_field:
                derived = record.get(self.fallback_name_field)
            if derived:
                record["DisplayName"] = derived
        super().derive_name(record)

    def complete(self, realm: Realm, record: Record) -> None:
        """PrintOnCheckName defaults to the DisplayName (without " (deleted)")."""
        record.setdefault("PrintOnCheckName", base_name(record, "DisplayName"))


def display_name_from_parts(record: Record) -> str:
    """Title, GivenName, MiddleName, FamilyName and Suffix joined by spaces ("" if none)."""
    parts = (str(record[part]).strip() for part in NAME_PARTS if record.get(part))
    return " ".join(part for part in parts if part)


def is_masked_ssn(value: str) -> bool:
    return SSN_MASKED.fullmatch(value) is not None


def ssn_digits(value: str) -> str | None:
    """The 9 digits of an SSN written with or without dashes and spaces; None if it is not one."""
    compact = re.sub(r"[\s-]", "", value)
    return compact if compact.isdigit() and len(compact) == SSN_DIGITS else None


def masked_ssn(value: str) -> str:
    """`XXX-XX-` and the last four digits; a value already masked (sent back from a read) stays."""
    if is_masked_ssn(value):
        return value
    digits = ssn_digits(value) or value
    return f"XXX-XX-{digits[-4:]}"


def masked_tax_identifier(value: str) -> str:
    """`XXXXXX` and the last four characters; a value already masked stays."""
    if TAX_ID_MASKED.fullmatch(value):
        return value
    compact = re.sub(r"[\s-]", "", value)
    return TAX_ID_MASK + compact[-4:]
