"""JSON in and out with money kept exact: numbers parse to `Decimal`, and go back out as numbers."""

from __future__ import annotations

import json
from decimal import Decimal
from typing import Any

from starlette.responses import Response

JSON_CONTENT_TYPE = "application/json;charset=utf-8"


class JsonError(ValueError):
    """The bytes are not a JSON document we accept."""


def _reject_constant(name: str) -> Any:
    raise JsonError(f"{name} is not a valid JSON number")


def loads(data: bytes | str) -> Any:
    """Parse JSON; every number (integer or not) becomes a `Decimal`."""
    try:
        return json.loads(
            data, parse_float=Decimal, parse_int=Decimal, parse_constant=_reject_constant
        )
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise JsonError(str(error)) from error


def dumps(value: object) -> bytes:
    """Serialize dicts, lists, strings, booleans, None, ints and Decimals (as JSON numbers)."""
    parts: list[str] = []
    _encode(value, parts)
    return "".join(parts).encode("utf-8")


def _encode(value: object, out: list[str]) -> None:
    if value is None:
        out.append("null")
    elif isinstance(value, bool):
        out.append("true" if value else "false")
    elif isinstance(value, int):
        out.append(str(value))
    elif isinstance(value, Decimal):
        out.append(format(value, "f"))
    elif isinstance(value, str):
        out.append(json.dumps(value, ensure_ascii=False))
    elif isinstance(value, dict):
        out.append("{")
        for index, (key, item) in enumerate(value.items()):
            if index:
                out.append(",")
            out.append(json.dumps(str(key), ensure_ascii=False))
            out.append(":")
            _encode(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _encode(item, out)
        out.append("]")
    else:
        raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def json_response(
    payload: object, status_code: int = 200, headers: dict[str, str] | None = None
) -> Response:
    return Response(
        dumps(payload), status_code=status_code, headers=headers, media_type=JSON_CONTENT_TYPE
    )
