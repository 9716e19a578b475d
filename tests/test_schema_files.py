"""The schema files under schema/ are what the code defines now (`make schema` writes them), one
JSON Schema per event type, their union, and the OpenAPI document the API serves."""

from __future__ import annotations

import json

import httpx

from billing.events import EVENT_MODELS, parse_event
from starter.schema_files import SCHEMA_DIR, file_text, schema_documents
from tests.events import customer, event_json


def test_committed_schema_files_are_those_the_code_writes() -> None:
    documents = schema_documents()
    committed = {p.relative_to(SCHEMA_DIR).as_posix() for p in SCHEMA_DIR.glob("**/*.json")}
    assert committed == set(documents), "schema/ is out of date: run `make schema` and commit it"
    stale = [
        name
        for name, document in documents.items()
        if (SCHEMA_DIR / name).read_text(encoding="utf-8") != file_text(document)
    ]
    assert stale == [], f"{stale} out of date: run `make schema` and commit schema/"


def test_each_event_type_has_its_file_naming_it_and_the_union_names_them_all() -> None:
    for event_type in EVENT_MODELS:
        schema = json.loads((SCHEMA_DIR / "events" / f"{event_type}.json").read_text())
        assert schema["properties"]["type"]["const"] == event_type
        assert {"event_id", "type", "company_id", "occurred_at", "data"} <= set(schema["required"])
    union = json.loads((SCHEMA_DIR / "billing_event.json").read_text())
    assert union["discriminator"]["propertyName"] == "type"
    assert set(union["discriminator"]["mapping"]) == set(EVENT_MODELS)


def test_an_event_the_door_accepts_is_one_the_files_describe() -> None:
    body = event_json("co_42", "customer.saved", {"customer": customer("cust_1")})
    assert parse_event(json.dumps(body)).type == "customer.saved"
    schema = json.loads((SCHEMA_DIR / "events/customer.saved.json").read_text())
    assert set(body) <= set(schema["properties"])
    customer_schema = schema["$defs"]["Customer"]
    assert set(customer_schema["required"]) <= set(body["data"]["customer"])


async def test_the_api_serves_the_committed_openapi_document(
    api: str, http: httpx.AsyncClient
) -> None:
    served = (await http.get(f"{api}/openapi.json")).json()
    assert served == json.loads((SCHEMA_DIR / "openapi.json").read_text())
