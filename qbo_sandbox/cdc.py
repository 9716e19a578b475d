"""`GET /cdc?entities=Invoice,Payment&changedSince=<ISO>`: change data capture.

Per entity asked for, every record created or updated at or after `changedSince` (its
`MetaData.LastUpdatedTime`, whole seconds), inactive ones included, plus a stub
`{"domain","status":"Deleted","Id","MetaData":{"LastUpdatedTime"}}` for each record deleted since
(read from `Realm.tombstones`, which a delete path appends to). Oldest change first, at most
1000 per entity.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from qbo_sandbox import clock, faults
from qbo_sandbox.entities import EntityRules, by_path
from qbo_sandbox.realms import Realm, Record

MAX_LOOKBACK = timedelta(days=30)
MAX_PER_ENTITY = 1000


def changes(realm: Realm, params: Mapping[str, str]) -> dict[str, object]:
    """The `CDCResponse` payload (without `time`); raises a fault for bad parameters."""
    names = params.get("entities", "").strip()
    if not names:
        raise faults.required_param_missing("entities")
    since_text = params.get("changedSince", "").strip()
    if not since_text:
        raise faults.required_param_missing("changedSince")
    # an unencoded "+" in the offset arrives as a space
    since = clock.parse_timestamp(since_text.replace(" ", "+"))
    if since is None:
        raise faults.unsupported_property(
            "CDC", "changedSince", f"changedSince {since_text} is not an ISO 8601 date-time"
        )
    if since < clock.now() - MAX_LOOKBACK:
        raise faults.business_validation(
            f"changedSince {since_text} is more than 30 days in the past; CDC looks back 30 days."
        )
    wanted: list[EntityRules] = []
    for name in names.split(","):
        rules = by_path(name.strip())
        if rules is None:
            raise faults.unsupported_property(
                "CDC", "entities", f"{name.strip()} is not an entity this service tracks"
            )
        if rules not in wanted:
            wanted.append(rules)
    since = since.replace(microsecond=0)  # LastUpdatedTime has whole seconds
    return {"CDCResponse": [{"QueryResponse": [_changed(realm, rules, since) for rules in wanted]}]}


def _changed(realm: Realm, rules: EntityRules, since: datetime) -> dict[str, object]:
    deleted = {stone.record_id: stone for stone in realm.tombstones if stone.entity == rules.name}
    rows: list[tuple[datetime, int, Record]] = []
    for record in realm.table(rules.name).values():
        updated = _timestamp(record.get("MetaData", {}).get("LastUpdatedTime"))
        if record.get("Id") not in deleted and updated is not None and updated >= since:
            rows.append((updated, _number(record.get("Id")), record))
    for stone in deleted.values():
        deleted_at = _timestamp(stone.deleted_at)
        if deleted_at is not None and deleted_at >= since:
            stub = {
                "domain": "QBO",
                "status": "Deleted",
                "Id": stone.record_id,
                "MetaData": {"LastUpdatedTime": stone.deleted_at},
            }
            rows.append((deleted_at, _number(stone.record_id), stub))
    if not rows:
        return {}
    rows.sort(key=lambda row: (row[0], row[1]))
    shown = [record for _, _, record in rows[:MAX_PER_ENTITY]]
    return {rules.name: shown, "startPosition": 1, "maxResults": len(shown)}


def _timestamp(value: object) -> datetime | None:
    return clock.parse_timestamp(value) if isinstance(value, str) else None


def _number(record_id: object) -> int:
    text = str(record_id)
    return int(text) if text.isdigit() else 0
