"""Run a parsed query against one realm's records and shape QBO's `QueryResponse`."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from qbo_sandbox import clock, faults
from qbo_sandbox.entities import EntityRules, by_path
from qbo_sandbox.query.parser import Condition, Literal, Query
from qbo_sandbox.realms import Realm, Record

DEFAULT_MAX_RESULTS = 100
MAX_RESULTS_LIMIT = 1000

Path = tuple[str, ...]

COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "=": lambda left, right: left == right,
    "<": lambda left, right: left < right,
    ">": lambda left, right: left > right,
    "<=": lambda left, right: left <= right,
    ">=": lambda left, right: left >= right,
}


def run_query(query: Query, realm: Realm) -> dict[str, Any]:
    """The `QueryResponse` object for `query` (rows, or `totalCount` for COUNT(*))."""
    rules = by_path(query.entity)
    if rules is None:
        raise faults.query_validation_error(f"Unsupported entity {query.entity}")
    conditions = [(_resolve(rules, condition.field), condition) for condition in query.conditions]
    ordering = [(_resolve(rules, order.field), order.descending) for order in query.ordering]
    max_results = DEFAULT_MAX_RESULTS if query.max_results is None else query.max_results
    if not 1 <= max_results <= MAX_RESULTS_LIMIT:
        raise faults.query_validation_error(
            f"MAXRESULTS must be between 1 and {MAX_RESULTS_LIMIT}; {max_results} was supplied"
        )

    rows = list(realm.table(rules.name).values())
    filters_on_active = any(path[0] == "Active" for path, _ in conditions)
    if "Active" in rules.writable and not filters_on_active:
        rows = [row for row in rows if row.get("Active") is not False]
    rows = [row for row in rows if all(_matches(row, path, cond) for path, cond in conditions)]
    if query.count_only:
        return {"totalCount": len(rows)}

    rows.sort(key=rules.default_order)
    for path, descending in reversed(ordering):
        rows.sort(key=_row_sort_key(path), reverse=descending)
    start_position = max(query.start_position or 1, 1)
    page = rows[start_position - 1 : start_position - 1 + max_results]
    if not page:
        return {}
    return {rules.name: page, "startPosition": start_position, "maxResults": len(page)}


def _resolve(rules: EntityRules, field: str) -> Path:
    """`metadata.lastupdatedtime` → ("MetaData", "lastupdatedtime"); checks the first part."""
    first, *rest = field.split(".")
    known = next((name for name in rules.all_fields() if name.lower() == first.lower()), None)
    if known is None or any(not part for part in rest):
        raise faults.query_validation_error(
            f"property '{field}' is not queryable on entity {rules.name}"
        )
    return (known, *rest)


def _lookup(record: Record, path: Path) -> object:
    value: object = record
    for part in path:
        if not isinstance(value, dict):
            return None
        key = next((key for key in value if key.lower() == part.lower()), None)
        value = value[key] if key is not None else None
    if isinstance(value, dict) and "value" in value:
        return value["value"]  # a reference compares by its id
    return value


def _matches(record: Record, path: Path, condition: Condition) -> bool:
    actual = _lookup(record, path)
    if condition.operator == "LIKE":
        return isinstance(actual, str) and _like(actual, str(condition.values[0]))
    if condition.operator == "IN":
        return any(_compare(actual, value, path, "=") for value in condition.values)
    return _compare(actual, condition.values[0], path, condition.operator)


def _like(actual: str, pattern: str) -> bool:
    regex = ".*".join(re.escape(part) for part in pattern.split("%"))
    return re.fullmatch(regex, actual, re.IGNORECASE | re.DOTALL) is not None


def _compare(actual: object, literal: Literal, path: Path, operator: str) -> bool:
    pair = _comparable(actual, literal, _is_id(path))
    return pair is not None and COMPARE[operator](*pair)


def _is_id(path: Path) -> bool:
    return path[-1] == "Id" or path[-1].endswith("Ref")


def _comparable(actual: object, literal: Literal, id_like: bool) -> tuple[Any, Any] | None:
    """Both sides as values of one type; strings compare case-insensitively, as QBO does."""
    if actual is None:
        return None
    if isinstance(actual, bool) or isinstance(literal, bool):
        left, right = _boolean(actual), _boolean(literal)
        return None if left is None or right is None else (left, right)
    if isinstance(actual, Decimal) or isinstance(literal, Decimal) or id_like:
        left_number, right_number = _decimal(actual), _decimal(literal)
        if left_number is not None and right_number is not None:
            return left_number, right_number
        if not id_like:
            return None
    if not isinstance(actual, str) or not isinstance(literal, str):
        return None
    left_time, right_time = clock.parse_timestamp(actual), clock.parse_timestamp(literal)
    if left_time is not None and right_time is not None:
        return left_time, right_time
    return actual.casefold(), literal.casefold()


def _boolean(value: object) -> bool | None:
    if isinstance(value, bool):
        return value
    return {"true": True, "false": False}.get(str(value).lower())


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, Decimal):
        return value
    try:
        number = Decimal(str(value).strip())
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _row_sort_key(path: Path) -> Callable[[Record], tuple[int, Any]]:
    return lambda row: _sort_key(_lookup(row, path), path)


def _sort_key(value: object, path: Path) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, value)
    number = _decimal(value) if isinstance(value, Decimal) or _is_id(path) else None
    if number is not None:
        return (2, number)
    if isinstance(value, str):
        moment = clock.parse_timestamp(value)
        return (3, moment) if moment is not None else (4, value.casefold())
    return (5, str(value))
