"""Fault injection: make chosen API calls of one company fail the way real QBO and networks do.

A fault matches a call by method and an `fnmatch` glob on the path after `/v3/company/{r}/`
(case-insensitive). It affects at most `times` calls (None = no limit), each matching call with
probability `fraction` (None = always), drawn from the fault's own random stream (seeded by its
`seed`, else by the sandbox's seed, so a run can be replayed); only calls it really affected use up
`times` and add to `hits`. Where each kind acts in the request pipeline is described in api.py and the README.
"""

from __future__ import annotations

import asyncio
import copy
import fnmatch
import itertools
import random
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from starlette.responses import Response
from starlette.types import Receive, Scope, Send

from qbo_sandbox import clock
from qbo_sandbox.entities import EntityRules
from qbo_sandbox.jsonio import JsonError, json_response, loads
from qbo_sandbox.limits import FORMATS, XML_CONTENT_TYPE, as_int, xml_fault
from qbo_sandbox.realms import Realm

KINDS = (
    "status",
    "throttle",
    "delay",
    "drop_after_commit",
    "drop_before",
    "expire_token",
    "stale_synctoken",
)
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
SPEC_KEYS = {"kind", "path", "method", "times", "fraction", "status", "seconds", "format", "seed"}
DEFAULT_STATUS = 500
DEFAULT_THROTTLE_SECONDS = 60.0
DEFAULT_DELAY_SECONDS = 1.0

# The kinds each pipeline stage asks for (api.py): one fault at most per stage and call.
BEFORE_AUTH = ("expire_token",)
DELAY = ("delay",)
ANSWER = ("status", "throttle", "drop_before", "drop_after_commit")
BEFORE_DISPATCH = ("stale_synctoken",)

_ids = itertools.count(1)


@dataclass
class InjectedFault:
    id: str
    kind: str
    path: str
    method: str | None
    remaining: int | None
    fraction: float | None
    status: int
    seconds: float
    format: str
    seed: int | str | None = None
    hits: int = 0
    # The `fraction` draws: one stream per fault, so one fault's calls never shift another's.
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def matches(self, method: str, relative_path: str) -> bool:
        if self.remaining == 0 or (self.method is not None and self.method != method):
            return False
        return fnmatch.fnmatchcase(relative_path.lower(), self.path.lower())

    def as_json(self) -> dict[str, object]:
        return {
            "id": self.id,
            "kind": self.kind,
            "path": self.path,
            "method": self.method,
            "remaining": self.remaining,
            "hits": self.hits,
            "seed": self.seed,
        }


def parse_fault(spec: object) -> InjectedFault:
    """A fault from its control-API body; raises ValueError with a message for the caller."""
    if not isinstance(spec, dict):
        raise ValueError("the body must be a JSON object")
    unknown = set(spec) - SPEC_KEYS
    if unknown:
        raise ValueError(f"unknown keys: {', '.join(sorted(unknown))}")
    kind = spec.get("kind")
    if kind not in KINDS:
        raise ValueError(f'"kind" must be one of {", ".join(KINDS)}')
    path = spec.get("path", "*")
    if not isinstance(path, str) or not path.strip("/"):
        raise ValueError('"path" must be a non-empty glob such as "customer", "invoice*" or "*"')
    method = spec.get("method")
    if method is not None and (not isinstance(method, str) or method.upper() not in METHODS):
        raise ValueError(f'"method" must be one of {", ".join(METHODS)} or null')
    times: int | None = 1
    if "times" in spec:
        times = None if spec["times"] is None else as_int(spec["times"])
        if spec["times"] is not None and (times is None or times < 1):
            raise ValueError('"times" must be a positive integer or null')
    fraction = _number_or_none(spec, "fraction")
    if fraction is not None and not 0.0 <= fraction <= 1.0:
        raise ValueError('"fraction" must be between 0.0 and 1.0, or null')
    status = DEFAULT_STATUS if spec.get("status") is None else as_int(spec["status"])
    if status is None or not 500 <= status <= 599:
        raise ValueError('"status" must be a 5xx status code (500, 502, 503, 504, ...) or null')
    seconds = _number_or_none(spec, "seconds")
    if seconds is not None and seconds < 0:
        raise ValueError('"seconds" must not be negative')
    if seconds is None:
        seconds = DEFAULT_THROTTLE_SECONDS if kind == "throttle" else DEFAULT_DELAY_SECONDS
    raw_seed = spec.get("seed")
    seed = raw_seed if isinstance(raw_seed, str) else as_int(raw_seed)
    if raw_seed is not None and seed is None:
        raise ValueError('"seed" must be an integer, a string or null')
    fmt = spec.get("format") or "json"
    if fmt not in FORMATS:
        raise ValueError('"format" must be "json", "xml" or null')
    return InjectedFault(
        id=f"fault-{next(_ids)}",
        kind=kind,
        path=path.strip("/"),
        method=method.upper() if method else None,
        remaining=times,
        fraction=fraction,
        status=status,
        seconds=seconds,
        format=fmt,
        seed=seed,
        rng=random.Random(seed) if seed is not None else random.Random(),
    )


def _number_or_none(spec: dict[str, Any], key: str) -> float | None:
    value = spec.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float | Decimal):
        raise ValueError(f'"{key}" must be a number or null')
    return float(value)


