"""Per-company request limits, as QBO counts them per realm and app → HTTP 429 ThrottlingFault.

Off by default. `--limits` (or `QBO_SANDBOX_LIMITS=1`) gives every company QBO's numbers (500 per
sliding minute, 10 per sliding second, 10 in flight, 40 batch calls per minute);
`PUT /__sandbox/realms/{r}/limits` sets them per company. Only API calls that pass the auth
gateway count; a throttled call does not count; a batch is one call, and one batch call.
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
QBO_PER_SECOND = 10
QBO_CONCURRENT = 10
QBO_BATCH_PER_MINUTE = 40
WINDOW_SECONDS = 60.0
SECOND_WINDOW_SECONDS = 1.0
CONCURRENCY_RETRY_AFTER = 1
FORMATS = ("json", "xml")
SETTING_KEYS = ("per_minute", "per_second", "concurrent", "batch_per_minute")

THROTTLE_MESSAGE = "message=ThrottleExceeded; errorCode=003001; statusCode=429"
THROTTLE_DETAIL = "The request limit was reached."
XML_CONTENT_TYPE = "application/xml;charset=utf-8"


@dataclass(frozen=True)
class LimitSettings:
    """One company's limits; None turns that limit off. `format` shapes the 429 body."""

    per_minute: int | None = None
    per_second: int | None = None
    concurrent: int | None = None
    batch_per_minute: int | None = None
    format: str = "json"

    def as_json(self) -> dict[str, object]:
        return {
            "per_minute": self.per_minute,
            "per_second": self.per_second,
            "concurrent": self.concurrent,
            "batch_per_minute": self.batch_per_minute,
            "format": self.format,
        }

    @classmethod
    def from_json(cls, body: object) -> LimitSettings:
        """Settings from a control-API body; raises ValueError with a message for the caller."""
        if not isinstance(body, dict):
            raise ValueError("the body must be a JSON object")
        unknown = set(body) - {*SETTING_KEYS, "format"}
        if unknown:
            raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
        fmt = body.get("format") or "json"
        if fmt not in FORMATS:
            raise ValueError('"format" must be "json" or "xml"')
        return cls(
            per_minute=_positive_or_none(body, "per_minute"),
            per_second=_positive_or_none(body, "per_second"),
            concurrent=_positive_or_none(body, "concurrent"),
            batch_per_minute=_positive_or_none(body, "batch_per_minute"),
            format=fmt,
        )


QBO_LIMITS = LimitSettings(
    per_minute=QBO_PER_MINUTE,
    per_second=QBO_PER_SECOND,
    concurrent=QBO_CONCURRENT,
    batch_per_minute=QBO_BATCH_PER_MINUTE,
)


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
    accepted: deque[float] = field(default_factory=deque)  # the last minute's, oldest first
    batches: deque[float] = field(default_factory=deque)  # the last minute's batch calls
    in_flight: int = 0
    peak_in_flight: int = 0
    accepted_total: int = 0
    throttled_total: int = 0


def _wait_for_window(times: deque[float], limit: int, window: float, now: float) -> float | None:
    """None while fewer than `limit` of `times` fall in the window (now - window, now], else the
    seconds until the oldest call that keeps it full leaves it."""
    for full, at in enumerate(reversed(times), start=1):
        if at <= now - window:
            break
        if full == limit:
            return at + window - now
    return None


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

    def admit(self, realm_id: str, batch: bool = False) -> Response | None:
        """None and one more call in flight (call `release` when answered), or the 429 answer.

        Checked in order: calls in flight, per second, per minute, batch calls per minute.
        """
        settings = self.settings(realm_id)
        counters = self._counters.setdefault(realm_id, _Counters())
        now = self._monotonic()
        for times in (counters.accepted, counters.batches):
            while times and times[0] <= now - WINDOW_SECONDS:
                times.popleft()
        wait: float | None = None
        if settings.concurrent is not None and counters.in_flight >= settings.concurrent:
            wait = CONCURRENCY_RETRY_AFTER
        windows = [
            (counters.accepted, settings.per_second, SECOND_WINDOW_SECONDS),
            (counters.accepted, settings.per_minute, WINDOW_SECONDS),
        ]
        if batch:
            windows.append((counters.batches, settings.batch_per_minute, WINDOW_SECONDS))
        for times, limit, window in windows:
            if wait is None and limit is not None:
                wait = _wait_for_window(times, limit, window, now)
        if wait is not None:
            counters.throttled_total += 1
            return throttle_response(max(1, math.ceil(wait)), settings.format)
        counters.accepted.append(now)
        if batch:
            counters.batches.append(now)
        counters.accepted_total += 1
        counters.in_flight += 1
        counters.peak_in_flight = max(counters.peak_in_flight, counters.in_flight)
        return None

    def release(self, realm_id: str) -> None:
        counters = self._counters.get(realm_id)
        if counters is not None and counters.in_flight > 0:
            counters.in_flight -= 1

    def load(self, realm_id: str) -> dict[str, int]:
        """What the company's limits have seen: calls in flight now and at most, calls accepted
        and throttled in all, and accepted calls in the last second and the last minute."""
        counters = self._counters.get(realm_id, _Counters())
        now = self._monotonic()
        return {
            "in_flight": counters.in_flight,
            "peak_in_flight": counters.peak_in_flight,
            "accepted": counters.accepted_total,
            "throttled": counters.throttled_total,
            "last_second": sum(1 for at in counters.accepted if at > now - SECOND_WINDOW_SECONDS),
            "last_minute": sum(1 for at in counters.accepted if at > now - WINDOW_SECONDS),
        }


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
