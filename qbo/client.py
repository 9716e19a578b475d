"""`QBOClient`: async calls to /v3/company/{realm}/..., one access-token refresh on 401.

Each request is logged (realm, read or write, status, `intuit_tid`, never a token or a query's
text) and reported to a `RequestObserver` (the service's metrics)."""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, Protocol, TypeVar

# httpcore loads anyio's asyncio backend on the first request (~0.1 s, more on a busy host):
# loaded here, so a process's first QBO request is not sent late for the moment it was granted.
import anyio._backends._asyncio  # noqa: F401
import httpx

from qbo import wire
from qbo.auth import TokenManager
from qbo.errors import (
    AuthenticationError,
    QBOError,
    ServerError,
    error_from_response,
    intuit_tid,
)
from qbo.limiter import RealmLimiter
from qbo.models import QBOModel

PRODUCTION_BASE_URL = "https://quickbooks.api.intuit.com"
INTUIT_SANDBOX_BASE_URL = "https://sandbox-quickbooks.api.intuit.com"
MINOR_VERSION = "75"

MAX_PAGE = 1000
MAX_BATCH = 30

M = TypeVar("M", bound=QBOModel)
Access = Literal["read", "write"]

log = logging.getLogger(__name__)


class RequestObserver(Protocol):
    """Told of every request once it is answered (`status` None: no answer at all)."""

    def request_done(
        self, realm_id: str, access: Access, status: int | None, seconds: float
    ) -> None: ...


class NoObserver:
    def request_done(
        self, realm_id: str, access: Access, status: int | None, seconds: float
    ) -> None:
        pass


@dataclass(frozen=True)
class BatchItem:
    """One operation of a /batch call: a write of `entity`, or a `query`."""

    batch_id: str
    operation: Literal["create", "update", "delete"] | None = None
    entity: QBOModel | None = None
    query: str | None = None

    def request(self) -> dict[str, Any]:
        if len(self.batch_id) > 10:
            raise ValueError("a bId is at most 10 characters")
        if self.query is not None:
            return {"bId": self.batch_id, "Query": self.query}
        if self.entity is None or self.operation is None:
            raise ValueError("a batch item is a query, or an operation with an entity")
        body = self.entity.body()
        if self.operation == "update":
            body["sparse"] = True
        return {"bId": self.batch_id, "operation": self.operation, type(self.entity).__name__: body}


@dataclass(frozen=True)
class BatchResult:
    batch_id: str
    answer: dict[str, Any]
    error: QBOError | None


@dataclass(frozen=True)
class ChangeSet:
    """What `/cdc` answered: per entity the records changed since the moment asked for (a deleted
    one as a stub whose `status` is "Deleted"), and QBO's clock when it answered."""

    records: dict[str, list[dict[str, Any]]]
    time: str | None

    def deleted(self, entity: str) -> list[dict[str, Any]]:
        return [r for r in self.records.get(entity, []) if r.get("status") == "Deleted"]

    def changed(self, entity: str) -> list[dict[str, Any]]:
        return [r for r in self.records.get(entity, []) if r.get("status") != "Deleted"]


