"""QBO faults as typed errors. Each carries code, detail, element, HTTP status and `intuit_tid`."""

from __future__ import annotations

from collections.abc import Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, ClassVar


@dataclass
class QBOError(Exception):
    """A fault answered by QuickBooks (or a transport failure on the way there)."""

    message: str
    status: int = 0
    code: str = ""
    detail: str = ""
    element: str = ""
    intuit_tid: str = ""

    retryable: ClassVar[bool] = False

    def __post_init__(self) -> None:
        pass

    def __str__(self) -> str:
        parts = [f"QuickBooks error {self.code or self.status}: {self.message}"]
        if self.detail and self.detail != self.message:
            parts.append(self.detail)
        if self.element:
            parts.append(f"(field {self.element})")
        text = " — ".join(parts[:2]) + (f" {parts[2]}" if len(parts) > 2 else "")
        if self.intuit_tid:
            text += f" [intuit_tid {self.intuit_tid}]"
        return text

    @property
    def retry_after(self) -> float | None:
        return None


class AuthenticationError(QBOError):
    """401 / 3200: the access token expired or is invalid (refresh, then retry once)."""

    retryable: ClassVar[bool] = True

    def __post_init__(self) -> None:
        # The gateway's detail quotes the token ("Token expired: AB01…"): never keep it.
        if "token" in self.detail.lower():
            self.detail = self.detail.split(":", 1)[0]


class ReconnectRequiredError(QBOError):
    """The refresh token was revoked or expired (`invalid_grant`): the company must reconnect."""


class ForbiddenError(QBOError):
    """403 / 3100: the app is not authorised for this company."""


@dataclass
class ThrottledError(QBOError):
    """429 / 3001: over the per-realm rate limit; wait and retry."""

    retry_after_seconds: float = 60.0
    retryable: ClassVar[bool] = True

    @property
    def retry_after(self) -> float | None:
        return self.retry_after_seconds


class ServerError(QBOError):
    """5xx, timeouts and broken connections: retry with the same `requestid`."""

    retryable: ClassVar[bool] = True


class ValidationFaultError(QBOError):
    """400 validation faults that will fail again unchanged (2010, 2020, 2030, 2500, 6000, …)."""


class ObjectNotFoundError(ValidationFaultError):
    """610: the object was deleted, made inactive, or never existed."""


class StaleObjectError(QBOError):
    """5010: the SyncToken sent is not the current one; re-read and re-apply."""

    retryable: ClassVar[bool] = True


class DuplicateNameError(ValidationFaultError):
    """6240: the name is already used (customers: by any customer, vendor or employee)."""


class QueryError(ValidationFaultError):
    """4000/4001: the query could not be parsed or names an unknown field."""


class UnsupportedPropertyError(ValidationFaultError):
    """2010: the body has a property QBO does not know (or a wrongly typed value)."""


class MissingFieldError(ValidationFaultError):
    """2020: a required field is missing (`element` names it)."""


class InvalidIdError(ValidationFaultError):
    """2030: an id that is not a number."""


class InvalidReferenceError(ValidationFaultError):
    """2500: a reference (CustomerRef, ItemRef, AccountRef, …) to nothing usable."""


class BusinessRuleError(ValidationFaultError):
    """6000: a business rule refused the write (the detail says which)."""


class AmountMismatchError(ValidationFaultError):
    """6070: a line's Amount is not Qty × UnitPrice."""


class DuplicateDocNumberError(ValidationFaultError):
    """6140: the document number is already used."""


def intuit_tid(headers: Mapping[str, str]) -> str:
    """Intuit's transaction id: sent as `intuit_tid` (docs) or `Intuit-Tid` (recorded traffic)."""
    return headers.get("intuit_tid") or headers.get("Intuit-Tid") or ""


_BY_CODE: dict[str, type[QBOError]] = {
    "610": ObjectNotFoundError,
    "2010": UnsupportedPropertyError,
    "2020": MissingFieldError,
    "2030": InvalidIdError,
    "2500": InvalidReferenceError,
    "6000": BusinessRuleError,
    "6070": AmountMismatchError,
    "6140": DuplicateDocNumberError,
    "5010": StaleObjectError,
    "6240": DuplicateNameError,
    "4000": QueryError,
    "4001": QueryError,
    "3200": AuthenticationError,
    "3100": ForbiddenError,
    "3001": ThrottledError,
}


def _first_error(body: Any) -> dict[str, Any]:
    if isinstance(body, dict):
        fault = body.get("Fault") or body.get("fault")
        if isinstance(fault, dict):
            errors = fault.get("Error") or fault.get("error") or []
            if errors and isinstance(errors[0], dict):
                return {str(k).lower(): v for k, v in errors[0].items()}
    return {}


def _from_xml(text: str) -> dict[str, Any]:
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(text)
    except ET.ParseError:
        return {}
    for node in root.iter():
        if node.tag.rsplit("}", 1)[-1] == "Error":
            found: dict[str, Any] = {"code": node.attrib.get("code", "")}
            for child in node:
                found[child.tag.rsplit("}", 1)[-1].lower()] = (child.text or "").strip()
            found.setdefault("element", node.attrib.get("element", ""))
            return found
    return {}


def error_from_response(
    status: int, body_text: str, parsed: Any, tid: str, retry_after: str | None
) -> QBOError:
    """Turn any of QBO's three fault shapes (JSON `Fault`, gateway `fault`, XML) into a typed error."""
    first = _first_error(parsed) if parsed is not None else _from_xml(body_text)
    code = str(first.get("code", "") or "")
    message = str(first.get("message", "") or "") or f"HTTP {status}"
    detail = str(first.get("detail", "") or "")
    element = str(first.get("element", "") or "")

    def make(cls: type[QBOError]) -> QBOError:
        return cls(message, status, code, detail, element, tid)

    # The HTTP status decides first; the fault code refines a 400.
    if status == 401:
        return make(AuthenticationError)
    if status == 403:
        return make(ForbiddenError)
    if status == 429:
        delay = 60.0
        if retry_after:
            with suppress(ValueError):
                delay = max(1.0, float(retry_after))
        return ThrottledError(message, status, code, detail, element, tid, delay)
    if status >= 500:
        return make(ServerError)
    return make(_BY_CODE.get(code, ValidationFaultError))
