"""The service's HTTP API as the command line calls it: typed answers, and every error as one line
that names the request and what the API said."""

from __future__ import annotations

from datetime import datetime
from types import TracebackType
from typing import Any
from urllib.parse import quote

import httpx
from pydantic import TypeAdapter

from starter.api_models import ActivityOut, EventAccepted, EventState, EventStepOut
from starter.signing import sign

DEFAULT_API_URL = "http://127.0.0.1:8000"
TIMEOUT_SECONDS = 30

STEPS = TypeAdapter(list[EventStepOut])
ACTIVITY = TypeAdapter(list[ActivityOut])


class APIError(Exception):
    """The API could not be reached or answered an error; the message is the whole story."""


class ServiceAPI:
    """A client of one API process; `api_key` goes out as `Authorization: Bearer …`."""

    def __init__(self, base_url: str, api_key: str | None = None) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.base_url = base_url.rstrip("/")
        self._keyed = bool(api_key)
        self._http = httpx.Client(base_url=self.base_url, headers=headers, timeout=TIMEOUT_SECONDS)

    def __enter__(self) -> ServiceAPI:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        self._http.close()

    def send_event(self, body: bytes, signing_secret: str | None) -> EventAccepted:
        headers = {"Content-Type": "application/json"}
        if signing_secret:
            headers["X-Signature"] = sign(signing_secret, body)
        reply = self._call("POST", "/events", content=body, headers=headers)
        return EventAccepted.model_validate_json(reply.content)

    def event(self, event_id: str) -> EventState:
        reply = self._call("GET", f"/events/{segment(event_id)}")
        return EventState.model_validate_json(reply.content)

    def event_steps(self, event_id: str) -> list[EventStepOut]:
        return STEPS.validate_json(self._call("GET", f"/events/{segment(event_id)}/steps").content)

    def activity(
        self,
        company_id: str,
        limit: int,
        outcome: str | None = None,
        before: datetime | None = None,
    ) -> list[ActivityOut]:
        params: dict[str, str | int] = {"limit": limit}
        if outcome:
            params["outcome"] = outcome
        if before is not None:
            params["before"] = before.isoformat()
        reply = self._call("GET", f"/companies/{segment(company_id)}/activity", params=params)
        return ACTIVITY.validate_json(reply.content)

    def connect_url(self, company_id: str) -> str:
        """Where the API sends an office user's browser to connect QuickBooks."""
        path = f"/companies/{segment(company_id)}/quickbooks/connect"
        reply = self._call("GET", path)
        location = reply.headers.get("location")
        if reply.status_code != 302 or not location:
            raise APIError(f"GET {path}: expected a 302 to QuickBooks, got {reply.status_code}")
        return str(location)

    def _call(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            reply = self._http.request(method, path, **kwargs)
        except httpx.TransportError as exc:
            raise APIError(
                f"cannot reach the API at {self.base_url} ({type(exc).__name__}: {exc}); "
                "is it running? (--api-url or SKIMMER_API_URL)"
            ) from exc
        if reply.is_error:
            raise APIError(f"{method} {path}: {reply.status_code} {self._reason(reply)}")
        return reply

    def _reason(self, reply: httpx.Response) -> str:
        """FastAPI's `detail` (a sentence, or field errors) in one line, with a hint for 401."""
        try:
            detail = reply.json().get("detail", reply.text)
        except ValueError:
            detail = reply.text.strip()[:200] or reply.reason_phrase
        if isinstance(detail, list):
            detail = "; ".join(field_error(error) for error in detail)
        if reply.status_code == 401 and not self._keyed and "signature" not in str(detail).lower():
            detail = f"{detail} (set SKIMMER_API_KEY or --api-key)"
        return str(detail)


def segment(record_id: str) -> str:
    """An id as one path segment: the billing backend's ids are its own strings."""
    return quote(record_id, safe="")


def field_error(error: Any) -> str:
    """{"loc": ["body", "data", "customer", "id"], "msg": "Field required"} → "data.customer.id: Field required"."""
    if not isinstance(error, dict):
        return str(error)
    where = ".".join(str(part) for part in error.get("loc", []) if part != "body")
    return f"{where}: {error.get('msg')}" if where else str(error.get("msg"))