def quote(value: str) -> str:
    """A string literal for the QBO query language (`'` escaped as `\\'`)."""
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class QBOClient:
    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenManager,
        limiter: RealmLimiter,
        base_url: str = PRODUCTION_BASE_URL,
        minor_version: str = MINOR_VERSION,
        observer: RequestObserver | None = None,
    ) -> None:
        self._observer = observer or NoObserver()
        self._http = http
        self._tokens = tokens
        self._limiter = limiter
        self._base_url = base_url.rstrip("/")
        self._minor_version = minor_version

    async def _send(
        self,
        realm_id: str,
        method: str,
        path: str,
        *,
        access: Access,
        params: dict[str, str] | None = None,
        body: Any = None,
        text: str | None = None,
        batch: bool = False,
    ) -> Any:
        url = f"{self._base_url}/v3/company/{realm_id}/{path}"
        query = {"minorversion": self._minor_version, **(params or {})}
        content: str | None = None
        headers = {"Accept": "application/json"}
        if body is not None:
            content = wire.dumps(body)
            headers["Content-Type"] = "application/json"
        elif text is not None:
            content = text
            headers["Content-Type"] = "application/text"

        token = await self._tokens.access_token(realm_id)
        for attempt in range(2):
            headers["Authorization"] = f"Bearer {token}"
            try:
                async with self._limiter.slot(realm_id, batch=batch):
                    started = time.monotonic()
                    try:
                        response = await self._http.request(
                            method, url, params=query, content=content, headers=headers
                        )
                    except httpx.TransportError as exc:
                        self._unanswered(realm_id, access, method, path, exc, started)
                        raise
            except httpx.TimeoutException as exc:
                raise ServerError(f"QuickBooks did not answer in time ({method} {path})") from exc
            except httpx.TransportError as exc:
                raise ServerError(
                    f"connection to QuickBooks failed ({method} {path}): {type(exc).__name__}"
                ) from exc
            self._answered(realm_id, access, method, path, params, response, started)
            if response.status_code == 401 and attempt == 0:
                # One refresh, then the same request again (same requestid).
                token = await self._tokens.refresh(realm_id, rejected_access_token=token)
                continue
            return self._parse(response)
        raise AssertionError("unreachable")  # pragma: no cover

    async def settled(self) -> None:
        """Back once the request slots this process held are all given back (at shutdown)."""
        await self._limiter.settled()

    def _answered(
        self,
        realm_id: str,
        access: Access,
        method: str,
        path: str,
        params: dict[str, str] | None,
        response: httpx.Response,
        started: float,
    ) -> None:
        seconds = time.monotonic() - started
        self._observer.request_done(realm_id, access, response.status_code, seconds)
        tid = intuit_tid(response.headers)
        log.info(
            "QBO %s %s in realm %s: %d in %.0f ms (intuit_tid %s)",
            method,
            path,
            realm_id,
            response.status_code,
            seconds * 1000,
            tid or "-",
            extra={
                "realm_id": realm_id,
                "qbo_method": method,
                "qbo_path": path,
                "qbo_access": access,
                "status": response.status_code,
                "duration_ms": round(seconds * 1000, 1),
                "intuit_tid": tid or None,
                "requestid": (params or {}).get("requestid"),
            },
        )

    def _unanswered(
        self,
        realm_id: str,
        access: Access,
        method: str,
        path: str,
        error: httpx.TransportError,
        started: float,
    ) -> None:
        seconds = time.monotonic() - started
        self._observer.request_done(realm_id, access, None, seconds)
        log.warning(
            "QBO %s %s in realm %s: no answer after %.0f ms (%s)",
            method,
            path,
            realm_id,
            seconds * 1000,
            type(error).__name__,
            extra={
                "realm_id": realm_id,
                "qbo_method": method,
                "qbo_path": path,
                "qbo_access": access,
                "duration_ms": round(seconds * 1000, 1),
                "error": type(error).__name__,
            },
        )

    @staticmethod
    def _parse(response: httpx.Response) -> Any:
        tid = intuit_tid(response.headers)
        parsed: Any = None
        if "json" in response.headers.get("content-type", "") and response.content:
            try:
                parsed = wire.loads(response.content)
            except ValueError:
                parsed = None
        if response.status_code == 200 and isinstance(parsed, dict):
            if "Fault" in parsed or "fault" in parsed:
                raise error_from_response(400, response.text, parsed, tid, None)
            return parsed
        if response.status_code == 200:
            raise ServerError("QuickBooks answered 200 without JSON", status=200, intuit_tid=tid)
        raise error_from_response(
            response.status_code, response.text, parsed, tid, response.headers.get("Retry-After")
        )

    # Entity operations ------------------------------------------------------------------------

    async def create(self, realm_id: str, entity: M, request_id: str) -> M:
        return await self._write(realm_id, entity, request_id, sparse=False)

    async def update(self, realm_id: str, entity: M, request_id: str, sparse: bool = True) -> M:
        if entity.Id is None or entity.SyncToken is None:  # type: ignore[attr-defined]
            raise ValueError("an update needs Id and SyncToken")
        return await self._write(realm_id, entity, request_id, sparse=sparse)

    async def _write(self, realm_id: str, entity: M, request_id: str, sparse: bool) -> M:
        name = type(entity).__name__
        payload = entity.body()
        if sparse:
            payload["sparse"] = True
        reply = await self._send(
            realm_id,
            "POST",
            name.lower(),
            access="write",
            params={"requestid": request_id},
            body=payload,
        )
        return type(entity).model_validate(self._entity(reply, name))

    async def delete(
        self, realm_id: str, model: type[QBOModel], entity_id: str, sync_token: str, request_id: str
    ) -> None:
        """Delete a transaction (name-list entities are made inactive instead)."""
        name = model.__name__
        reply = await self._send(
            realm_id,
            "POST",
            name.lower(),
            access="write",
            params={"operation": "delete", "requestid": request_id},
            body={"Id": entity_id, "SyncToken": sync_token},
        )
        if reply.get(name, {}).get("status") != "Deleted":
            raise QBOError(f"QuickBooks did not confirm deleting {name} {entity_id}", status=200)

    async def void(
        self, realm_id: str, model: type[M], entity_id: str, sync_token: str, request_id: str
    ) -> M:
        """Void an invoice (`operation=void`) or a payment (`operation=update&include=void`)."""
        name = model.__name__
        params = {"operation": "void", "requestid": request_id}
        body: dict[str, Any] = {"Id": entity_id, "SyncToken": sync_token}
        if name == "Payment":
            params = {"operation": "update", "include": "void", "requestid": request_id}
            body["sparse"] = True
        reply = await self._send(
            realm_id, "POST", name.lower(), access="write", params=params, body=body
        )
        return model.model_validate(self._entity(reply, name))

    async def tax_service(self, realm_id: str, body: dict[str, Any], request_id: str) -> Any:
        """`POST /taxservice/taxcode`: a TaxCode and its rates in one call; QBO answers bare."""
        return await self._send(
            realm_id,
            "POST",
            "taxservice/taxcode",
            access="write",
            params={"requestid": request_id},
            body=body,
        )

    async def read(self, realm_id: str, model: type[M], entity_id: str) -> M:
        name = model.__name__
        reply = await self._send(realm_id, "GET", f"{name.lower()}/{entity_id}", access="read")
        return model.model_validate(self._entity(reply, name))

    async def query(self, realm_id: str, model: type[M], statement: str) -> list[M]:
        """One page of `SELECT * FROM <model> ...`."""
        reply = await self._send(realm_id, "POST", "query", access="read", text=statement)
        rows = reply.get("QueryResponse", {}).get(model.__name__, [])
        return [model.model_validate(row) for row in rows]

    async def query_all(
        self, realm_id: str, model: type[M], where: str = "", page_size: int = MAX_PAGE
    ) -> AsyncIterator[M]:
        """Every row of `SELECT * FROM <model> [WHERE …]`, page by page (STARTPOSITION is 1-based)."""
        if not 1 <= page_size <= MAX_PAGE:
            raise ValueError(f"page_size must be 1..{MAX_PAGE}")
        clause = f" WHERE {where}" if where else ""
        start = 1
        while True:
            statement = (
                f"SELECT * FROM {model.__name__}{clause} ORDERBY Id "
                f"STARTPOSITION {start} MAXRESULTS {page_size}"
            )
            rows = await self.query(realm_id, model, statement)
            for row in rows:
                yield row
            if len(rows) < page_size:
                return
            start += page_size

    async def cdc(
        self, realm_id: str, entities: Sequence[str], changed_since: datetime
    ) -> ChangeSet:
        """`GET /cdc`: what changed in `entities` since `changed_since` (QBO looks back 30 days
        at most, and answers at most 1000 records per entity)."""
        reply = await self._send(
            realm_id,
            "GET",
            "cdc",
            access="read",
            params={
                "entities": ",".join(entities),
                "changedSince": changed_since.isoformat(timespec="seconds"),
            },
        )
        records: dict[str, list[dict[str, Any]]] = {}
        for answer in reply.get("CDCResponse", []):
            for response in answer.get("QueryResponse", []):
                for name, rows in response.items():
                    if isinstance(rows, list):
                        records.setdefault(name, []).extend(rows)
        time = reply.get("time")
        return ChangeSet(records, time if isinstance(time, str) else None)

    async def batch(
        self, realm_id: str, items: Sequence[BatchItem], request_id: str
    ) -> list[BatchResult]:
        """Up to 30 operations in one request; each answers with its entity or its own fault.

        Items run in order and are not rolled back when a later one fails. `request_id` (≤ 36
        characters on /batch) makes the whole batch idempotent.
        """
        if not 1 <= len(items) <= MAX_BATCH:
            raise ValueError(f"a batch holds 1..{MAX_BATCH} items, not {len(items)}")
        if len(request_id) > 36:
            raise ValueError("a batch requestid is at most 36 characters")
        payload = {"BatchItemRequest": [item.request() for item in items]}
        writes = any(item.query is None for item in items)
        reply = await self._send(
            realm_id,
            "POST",
            "batch",
            access="write" if writes else "read",
            params={"requestid": request_id},
            body=payload,
            batch=True,
        )
        by_id = {str(r.get("bId")): r for r in reply.get("BatchItemResponse", [])}
        results = []
        for item in items:
            answer = by_id.get(item.batch_id, {})
            error = None
            if "Fault" in answer:
                error = error_from_response(400, "", answer, "", None)
            results.append(BatchResult(item.batch_id, answer, error))
        return results

    @staticmethod
    def _entity(reply: Any, name: str) -> Any:
        if not isinstance(reply, dict) or name not in reply:
            raise QBOError(f"QuickBooks reply has no {name}", status=200)
        return reply[name]


__all__ = ["AuthenticationError", "ChangeSet", "QBOClient", "quote"]
