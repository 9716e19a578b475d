"""What every entity's rules module declares: its fields, its name rules, and three hooks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from enum import Enum
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.realms import Realm, Record

DELETED_SUFFIX = " (deleted)"
HOME_CURRENCY = {"value": "USD", "name": "United States Dollar"}
ZERO = Decimal("0")


class Kind(Enum):
    STRING = "string"
    BOOLEAN = "boolean"
    NUMBER = "number"
    DATE = "date"
    OBJECT = "object"
    REFERENCE = "reference"
    ARRAY = "array"


@dataclass(frozen=True)
class Field:
    kind: Kind
    max_length: int | None = None
    choices: tuple[str, ...] = ()


STRING = Field(Kind.STRING)
BOOLEAN = Field(Kind.BOOLEAN)
NUMBER = Field(Kind.NUMBER)
DATE = Field(Kind.DATE)
OBJECT = Field(Kind.OBJECT)
REFERENCE = Field(Kind.REFERENCE)
ARRAY = Field(Kind.ARRAY)

SYSTEM_FIELDS: Mapping[str, Field] = {
    "Id": STRING,
    "SyncToken": STRING,
    "sparse": BOOLEAN,
    "domain": STRING,
    "MetaData": OBJECT,
}
"""Accepted in every write body; the server owns their values."""


class EntityRules:
    """One QBO entity type. Subclasses declare fields and override the hooks they need.

    Write order (see writes.py): `derive_name` → Active/" (deleted)" naming → `validate` →
    unique-name check → `complete` → the record is stored → `after_write` → the books follow
    (accounting.py). Nothing is stored before every check has passed.
    """

    name: ClassVar[str]
    writable: ClassVar[Mapping[str, Field]]
    read_only: ClassVar[Mapping[str, Field]] = {}
    name_field: ClassVar[str | None] = None
    """Name-list entities: the unique name that gets the " (deleted)" suffix when inactive."""
    name_scope: ClassVar[tuple[str, ...]] = ()
    """Entity types whose names must not clash with this one's."""
    name_taken_by: ClassVar[str] = "Another record"
    creatable: ClassVar[bool] = True
    """False for the one-per-company records (CompanyInfo, Preferences): update only."""
    updatable: ClassVar[bool] = True
    """False for TaxAgency, TaxRate and TaxCode: QBO offers no update of them."""
    deletable: ClassVar[bool] = False
    """Transactions: `?operation=delete` removes them (name-list entities are inactivated)."""
    void_style: ClassVar[str | None] = None
    """How a void is asked for: "operation" (`?operation=void`, Invoice) or "include"
    (`?operation=update&include=void`, Payment); None: cannot be voided."""

    @property
    def path(self) -> str:
        return self.name.lower()

    @property
    def has_active(self) -> bool:
        """Name-list entities carry `Active`; transactions and settings do not."""
        return "Active" in self.writable

    def stored_id(self, realm: Realm, record_id: str) -> str:
        """The Id a record is kept under, for an Id in a URL or body (CompanyInfo: the realm id)."""
        return record_id

    def all_fields(self) -> list[str]:
        return [*self.writable, *self.read_only, *SYSTEM_FIELDS]

    def server_defaults(self) -> Record:
        """Read-only values a new record starts with (e.g. a zero Balance)."""
        return {}

    def derive_name(self, record: Record) -> None:
        """Fill a missing name from other fields where QBO does, then check it."""
        if self.name_field is None:
            return
        name = record.get(self.name_field)
        if not isinstance(name, str) or not name.strip():
            raise faults.required_param_missing(self.name_field)
        if ":" in name:
            raise faults.invalid_string(self.name_field, name)

    def validate(self, realm: Realm, record: Record) -> None:
        """Business rules on the record as it would be saved; raise a fault to refuse it."""

    def complete(self, realm: Realm, record: Record) -> None:
        """Server-filled defaults and derived fields (FullyQualifiedName and the like)."""

    def after_write(self, realm: Realm, record: Record) -> None:
        """Effects on company state once the record is stored (never refuses)."""

    def check_delete(self, realm: Realm, record: Record) -> None:
        """Refuse deleting a record other records still depend on."""

    def voided(self, realm: Realm, record: Record) -> Record:
        """The record as voided (a changed copy); raise a fault to refuse the void."""
        raise faults.unsupported_operation("Operation void is not supported.")

    def default_order(self, record: Record) -> tuple[str, int]:
        name = record.get(self.name_field, "") if self.name_field else ""
        return (str(name).casefold(), int(record["Id"]))


def base_name(record: Record, name_field: str) -> str:
    """The name without the " (deleted)" suffix QBO adds to inactive name-list records."""
    name = str(record.get(name_field, ""))
    if record.get("Active") is False and name.endswith(DELETED_SUFFIX):
        return name[: -len(DELETED_SUFFIX)]
    return name


def require(record: Record, *elements: str) -> None:
    for element in elements:
        if record.get(element) in (None, "", {}, []):
            raise faults.required_param_missing(element)


def resolve_reference(realm: Realm, record: Record, element: str, entity: str) -> Record | None:
    """Check a `{"value": id}` reference names an active record, and fill in its `name`."""
    reference = record.get(element)
    if not isinstance(reference, dict):
        return None
    ref_id = str(reference.get("value", ""))
    target = realm.table(entity).get(ref_id)
    if target is None or target.get("Active") is False:
        raise faults.invalid_reference(element, entity, ref_id, inactive=target is not None)
    shown_name = target.get("FullyQualifiedName") or target.get("Name") or target.get("DisplayName")
    record[element] = {"value": ref_id, "name": shown_name} if shown_name else {"value": ref_id}
    return target
