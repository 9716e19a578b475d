"""The control API under `/__sandbox/`: create companies, inspect them, break their tokens,
set their request limits (and watch the load on them) and inject faults into their API calls."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.injection import parse_fault
from qbo_sandbox.jsonio import JsonError, json_response, loads
from qbo_sandbox.limits import LimitSettings
from qbo_sandbox.realms import Realm
from qbo_sandbox.state import DEFAULT_COMPANY_NAME, Sandbox
from qbo_sandbox.tax_service import apply_settings, settings_json


def _error(message: str, status_code: int) -> Response:
    return json_response({"error": message}, status_code)


def control_routes(sandbox: Sandbox) -> list[Route]:
    def realm_or_none(request: Request) -> Realm | None:
        return sandbox.realms.get(request.path_params["realm_id"])

    async def health(request: Request) -> Response:
        return json_response({"status": "ok"})

    async def create_realm(request: Request) -> Response:
        raw = await request.body()
        try:
            options = loads(raw) if raw.strip() else {}
        except JsonError:
            return _error("the body must be a JSON object", 400)
        company_name = (
            options.get("company_name", DEFAULT_COMPANY_NAME) if isinstance(options, dict) else None
        )
        if not isinstance(company_name, str) or not company_name.strip():
            return _error('"company_name" must be a non-empty string', 400)
        realm, accounts = await sandbox.new_company(company_name)
        grant = sandbox.tokens.issue(realm.realm_id)
        body = {"realm_id": realm.realm_id, "company_name": company_name, **grant.as_json()}
        return json_response({**body, "accounts": accounts}, 201)

    async def realm_state(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        async with realm.lock:
            entities = {
                name: sorted(realm.table(name).values(), key=lambda record: int(record["Id"]))
                for name in ENTITIES
            }
            body = {"realm_id": realm.realm_id, "company_name": realm.company_name}
            return json_response({**body, "entities": entities})

    async def request_log(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        try:
            since = max(0, int(request.query_params.get("since", "0")))
        except ValueError:
            return _error('"since" must be a whole number', 400)
        return json_response({"requests": [entry.as_json() for entry in realm.requests[since:]]})

    async def token_refreshes(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        outcomes = sandbox.tokens.refresh_log(realm.realm_id)
        return json_response({"refreshes": [{"outcome": outcome} for outcome in outcomes]})

    async def expire_access_tokens(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        sandbox.tokens.expire_access_tokens(realm.realm_id)
        return Response(status_code=204)

    async def revoke(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        sandbox.tokens.revoke(realm.realm_id)
        return Response(status_code=204)

    async def issue_tokens(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        return json_response(sandbox.tokens.issue(realm.realm_id).as_json(), 201)

    async def expire_refresh_tokens(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        sandbox.tokens.expire_refresh_tokens(realm.realm_id)
        return Response(status_code=204)

    async def limits(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        if request.method == "PUT":
            try:
                settings = LimitSettings.from_json(loads(await request.body()))
            except (JsonError, ValueError) as error:
                return _error(str(error), 400)
            sandbox.limits.configure(realm.realm_id, settings)
        return json_response(sandbox.limits.settings(realm.realm_id).as_json())

    async def load(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        return json_response(sandbox.limits.load(realm.realm_id))

    async def settings(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        async with realm.lock:
            if request.method == "PUT":
                try:
                    apply_settings(realm, loads(await request.body()))
                except (JsonError, ValueError) as error:
                    return _error(str(error), 400)
            return json_response(settings_json(realm))

    async def faults(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        if request.method == "POST":
            try:
                fault = parse_fault(loads(await request.body()))
            except (JsonError, ValueError) as error:
                return _error(str(error), 400)
            sandbox.faults.add(realm.realm_id, fault)
            return json_response({"id": fault.id}, 201)
        if request.method == "DELETE":
            sandbox.faults.clear(realm.realm_id)
            return Response(status_code=204)
        listed = [fault.as_json() for fault in sandbox.faults.faults(realm.realm_id)]
        return json_response({"faults": listed})

    async def delete_fault(request: Request) -> Response:
        realm = realm_or_none(request)
        if realm is None:
            return _error("unknown realm", 404)
        if not sandbox.faults.remove(realm.realm_id, request.path_params["fault_id"]):
            return _error("unknown fault", 404)
        return Response(status_code=204)

    realm_path = "/__sandbox/realms/{realm_id}"
    return [
        Route("/__sandbox/health", health, methods=["GET"]),
        Route("/__sandbox/realms", create_realm, methods=["POST"]),
        Route(realm_path, realm_state, methods=["GET"]),
        Route(f"{realm_path}/requests", request_log, methods=["GET"]),
        Route(f"{realm_path}/token-refreshes", token_refreshes, methods=["GET"]),
        Route(f"{realm_path}/expire-access-tokens", expire_access_tokens, methods=["POST"]),
        Route(f"{realm_path}/revoke", revoke, methods=["POST"]),
        Route(f"{realm_path}/tokens", issue_tokens, methods=["POST"]),
        Route(f"{realm_path}/expire-refresh-tokens", expire_refresh_tokens, methods=["POST"]),
        Route(f"{realm_path}/limits", limits, methods=["GET", "PUT"]),
        Route(f"{realm_path}/load", load, methods=["GET"]),
        Route(f"{realm_path}/settings", settings, methods=["GET", "PUT"]),
        Route(f"{realm_path}/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route(f"{realm_path}/faults/{{fault_id}}", delete_fault, methods=["DELETE"]),
    ]
