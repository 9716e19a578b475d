"""Employee: a name-list entity sharing the customer/vendor DisplayName namespace (see
contact.py); needs a GivenName or FamilyName; the SSN is only ever shown masked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.entities.contact import ContactRules, is_masked_ssn, masked_ssn, ssn_digits
from qbo_sandbox.entities.schema import (
    BOOLEAN,
    DATE,
    NUMBER,
    OBJECT,
    STRING,
    Field,
    Kind,
)
from qbo_sandbox.realms import Realm, Record


class EmployeeRules(ContactRules):
    name = "Employee"
    writable: ClassVar[Mapping[str, Field]] = {
        "Organization": BOOLEAN,
        "Title": Field(Kind.STRING, max_length=16),
        "GivenName": Field(Kind.STRING, max_length=100),
        "MiddleName": Field(Kind.STRING, max_length=100),
        "FamilyName": Field(Kind.STRING, max_length=100),
        "Suffix": Field(Kind.STRING, max_length=16),
        "DisplayName": Field(Kind.STRING, max_length=100),
        "PrintOnCheckName": Field(Kind.STRING, max_length=100),
        "Active": BOOLEAN,
        "PrimaryPhone": OBJECT,
        "Mobile": OBJECT,
        "PrimaryEmailAddr": OBJECT,
        "PrimaryAddr": OBJECT,
        "EmployeeNumber": Field(Kind.STRING, max_length=100),
        "SSN": Field(Kind.STRING, max_length=100),
        "BillableTime": BOOLEAN,
        "BillRate": NUMBER,
        "CostRate": NUMBER,
        "BirthDate": DATE,
        "Gender": STRING,
        "HiredDate": DATE,
        "ReleasedDate": DATE,
    }
    read_only: ClassVar[Mapping[str, Field]] = {
        "V4IDPseudonym": STRING,
    }
    fallback_name_field = None  # an employee has no CompanyName

    def derive_name(self, record: Record) -> None:
        if not record.get("GivenName") and not record.get("FamilyName"):
            raise faults.required_param_missing("GivenName")
        super().derive_name(record)

    def validate(self, realm: Realm, record: Record) -> None:
        ssn = record.get("SSN")
        if ssn and not is_masked_ssn(ssn) and ssn_digits(ssn) is None:
            raise faults.invalid_string("SSN", ssn)

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("BillableTime", False)
        if record.get("SSN"):
            # The sandbox keeps only what QBO shows: "XXX-XX-" and the last four digits.
            record["SSN"] = masked_ssn(record["SSN"])
        super().complete(realm, record)
