"""The QBO Accounting API under `/v3/company/{realmId}/`: auth gateway, routing, `requestid` replay.

Every response carries a fresh `intuit_tid`; every call to a known realm lands in its request log.

Pipeline of one call (injected faults: injection.py):
  1. `expire_token` faults expire the company's access tokens;
  2. auth gateway (401/403);
  3. limits (429 with Retry-After; the call then holds a concurrency slot until answered);
  4. `delay` faults sleep, then one `status`/`throttle`/`drop_before`/`drop_after_commit` fault
     may answer instead (the first three without performing anything);
  5. under the company's lock: `requestid` replay of a stored write reply, else `stale_synctoken`
     faults bump the target record, then dispatch (and a successful write's reply is stored);
  6. request log; `drop_after_commit` then closes the connection instead of answering.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox import batch, cdc, clock, faults, injection, tax_service, writes
from qbo_sandbox.entities import EntityRules, by_path
from qbo_sandbox.jsonio import JSON_CONTENT_TYPE, JsonError, json_response, loads
from qbo_sandbox.limits import throttle_response
from qbo_sandbox.oauth import AccessProblem
from qbo_sandbox.query import parse_query, run_query
from qbo_sandbox.realms import LoggedBodies, LoggedRequest, Realm, StoredResponse
from qbo_sandbox.state import Sandbox

MAX_REQUEST_ID_LENGTH = 50
WRITE_OPERATIONS = (None, "create", "update")
TAX_SERVICE = ["taxservice", "taxcode"]
"""`POST /taxservice/taxcode`: QBO's one way to create tax rates and codes."""


@dataclass(frozen=True)
class _Call:
    """One API request, split into what the router needs."""

    request: Request
    realm: Realm
    segments: list[str]
    """The path after /v3/company/{realmId}/."""
    body: bytes

    @property
    def is_write(self) -> bool:
        return self.request.method == "POST" and (
            self.segments == ["batch"]
            or [segment.lower() for segment in self.segments] == TAX_SERVICE
            or (len(self.segments) == 1 and by_path(self.segments[0]) is not None)
        )


@dataclass
class _Outcome:
    """What the pipeline did besides answering, for the request log."""

    replayed: bool = False
    injected: list[str] = field(default_factory=list)
    drop: bool = False


def new_intuit_tid() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def api_routes(sandbox: Sandbox) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        intuit_tid = new_intuit_tid()
        segments = request.path_params["path"].split("/")
        realm = None
        outcome = _Outcome()
        response: Response | None
        body = b""
        if len(segments) < 3 or segments[0] != "company" or not segments[1]:
            response = _fault_response(_unknown_resource(request))
        else:
            realm = sandbox.realms.get(segments[1])
            if realm is not None:
                _expire_token_fault(sandbox, request, realm, segments[2:], outcome)
            refusal = _authenticate(sandbox, request, segments[1])
            if refusal is not None or realm is None:
                # a token that passed the gateway always belongs to an existing realm
                response = refusal or faults.authorization_failed(segments[1])
            else:
                body = await request.body()
                call = _Call(request, realm, segments[2:], body)
                response = await _admit(sandbox, call, outcome)
        if response is not None:
            response.headers["intuit_tid"] = intuit_tid
            response.headers["Intuit-Tid"] = intuit_tid
        if realm is not None:
            realm.requests.append(
                LoggedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    status=response.status_code if response is not None else None,
                    request_id=request.query_params.get("requestid") or None,
                    intuit_tid=intuit_tid,
                    replayed=outcome.replayed,
                    injected="+".join(outcome.injected) or None,
                    bodies=_bodies(request, body, response) if sandbox.log_bodies else None,
                )
            )
        if outcome.drop or response is None:
            return injection.DropConnection()
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [Route("/v3/{path:path}", endpoint, methods=methods)]


