"""The OpenAPI document as the contract says it (API.md): every event type's body as one union on
`type`, the API-key scheme on every endpoint that needs a key, and only the answers routes give."""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI

from billing.events import billing_event_adapter
from billing.examples import EVENT_DATA, example_event
from starter.routes.answers import ERROR_ANSWERS, ErrorMessage

COMPONENTS = "#/components/schemas/"
EVENT_SCHEMA_NAME = "BillingEvent"
# `openapi_extra` of POST /events: the route reads the raw body itself (its signature covers
# the exact bytes), so the body is declared here, not parsed by FastAPI.
EVENT_REQUEST_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "description": "One billing event; `type` says which, and so the shape of `data`.",
        "content": {
            "application/json": {
                "schema": {"$ref": COMPONENTS + EVENT_SCHEMA_NAME},
                "examples": {
                    event_type: {"summary": event_type, "value": example_event(event_type)}
                    for event_type in EVENT_DATA
                },
            }
        },
    }
}

API_KEY_SCHEME = "ApiKey"
# The endpoints that need no API key (API.md, Access); the docs page and /openapi.json are not
# operations of the document.
OPEN_TO_ALL = {
    ("post", "/events"),  # signed instead (X-Signature)
    ("get", "/quickbooks/callback"),  # bound to the company by its `state`
    ("get", "/healthz"),
    ("get", "/readyz"),
    ("get", "/metrics"),
}
# FastAPI's own 422 on every route with parameters; routes declare theirs where a request can fail.
FASTAPI_VALIDATION_ERROR = COMPONENTS + "HTTPValidationError"


def event_schemas() -> dict[str, Any]:
    """The union of event types and every model it names, as OpenAPI components."""
    schema = billing_event_adapter.json_schema(ref_template=COMPONENTS + "{model}")
    components: dict[str, Any] = schema.pop("$defs")
    components[EVENT_SCHEMA_NAME] = schema
    return components


def add_event_schemas(document: dict[str, Any]) -> None:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name, schema in event_schemas().items():
        if name in schemas and schemas[name] != schema:
            raise ValueError(f"two different schemas are named {name}: rename one of the models")
        schemas[name] = schema


def error_answer(status: int) -> dict[str, Any]:
    """The table's answer for `status` as an OpenAPI response, its model among the components."""
    model, meaning = ERROR_ANSWERS[status]
    return {
        "description": meaning,
        "content": {"application/json": {"schema": {"$ref": COMPONENTS + model.__name__}}},
    }


def require_api_key(document: dict[str, Any]) -> None:
    """Every operation not open to all needs a key: it says so, with its 401 and 403."""
    needed = False
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            if (method, path) in OPEN_TO_ALL:
                continue
            needed = True
            operation.setdefault("security", [{API_KEY_SCHEME: []}])
            for status in (401, 403):
                operation["responses"].setdefault(str(status), error_answer(status))
    if needed:
        components = document["components"]
        components["schemas"].setdefault(ErrorMessage.__name__, ErrorMessage.model_json_schema())
        components.setdefault("securitySchemes", {})[API_KEY_SCHEME] = {
            "type": "http",
            "scheme": "bearer",
            "description": "`Authorization: Bearer <API key>`: an admin key reaches every "
            "company, a company key only its own (403 otherwise).",
        }


def drop_generic_validation_errors(document: dict[str, Any]) -> None:
    """FastAPI declares its 422 on any route with a parameter, even a path's plain string that
    cannot fail; the routes declare their own 422 where a request can be refused."""
    for operations in document["paths"].values():
        for operation in operations.values():
            answer = operation["responses"].get("422", {})
            schema = answer.get("content", {}).get("application/json", {}).get("schema", {})
            if schema.get("$ref") == FASTAPI_VALIDATION_ERROR:
                del operation["responses"]["422"]
    schemas = document["components"]["schemas"]
    for name in ("HTTPValidationError", "ValidationError"):
        if name in schemas and f'"{COMPONENTS}{name}"' not in json.dumps(document):
            del schemas[name]


def contract_document(app: FastAPI) -> dict[str, Any]:
    """FastAPI's document of `app`, completed as above (built once, then kept)."""
    if app.openapi_schema is not None:
        return app.openapi_schema
    document = FastAPI.openapi(app)  # builds and keeps it as app.openapi_schema
    add_event_schemas(document)
    drop_generic_validation_errors(document)
    require_api_key(document)
    return document


def publish_contract(app: FastAPI) -> None:
    """`/openapi.json` (and the docs page) serve the completed document."""
    app.openapi = lambda: contract_document(app)  # type: ignore[method-assign]
