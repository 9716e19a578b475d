"""Create, full update, sparse update, delete, void and read of any entity, with QBO's generic
write rules.

Entity-specific rules live in `entities/`; this module owns what every entity shares: unknown
properties, SyncToken, Id, the Active/" (deleted)" naming of name-list records, unique names,
and the order every write follows: check everything, then store, then let the books follow
(`accounting.follow_write`), so a refused write changes nothing anywhere.
"""

from __future__ import annotations

import copy
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

from qbo_sandbox import accounting, clock, faults
from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.entities.intuit_schema import in_schema
from qbo_sandbox.entities.schema import (
    DELETED_SUFFIX,
    SYSTEM_FIELDS,
    EntityRules,
    Field,
    Kind,
    base_name,
)
from qbo_sandbox.realms import Realm, Record, Tombstone

OPERATIONS = (None, "create", "update", "delete", "void")
"""The `?operation=` values a write may carry (which entity accepts which: `perform`)."""


def perform(
    realm: Realm, rules: EntityRules, body: object, operation: str | None, include: str | None
) -> Record:
    """`POST /{entity}?operation=...&include=...`: the record (or delete stub) to answer with.

    Create/update (no operation, `create`, `update`); `delete` (transactions); `void`
    (Invoice); `update` with `include=void` (Payment). Anything else → 500 Unsupported Operation.
    """
    if include == "void" and operation in (None, "update"):
        if rules.void_style != "include":
            raise faults.unsupported_operation(
                f"Operation {operation} with include=void is not supported."
            )
        return void(realm, rules, body)
    if operation == "void":
        if rules.void_style != "operation":
            raise faults.unsupported_operation("Operation void is not supported.")
        return void(realm, rules, body)
    if operation == "delete":
        if not rules.deletable:
            raise faults.unsupported_operation("Operation delete is not supported.")
        return delete(realm, rules, body)
    if operation not in (None, "create", "update"):
        raise faults.unsupported_operation(f"Operation {operation} is not supported.")
    if not rules.creatable and isinstance(body, dict) and body.get("Id") in (None, ""):
        raise faults.unsupported_operation(f"Operation create is not supported for {rules.name}.")
    if not rules.updatable and isinstance(body, dict) and body.get("Id") not in (None, ""):
        raise faults.unsupported_operation(f"Operation update is not supported for {rules.name}.")
    return save(realm, rules, body)


def save(realm: Realm, rules: EntityRules, body: object) -> Record:
    """`POST /{entity}`: create when the body has no Id, update otherwise."""
    if not isinstance(body, dict):
        raise faults.malformed_body(rules.name, "expected a JSON object")
    values = writable_values(rules, body)
    if body.get("Id") in (None, ""):
        return _create(realm, rules, values)
    return _update(realm, rules, body, values)


def read(realm: Realm, rules: EntityRules, raw_id: str) -> Record:
    record = realm.table(rules.name).get(rules.stored_id(realm, parse_id(raw_id)))
    if record is None:
        raise faults.object_not_found()
    return record


def delete(realm: Realm, rules: EntityRules, body: object) -> Record:
    """`?operation=delete` with `{Id, SyncToken}`: the record goes (later reads → 610); the reply
    is QBO's stub `{"domain","status":"Deleted","Id"}`."""
    existing = _current(realm, rules, body)
    rules.check_delete(realm, existing)
    stock_before = accounting.stock_moves(realm, rules.name, existing)
    record_id = existing["Id"]
    del realm.table(rules.name)[record_id]
    realm.voided.discard((rules.name, record_id))
    realm.tombstones.append(Tombstone(rules.name, record_id, clock.metadata_timestamp(clock.now())))
    accounting.follow_write(realm, rules.name, stock_before, None)
    return {"domain": "QBO", "status": "Deleted", "Id": record_id}


def void(realm: Realm, rules: EntityRules, body: object) -> Record:
    """Void with `{Id, SyncToken}`: the record stays with its amounts zeroed and a "Voided" note.
    Voiding a voided record changes nothing."""
    existing = _current(realm, rules, body)
    key = (rules.name, existing["Id"])
    if key in realm.voided:
        return existing
    record = accounting.touched(rules.voided(realm, copy.deepcopy(existing)))
    stock_before = accounting.stock_moves(realm, rules.name, existing)
    realm.voided.add(key)
    _store(realm, rules, record, stock_before)
    return record