def _bodies(request: Request, body: bytes, response: Response | None) -> LoggedBodies:
    reply = bytes(response.body) if response is not None else b""
    return LoggedBodies(
        content_type=request.headers.get("content-type"),
        body=body.decode("utf-8", errors="replace"),
        reply=reply.decode("utf-8", errors="replace"),
    )


def _authenticate(sandbox: Sandbox, request: Request, realm_id: str) -> Response | None:
    """The gateway's answer when the bearer token cannot be used for this realm, else None."""
    scheme, _, token = request.headers.get("authorization", "").partition(" ")
    access_token = token.strip() if scheme.lower() == "bearer" else None
    check = sandbox.tokens.check_access(access_token)
    if check.problem is AccessProblem.MISSING:
        return faults.authentication_failed("Token invalid: no bearer access token in the request")
    if check.problem is AccessProblem.UNKNOWN:
        return faults.authentication_failed(f"Token invalid: {access_token}")
    if check.problem is AccessProblem.EXPIRED:
        return faults.authentication_failed(f"Token expired: {access_token}")
    if check.realm_id == realm_id:
        return None
    if sandbox.realms.get(realm_id) is None:
        return faults.authorization_failed(realm_id)
    return faults.authentication_failed(f"Token invalid: not issued for company {realm_id}")


def _expire_token_fault(
    sandbox: Sandbox, request: Request, realm: Realm, segments: list[str], outcome: _Outcome
) -> None:
    relative_path = "/".join(segments)
    fault = sandbox.faults.take(
        realm.realm_id, request.method, relative_path, injection.BEFORE_AUTH
    )
    if fault is not None:
        sandbox.tokens.expire_access_tokens(realm.realm_id)
        outcome.injected.append(fault.kind)


async def _admit(sandbox: Sandbox, call: _Call, outcome: _Outcome) -> Response | None:
    """Limits, then injected faults, then the call itself; None: drop without an answer."""
    realm_id = call.realm.realm_id
    is_batch = call.request.method == "POST" and call.segments == ["batch"]
    refusal = sandbox.limits.admit(realm_id, batch=is_batch)
    if refusal is not None:
        return refusal
    try:
        return await _inject(sandbox, call, outcome)
    finally:
        sandbox.limits.release(realm_id)


async def _inject(sandbox: Sandbox, call: _Call, outcome: _Outcome) -> Response | None:
    realm_id, method = call.realm.realm_id, call.request.method
    relative_path = "/".join(call.segments)
    delay = sandbox.faults.take(realm_id, method, relative_path, injection.DELAY)
    if delay is not None:
        outcome.injected.append(delay.kind)
        await asyncio.sleep(delay.seconds)
    fault = sandbox.faults.take(realm_id, method, relative_path, injection.ANSWER)
    if fault is not None:
        outcome.injected.append(fault.kind)
        if fault.kind == "status":
            return injection.server_fault_response(fault.status, fault.format)
        if fault.kind == "throttle":
            return throttle_response(fault.seconds, fault.format)
        outcome.drop = True  # drop_before / drop_after_commit
        if fault.kind == "drop_before":
            return None

    def stale_sync_token() -> None:
        rules = by_path(call.segments[0]) if call.is_write else None
        if rules is None:
            return
        target = injection.sync_target(call.realm, rules, call.body)
        stale = sandbox.faults.take(
            realm_id,
            method,
            relative_path,
            injection.BEFORE_DISPATCH,
            applies=lambda _: target is not None,
        )
        if stale is not None and target is not None:
            injection.bump_sync_token(call.realm, rules.name, target)
            outcome.injected.append(stale.kind)

    response, outcome.replayed = await _serve(call, stale_sync_token)
    return response


