"""The OpenAPI document: POST /events takes every event type as one union on `type`, every
endpoint that needs a key says so with its 401 and 403, and the error bodies the API really
answers are the models the document declares."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from billing.events import parse_event
from config import Settings
from starter.api import create_app
from starter.openapi import API_KEY_SCHEME, OPEN_TO_ALL
from starter.routes.answers import ErrorMessage, FieldErrors
from tests.conftest import Company
from tests.events import customer, event_json
from workflows.registry import EVENT_KINDS, kind_of

COMPONENTS = "#/components/schemas/"


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, path, op) for path, ops in document["paths"].items() for m, op in ops.items()]


def refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [r for k, v in node.items() for r in ([v] if k == "$ref" else refs(v))]
    if isinstance(node, list):
        return [r for v in node for r in refs(v)]
    return []


def test_post_events_takes_every_registered_event_type_as_one_union_on_type(
    document: dict[str, Any],
) -> None:
    body = document["paths"]["/events"]["post"]["requestBody"]
    assert body["required"] is True
    assert body["content"]["application/json"]["schema"] == {"$ref": COMPONENTS + "BillingEvent"}
    union = document["components"]["schemas"]["BillingEvent"]
    assert union["discriminator"]["propertyName"] == "type"
    mapping = union["discriminator"]["mapping"]
    assert set(mapping) == set(EVENT_KINDS)
    for event_type, ref in mapping.items():
        model = document["components"]["schemas"][ref.removeprefix(COMPONENTS)]
        assert model["properties"]["type"]["const"] == event_type
        assert model["properties"]["data"]["$ref"].startswith(COMPONENTS)


def test_the_docs_offer_an_example_of_each_event_type_and_the_door_takes_each(
    document: dict[str, Any],
) -> None:
    media = document["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]
    assert set(media["examples"]) == set(EVENT_KINDS)
    for event_type, example in media["examples"].items():
        event = parse_event(json.dumps(example["value"]))
        assert event.type == event_type
        kind_of(event_type).child_input(event)  # the registry can carry it to its workflow


def test_every_reference_in_the_document_resolves(document: dict[str, Any]) -> None:
    schemas = document["components"]["schemas"]
    unresolved = {r for r in refs(document) if r.removeprefix(COMPONENTS) not in schemas}
    assert unresolved == set()
    assert "HTTPValidationError" not in schemas  # routes declare their own 422s


SESSION_COOKIE_SCHEME = "SessionCookie"


def test_every_endpoint_but_the_open_ones_needs_a_key_and_says_401_and_403(
    document: dict[str, Any],
) -> None:
    scheme = document["components"]["securitySchemes"][API_KEY_SCHEME]
    assert (scheme["type"], scheme["scheme"]) == ("http", "bearer")
    for method, path, op in operations(document):
        if (method, path) in OPEN_TO_ALL:
            assert "security" not in op and "403" not in op["responses"], (method, path)
        else:
            # The key, or the session cookie the sign-in page sets from one (docs/API.md).
            assert op["security"][0] == {API_KEY_SCHEME: []}, (method, path)
            assert op["security"][1:] in ([], [{SESSION_COOKIE_SCHEME: []}]), (method, path)
            assert {"401", "403"} <= set(op["responses"]), (method, path)
    assert "Bearer" not in json.dumps(document["paths"]["/events"]["post"])  # signed instead
    assert "X-Signature" in document["paths"]["/events"]["post"]["responses"]["401"]["description"]


def test_every_error_answer_is_a_message_or_field_errors(document: dict[str, Any]) -> None:
    for method, path, op in operations(document):
        for status, answer in op["responses"].items():
            if int(status) < 400:
                continue
            schema = answer["content"]["application/json"]["schema"]
            expected = "FieldErrors" if status == "422" else "ErrorMessage"
            if (method, path, status) == ("get", "/readyz", "503"):
                expected = "Readiness"  # which dependency failed, as the 200 says which answered
            assert schema == {"$ref": COMPONENTS + expected}, (method, path, status)
            assert answer["description"], (method, path, status)


async def test_the_errors_the_api_answers_are_the_declared_ones(
    api: str, http: httpx.AsyncClient, company: Company, document: dict[str, Any]
) -> None:
    settings = "/companies/{company_id}/quickbooks/settings"
    connect = "/companies/{company_id}/quickbooks/connect"
    unconnected = event_json("co_never_connected", "customer.saved", {"customer": customer("c1")})
    asked = [
        ("get", "/events/{event_id}", await http.get(f"{api}/events/evt_unknown"), 404),
        ("post", "/events", await http.post(f"{api}/events", json={"type": "x"}), 422),
        ("post", "/events", await http.post(f"{api}/events", json=unconnected), 409),
        ("get", settings, await http.get(f"{api}{settings.format(company_id='co_nope')}"), 404),
        (
            "put",
            settings,
            await http.put(
                f"{api}{settings.format(company_id=company.company_id)}",
                json={"sync_enabled": True, "income_account_id": "no_such_account"},
            ),
            422,
        ),
        ("get", connect, await http.get(f"{api}{connect.format(company_id='bad id!')}"), 422),
    ]
    for method, path, reply, status in asked:
        assert reply.status_code == status, (method, path, reply.text)
        assert str(status) in document["paths"][path][method]["responses"], (method, path)
        model = FieldErrors if status == 422 else ErrorMessage
        model.model_validate(reply.json())