def parse_id(raw_id: object) -> str:
    text = str(raw_id).strip()
    if not text.isdigit():
        raise faults.invalid_id(raw_id)
    return str(int(text))


def writable_values(rules: EntityRules, body: dict[str, Any]) -> Record:
    """The body's writable fields, checked and normalized; empty values are dropped.

    Read-only fields and the fields of Intuit's schema the sandbox does not model are accepted
    and ignored, as QBO does; a name outside the schema → 2010.
    """
    values: Record = {}
    for name, raw in body.items():
        if name in SYSTEM_FIELDS or name in rules.read_only:
            continue
        field = rules.writable.get(name)
        if field is None:
            if in_schema(rules.name, name):
                continue
            raise faults.unrecognized_field(rules.name, name)
        value = without_empties(raw)
        if value is _EMPTY:
            continue
        checked = _checked(rules.name, name, field, value)
        if checked is not None:
            values[name] = checked
    return values


def _checked(entity: str, name: str, field: Field, value: object) -> object:
    if value is None:
        return None
    checked = _as_kind(field.kind, value)
    if checked is _INVALID:
        problem = f'Cannot deserialize value of type {field.kind.value} from "{value}"'
        raise faults.unsupported_property(entity, name, problem)
    if isinstance(checked, str):
        if field.max_length is not None and len(checked) > field.max_length:
            raise faults.string_length(name, field.max_length, len(checked))
        if field.choices and checked not in field.choices:
            problem = f'Cannot deserialize value "{checked}": not one of {", ".join(field.choices)}'
            raise faults.unsupported_property(entity, name, problem)
    if checked in ("", {}, []):
        return None
    return checked


_INVALID = object()
_EMPTY = object()


def without_empties(value: object) -> object:
    """The value with every null, "" and emptied object or list inside it left out (`_EMPTY` if
    nothing is left): QBO reads an empty value as one not sent, and clients such as
    python-quickbooks send every attribute, the unset ones as "" or null."""
    if isinstance(value, dict):
        kept = {key: without_empties(item) for key, item in value.items()}
        pruned = {key: item for key, item in kept.items() if item is not _EMPTY}
        return pruned or _EMPTY
    if isinstance(value, list):
        items = [item for item in map(without_empties, value) if item is not _EMPTY]
        return items or _EMPTY
    if value is None or (isinstance(value, str) and value == ""):
        return _EMPTY
    return value


def _as_kind(kind: Kind, value: object) -> object:
    if kind is Kind.STRING:
        return str(value) if isinstance(value, str | Decimal) else _INVALID
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        return {"true": True, "false": False}.get(str(value).lower(), _INVALID)
    if kind is Kind.NUMBER:
        if isinstance(value, Decimal):
            return value
        try:
            return Decimal(value) if isinstance(value, str) and value.strip() else _INVALID
        except InvalidOperation:
            return _INVALID
    if kind is Kind.DATE:
        try:
            return date.fromisoformat(value).isoformat() if isinstance(value, str) else _INVALID
        except ValueError:
            return _INVALID
    if kind is Kind.REFERENCE:
        return _as_reference(value)
    if kind is Kind.OBJECT:
        return value if isinstance(value, dict) else _INVALID
    return value if isinstance(value, list) else _INVALID


def _as_reference(value: object) -> object:
    if not isinstance(value, dict):
        return _INVALID
    if not value:
        return {}
    ref_id = value.get("value")
    if not isinstance(ref_id, str | Decimal) or not str(ref_id).strip():
        return _INVALID
    reference = {"value": str(ref_id).strip()}
    if isinstance(value.get("name"), str):
        reference["name"] = value["name"]
    return reference


def _create(realm: Realm, rules: EntityRules, values: Record) -> Record:
    record = rules.server_defaults() | values
    _apply_rules(realm, rules, record, previous=None)
    timestamp = clock.metadata_timestamp(clock.now())
    record_id = realm.next_id(rules.name)
    record |= {
        "domain": "QBO",
        "sparse": False,
        "Id": record_id,
        "SyncToken": "0",
        "MetaData": {"CreateTime": timestamp, "LastUpdatedTime": timestamp},
    }
    _store(realm, rules, record, {})
    return record