async def _serve(
    call: _Call, before_dispatch: Callable[[], None] | None = None
) -> tuple[Response, bool]:
    """The response, and whether it is a stored reply to a repeated `requestid`."""
    request_id = call.request.query_params.get("requestid") or None
    max_length = (
        batch.MAX_REQUEST_ID_LENGTH if call.segments == ["batch"] else MAX_REQUEST_ID_LENGTH
    )
    if request_id is not None and len(request_id) > max_length:
        fault = faults.string_length("requestid", max_length, len(request_id))
        return _fault_response(fault), False
    async with call.realm.lock:
        stored = call.realm.responses_by_request_id.get(request_id) if request_id else None
        if call.is_write and stored is not None:
            return _stored_response(stored), True
        if before_dispatch is not None:
            before_dispatch()
        try:
            response = _route(call)
        except faults.QboFault as fault:
            response = _fault_response(fault)
        # Only successful writes are remembered: a refused write changed nothing, so a retry
        # with the same requestid (after re-reading the SyncToken, say) must really run.
        if call.is_write and request_id is not None and 200 <= response.status_code < 300:
            call.realm.responses_by_request_id[request_id] = StoredResponse(
                response.status_code, bytes(response.body)
            )
    return response, False


def _route(call: _Call) -> Response:
    method = call.request.method
    segments = call.segments
    if segments == ["query"] and method in ("GET", "POST"):
        return _query(call)
    if segments == ["batch"] and method == "POST":
        return _ok(batch.run_batch(call.request, call.body, _batch_item_executor(call.realm)))
    if segments == ["cdc"] and method == "GET":
        return _ok(cdc.changes(call.realm, call.request.query_params))
    if [segment.lower() for segment in segments] == TAX_SERVICE and method == "POST":
        return _tax_service(call)
    rules = by_path(segments[0])
    if rules is not None and len(segments) == 1 and method == "POST":
        return _write(call, rules)
    if rules is not None and len(segments) == 2 and method == "GET":
        return _ok({rules.name: writes.read(call.realm, rules, segments[1])})
    raise _unknown_resource(call.request)


def _batch_item_executor(realm: Realm) -> batch.Execute:
    """Runs a batch item through `_route` exactly like a single call."""

    def execute(request: Request, segments: list[str], body: bytes) -> Response:
        return _route(_Call(request, realm, segments, body))

    return execute


def _write(call: _Call, rules: EntityRules) -> Response:
    operation = call.request.query_params.get("operation")
    include = call.request.query_params.get("include")
    if operation not in writes.OPERATIONS:
        raise faults.unsupported_operation(f"Operation {operation} is not supported.")
    try:
        body = loads(call.body)
    except JsonError as error:
        raise faults.malformed_body(rules.name, str(error)) from error
    # create/update, delete (transactions), void (Invoice), update&include=void (Payment)
    return _ok({rules.name: writes.perform(call.realm, rules, body, operation, include)})


def _tax_service(call: _Call) -> Response:
    try:
        body = loads(call.body)
    except JsonError as error:
        raise faults.malformed_body("TaxService", str(error)) from error
    # QBO answers the bare TaxService object: no entity envelope, no `time`.
    return json_response(tax_service.create_tax_code(call.realm, body))


def _query(call: _Call) -> Response:
    if call.request.method == "GET":
        text = call.request.query_params.get("query", "")
    else:
        text = call.body.decode("utf-8", errors="replace")
    if not text.strip():
        raise faults.query_parse_error('Encountered "<EOF>" at line 0, column 0.')
    return _ok({"QueryResponse": run_query(parse_query(text), call.realm)})


def _ok(payload: dict[str, object]) -> Response:
    return json_response({**payload, "time": clock.response_time()})


def _fault_response(fault: faults.QboFault) -> Response:
    return json_response(fault.body(), fault.status_code)


def _unknown_resource(request: Request) -> faults.QboFault:
    return faults.unknown_resource(request.url.path, str(request.url))


def _stored_response(stored: StoredResponse) -> Response:
    return Response(stored.body, stored.status_code, media_type=JSON_CONTENT_TYPE)