@dataclass
class FaultInjector:
    """Every company's injected faults, in the order they were added.

    With a `seed` (the sandbox's `--seed`), a fault added without one of its own draws from
    a stream seeded by (seed, company, its position among the company's faults).
    """

    seed: int | None = None
    _faults: dict[str, list[InjectedFault]] = field(default_factory=dict)

    def add(self, realm_id: str, fault: InjectedFault) -> None:
        faults = self._faults.setdefault(realm_id, [])
        if fault.seed is None and self.seed is not None:
            fault.seed = f"{self.seed}/{realm_id}/{len(faults)}"
            fault.rng = random.Random(fault.seed)
        faults.append(fault)

    def faults(self, realm_id: str) -> list[InjectedFault]:
        return list(self._faults.get(realm_id, []))

    def clear(self, realm_id: str) -> None:
        self._faults.pop(realm_id, None)

    def remove(self, realm_id: str, fault_id: str) -> bool:
        faults = self._faults.get(realm_id, [])
        kept = [fault for fault in faults if fault.id != fault_id]
        self._faults[realm_id] = kept
        return len(kept) != len(faults)

    def take(
        self,
        realm_id: str,
        method: str,
        relative_path: str,
        kinds: Collection[str],
        applies: Callable[[InjectedFault], bool] | None = None,
    ) -> InjectedFault | None:
        """The first fault of these kinds that affects this call, counted as a hit; or None.

        `applies` says whether a matching fault can act on this call at all (a stale SyncToken
        needs an update of an existing record); one that cannot is not used up.
        """
        for fault in self._faults.get(realm_id, []):
            if fault.kind not in kinds or not fault.matches(method, relative_path):
                continue
            if applies is not None and not applies(fault):
                continue
            if fault.fraction is not None and fault.rng.random() >= fault.fraction:
                continue
            if fault.remaining is not None:
                fault.remaining -= 1
            fault.hits += 1
            return fault
        return None


# --- what the faults answer -------------------------------------------------------------------

_SERVER_FAULTS = {
    500: (
        "An application error has occurred while processing your request",
        "System Failure Error",
    ),
    502: ("Bad Gateway", "The server received an invalid response from an upstream server"),
    503: ("Service Unavailable", "The service is temporarily unavailable; try again later"),
    504: ("Gateway Timeout", "The upstream server did not answer in time"),
}


def server_fault_response(status: int, fmt: str = "json") -> Response:
    """A 5xx SystemFault (code 10000) the way QBO's servers answer when something breaks."""
    message, detail = _SERVER_FAULTS.get(status, _SERVER_FAULTS[500])
    detail = f"{detail} (injected by the QBO sandbox)"
    if fmt == "xml":
        body = xml_fault("SystemFault", "10000", message, detail)
        return Response(body, status, media_type=XML_CONTENT_TYPE)
    error = {"Message": message, "Detail": detail, "code": "10000", "element": ""}
    fault = {"Fault": {"Error": [error], "type": "SystemFault"}, "time": clock.response_time()}
    return json_response(fault, status)


def sync_target(realm: Realm, rules: EntityRules, body: bytes) -> str | None:
    """The stored Id of the existing record a write body names (an update), else None."""
    try:
        parsed = loads(body)
    except JsonError:
        return None
    record_id = parsed.get("Id") if isinstance(parsed, dict) else None
    if not isinstance(record_id, str | Decimal) or not str(record_id).strip().isdigit():
        return None
    stored_id = rules.stored_id(realm, str(int(str(record_id).strip())))
    existing = realm.table(rules.name).get(stored_id)
    if existing is None or not str(existing.get("SyncToken", "")).isdigit():
        return None
    return stored_id


def bump_sync_token(realm: Realm, entity: str, stored_id: str) -> None:
    """Change a record as a concurrent writer would: SyncToken + 1 and a new LastUpdatedTime."""
    table = realm.table(entity)
    record = copy.deepcopy(table[stored_id])
    record["SyncToken"] = str(int(record["SyncToken"]) + 1)
    metadata = dict(record.get("MetaData") or {})
    metadata["LastUpdatedTime"] = clock.metadata_timestamp(clock.now())
    record["MetaData"] = metadata
    table[stored_id] = record


# --- dropping the connection ------------------------------------------------------------------

ABORT_KEY = "qbo_sandbox.abort_connection"
"""Scope key where `DropConnectionMiddleware` leaves a function that aborts the connection."""


class DropConnection(Response):
    """Sends nothing and closes the TCP connection: the client sees a transport error."""

    def __init__(self) -> None:
        super().__init__(status_code=500)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        abort = scope.get(ABORT_KEY)
        if callable(abort) and abort():
            # Let the server see the connection go (it then sends no 500 of its own).
            for _ in range(3):
                await asyncio.sleep(0)
            return
        # No transport to abort (not uvicorn): promise a body and never send it.
        await send(
            {"type": "http.response.start", "status": 500, "headers": [(b"content-length", b"1")]}
        )
        raise ConnectionAbortedError("connection dropped by an injected fault")


class DropConnectionMiddleware:
    """Outermost ASGI layer: finds the server's transport for `DropConnection`.

    uvicorn's `receive` is a method of its request cycle, which holds the asyncio transport;
    aborting it closes the socket without a byte of response (httpx: RemoteProtocolError).
    """

    def __init__(self, app: Callable[[Scope, Receive, Send], Any]) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scope[ABORT_KEY] = _aborter(receive)
        await self.app(scope, receive, send)


def _aborter(receive: Receive) -> Callable[[], bool]:
    def abort() -> bool:
        transport = getattr(getattr(receive, "__self__", None), "transport", None)
        abort_transport = getattr(transport, "abort", None)
        if not callable(abort_transport):
            return False
        abort_transport()
        return True

    return abort
