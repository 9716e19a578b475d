"""The control API under `/__sandbox/`: create companies, inspect them, and break their tokens."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.jsonio import JsonError, json_response, loads
from qbo_sandbox.realms import Realm
from qbo_sandbox.seed import seed_chart_of_accounts
from qbo_sandbox.state import Sandbox

DEFAULT_COMPANY_NAME = "Sandbox Company"


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
        realm = sandbox.realms.add(company_name)
        async with realm.lock:
            accounts = seed_chart_of_accounts(realm)
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
        return json_response({"requests": [entry.as_json() for entry in realm.requests]})

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

    realm_path = "/__sandbox/realms/{realm_id}"
    return [
        Route("/__sandbox/health", health, methods=["GET"]),
        Route("/__sandbox/realms", create_realm, methods=["POST"]),
        Route(realm_path, realm_state, methods=["GET"]),
        Route(f"{realm_path}/requests", request_log, methods=["GET"]),
        Route(f"{realm_path}/expire-access-tokens", expire_access_tokens, methods=["POST"]),
        Route(f"{realm_path}/revoke", revoke, methods=["POST"]),
        Route(f"{realm_path}/tokens", issue_tokens, methods=["POST"]),
    ]
