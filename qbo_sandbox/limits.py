"""Per-company request limits: N requests per sliding minute and M in flight at once → HTTP 429.

Off by default. `--limits` (or `QBO_SANDBOX_LIMITS=1`) gives every company QBO's numbers
(500/minute, 10 concurrent); `PUT /__sandbox/realms/{r}/limits` sets them per company.
Only API calls that pass the auth gateway count; a throttled call does not count; a batch is one call.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

from starlette.responses import Response

from qbo_sandbox import clock
from qbo_sandbox.jsonio import json_response

QBO_PER_MINUTE = 500
QBO_CONCURRENT = 10
WINDOW_SECONDS = 60.0
CONCURRENCY_RETRY_AFTER = 1
FORMATS = ("json", "xml")

THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached."
XML_CONTENT_TYPE = "application/xml;charset=utf-8"


@dataclass(frozen=True)
class LimitSettings:
    """One company's limits; None turns that limit off. `format` shapes the 429 body."""

    per_minute: int | None = None
    concurrent: int | None = None
    format: str = "json"

    def as_json(self) -> dict[str, object]:
        return {"per_minute": self.per_minute, "concurrent": self.concurrent, "format": self.format}

    @classmethod
    def from_json(cls, body: object) -> LimitSettings:
        """Settings from a control-API body; raises ValueError with a message for the caller."""
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(body) - {"per_minute", "concurrent", "format"}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        fmt = body.get("format") or "json"
        if fmt not in FORMATS:
            raise ValueError('"format" must be "json" or "xml"')
        return cls(
            _positive_or_none(body, "per_minute"), _positive_or_none(body, "concurrent"), fmt
        )


QBO_LIMITS = LimitSettings(QBO_PER_MINUTE, QBO_CONCURRENT)


def _positive_or_none(body: dict[str, object], key: str) -> int | None:
    value = body.get(key)
    if value is None:
        return None
    number = as_int(value)
    if number is None or number < 1:
        raise ValueError(f'"{key}" must be a positive integer or null')
    return number


def as_int(value: object) -> int | None:
    """A JSON number that is a whole number (as `jsonio.loads` gives it), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return None


@dataclass
class _Counters:
    accepted: deque[float] = field(default_factory=deque)
    in_flight: int = 0


class Limits:
    """Every company's limit settings and counters (companies without settings get `default`)."""

    def __init__(
        self,
        default: LimitSettings | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.default = default or LimitSettings()
        self._monotonic = monotonic
        self._settings: dict[str, LimitSettings] = {}
        self._counters: dict[str, _Counters] = {}

    def settings(self, realm_id: str) -> LimitSettings:
        return self._settings.get(realm_id, self.default)

    def configure(self, realm_id: str, settings: LimitSettings) -> None:
        self._settings[realm_id] = settings

    def admit(self, realm_id: str) -> Response | None:
        """None and one more call in flight (call `release` when answered), or the 429 answer."""
        settings = self.settings(realm_id)
        counters = self._counters.setdefault(realm_id, _Counters())
        now = self._monotonic()
        while counters.accepted and counters.accepted[0] <= now - WINDOW_SECONDS:
            counters.accepted.popleft()
        if settings.concurrent is not None and counters.in_flight >= settings.concurrent:
            return throttle_response(CONCURRENCY_RETRY_AFTER, settings.format)
        if settings.per_minute is not None and len(counters.accepted) >= settings.per_minute:
            # the oldest calls in the window must age out before another fits
            oldest = counters.accepted[len(counters.accepted) - settings.per_minute]
            wait = max(1, math.ceil(oldest + WINDOW_SECONDS - now))
            return throttle_response(wait, settings.format)
        counters.accepted.append(now)
        counters.in_flight += 1
        return None

    def release(self, realm_id: str) -> None:
        counters = self._counters.get(realm_id)
        if counters is not None and counters.in_flight > 0:
            counters.in_flight -= 1


def throttle_response(retry_after_seconds: float, fmt: str = "json") -> Response:
    """QBO's 429 ThrottlingFault (JSON, or XML as Intuit's gateway also sends it) + Retry-After."""
    headers = {"Retry-After": str(max(0, math.ceil(retry_after_seconds)))}
    if fmt == "xml":
        body = xml_fault("ThrottlingFault", "3001", THROTTLE_MESSAGE, THROTTLE_DETAIL)
        return Response(body, 429, headers=headers, media_type=XML_CONTENT_TYPE)
    error = {"Message": THROTTLE_MESSAGE, "Detail": THROTTLE_DETAIL, "code": "3001"}
    return json_response({"Fault": {"Error": [error], "type": "ThrottlingFault"}}, 429, headers)


def xml_fault(fault_type: str, code: str, message: str, detail: str) -> bytes:
    """A fault in QBO's XML envelope (`IntuitResponse`)."""
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        f'<IntuitResponse xmlns="http://schema.intuit.com/finance/v3" time="{clock.response_time()}">'
        f'<Fault type="{fault_type}"><Error code="{code}">'
        f"<Message>{escape(message)}</Message><Detail>{escape(detail)}</Detail>"
        "</Error></Fault></IntuitResponse>"
    ).encode()