def _current(realm: Realm, rules: EntityRules, body: object) -> Record:
    """The stored record a delete/void/update body names, after its Id and SyncToken checks."""
    if not isinstance(body, dict):
        raise faults.malformed_body(rules.name, "expected a JSON object")
    if body.get("Id") in (None, ""):
        raise faults.required_param_missing("Id")
    record_id = rules.stored_id(realm, parse_id(body["Id"]))
    existing = realm.table(rules.name).get(record_id)
    if existing is None:
        raise faults.object_not_found()
    sync_token = body.get("SyncToken")
    if sync_token in (None, ""):
        raise faults.required_param_missing("SyncToken")
    if str(sync_token).strip() != existing["SyncToken"]:
        raise faults.stale_object()
    return existing


def _store(
    realm: Realm, rules: EntityRules, record: Record, stock_before: dict[str, Decimal]
) -> None:
    realm.table(rules.name)[record["Id"]] = record
    rules.after_write(realm, record)
    accounting.follow_write(realm, rules.name, stock_before, record)


def _update(realm: Realm, rules: EntityRules, body: dict[str, Any], values: Record) -> Record:
    existing = _current(realm, rules, body)
    record_id = existing["Id"]
    if (rules.name, record_id) in realm.voided:
        raise faults.business_validation(
            f"This {rules.name} is voided: a voided transaction can't be changed."
        )

    if body.get("sparse") is True:
        record = copy.deepcopy(existing) | values
    else:
        kept = {key: value for key, value in existing.items() if key not in rules.writable}
        record = copy.deepcopy(kept) | values
    _apply_rules(realm, rules, record, previous=existing)
    if record == existing:
        return existing  # nothing changed: QBO keeps the SyncToken and LastUpdatedTime
    record["SyncToken"] = str(int(existing["SyncToken"]) + 1)
    record["MetaData"] = existing["MetaData"] | {
        "LastUpdatedTime": clock.metadata_timestamp(clock.now())
    }
    _store(realm, rules, record, accounting.stock_moves(realm, rules.name, existing))
    return record


def _apply_rules(realm: Realm, rules: EntityRules, record: Record, previous: Record | None) -> None:
    rules.derive_name(record)
    _apply_active_naming(rules, record, previous)
    rules.validate(realm, record)
    _check_unique_name(realm, rules, record, previous)
    rules.complete(realm, record)


def _apply_active_naming(rules: EntityRules, record: Record, previous: Record | None) -> None:
    """Inactive name-list records carry " (deleted)" after their name; reactivation removes it."""
    if not rules.has_active:
        return
    record.setdefault("Active", True)
    if rules.name_field is None:
        return
    name = record[rules.name_field]
    if record["Active"] is False and not name.endswith(DELETED_SUFFIX):
        record[rules.name_field] = name + DELETED_SUFFIX
    reactivated = previous is not None and previous.get("Active") is False
    if record["Active"] is True and reactivated and name.endswith(DELETED_SUFFIX):
        record[rules.name_field] = name[: -len(DELETED_SUFFIX)]


def _check_unique_name(
    realm: Realm, rules: EntityRules, record: Record, previous: Record | None
) -> None:
    """6240 when another record of any entity in `rules.name_scope` has the same name: ignoring
    case, surrounding spaces and the " (deleted)" suffix, inactive records included. One check
    for every name-list entity; Customer, Vendor and Employee share a scope (entities/contact.py).
    """
    name_field = rules.name_field
    if name_field is None:
        return
    wanted = base_name(record, name_field).strip().casefold()
    own_id = previous["Id"] if previous is not None else None
    for entity in rules.name_scope:
        other_rules = ENTITIES.get(entity)
        if other_rules is None or other_rules.name_field is None:
            continue  # a scope may name an entity the sandbox does not serve
        for other in realm.table(entity).values():
            if entity == rules.name and other["Id"] == own_id:
                continue
            if base_name(other, other_rules.name_field).strip().casefold() == wanted:
                raise faults.duplicate_name(rules.name_taken_by)
