"""The QBO Accounting API under `/v3/company/{realmId}/`: auth gateway, routing, `requestid` replay.

Every response carries a fresh `intuit_tid`; every call to a known realm lands in its request log.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox import clock, faults, writes
from qbo_sandbox.entities import EntityRules, by_path
from qbo_sandbox.jsonio import JSON_CONTENT_TYPE, JsonError, json_response, loads
from qbo_sandbox.oauth import AccessProblem
from qbo_sandbox.query import parse_query, run_query
from qbo_sandbox.realms import LoggedRequest, Realm, StoredResponse
from qbo_sandbox.state import Sandbox

MAX_REQUEST_ID_LENGTH = 50
WRITE_OPERATIONS = (None, "create", "update")


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
        return (
            self.request.method == "POST"
            and len(self.segments) == 1
            and by_path(self.segments[0]) is not None
        )


def new_intuit_tid() -> str:
    return f"1-{int(time.time()):08x}-{secrets.token_hex(12)}"


def api_routes(sandbox: Sandbox) -> list[Route]:
    async def endpoint(request: Request) -> Response:
        intuit_tid = new_intuit_tid()
        segments = request.path_params["path"].split("/")
        realm = None
        replayed = False
        if len(segments) < 3 or segments[0] != "company" or not segments[1]:
            response = _fault_response(_unknown_resource(request))
        else:
            realm = sandbox.realms.get(segments[1])
            refusal = _authenticate(sandbox, request, segments[1])
            if refusal is not None or realm is None:
                # a token that passed the gateway always belongs to an existing realm
                response = refusal or faults.authorization_failed(segments[1])
            else:
                call = _Call(request, realm, segments[2:], await request.body())
                response, replayed = await _serve(call)
        response.headers["intuit_tid"] = intuit_tid
        response.headers["Intuit-Tid"] = intuit_tid
        if realm is not None:
            realm.requests.append(
                LoggedRequest(
                    method=request.method,
                    path=request.url.path,
                    query=request.url.query,
                    status=response.status_code,
                    request_id=request.query_params.get("requestid") or None,
                    intuit_tid=intuit_tid,
                    replayed=replayed,
                )
            )
        return response

    methods = ["GET", "POST", "PUT", "PATCH", "DELETE"]
    return [Route("/v3/{path:path}", endpoint, methods=methods)]


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


async def _serve(call: _Call) -> tuple[Response, bool]:
    """The response, and whether it is a stored reply to a repeated `requestid`."""
    request_id = call.request.query_params.get("requestid") or None
    if request_id is not None and len(request_id) > MAX_REQUEST_ID_LENGTH:
        fault = faults.string_length("requestid", MAX_REQUEST_ID_LENGTH, len(request_id))
        return _fault_response(fault), False
    async with call.realm.lock:
        stored = call.realm.responses_by_request_id.get(request_id) if request_id else None
        if call.is_write and stored is not None:
            return _stored_response(stored), True
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
    rules = by_path(segments[0])
    if rules is not None and len(segments) == 1 and method == "POST":
        return _write(call, rules)
    if rules is not None and len(segments) == 2 and method == "GET":
        return _ok({rules.name: writes.read(call.realm, rules, segments[1])})
    raise _unknown_resource(call.request)


def _write(call: _Call, rules: EntityRules) -> Response:
    operation = call.request.query_params.get("operation")
    if operation not in WRITE_OPERATIONS:
        raise faults.unsupported_operation(f"Operation {operation} is not supported.")
    try:
        body = loads(call.body)
    except JsonError as error:
        raise faults.malformed_body(rules.name, str(error)) from error
    return _ok({rules.name: writes.save(call.realm, rules, body)})


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
