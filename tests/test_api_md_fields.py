"""The OpenAPI document and API.md (the HTTP contract, ../shared/docs) name the same fields: each
event type's request, the records in it, the settings body, an activity log entry and an event's
status. A field API.md names is never missing or renamed; one it marks optional is never required;
a field it does not name is a known addition listed below (API.md: "add fields freely")."""

from __future__ import annotations

from typing import Any

import pytest

from config import Settings
from starter.api import create_app
from tests.api_md import API_MD, Shape, event_data, first_list_after, records, section

COMPONENTS = "#/components/schemas/"
# Fields the service has beyond API.md's lists, by model; each one a deliberate addition.
ADDED = {
    "Invoice.currency",  # QBO's currency check: an invoice in another currency is refused
    "Payment.currency",
    "Credit.currency",
    "Refund.currency",
    "Payout.currency",
    "SettingsIn.timezone",  # the activity page's local times
    "ActivityOut.customer_name",  # the activity page's Customer column
}


@pytest.fixture(scope="module")
def api_md() -> str:
    if not API_MD.exists():
        pytest.skip(f"API.md not found at {API_MD} (the shared docs live beside the repository)")
    return API_MD.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def document() -> dict[str, Any]:
    return create_app(Settings()).openapi()


class Agreement:
    """Walks an API.md field list and an OpenAPI schema side by side, noting each disagreement."""

    def __init__(self, document: dict[str, Any], named: dict[str, Shape], prose: str) -> None:
        self.schemas: dict[str, Any] = document["components"]["schemas"]
        self.named = named  # the records API.md describes on their own
        self.prose = prose  # fields API.md names in its sentences count as named
        self.problems: list[str] = []

    def note(self, problem: str) -> None:
        if problem not in self.problems:  # a record in many events is told once
            self.note(problem)

    def object_schema(self, node: dict[str, Any]) -> dict[str, Any]:
        """The object a property holds, through references, nullability and arrays."""
        while "properties" not in node:
            if "$ref" in node:
                node = self.schemas[node["$ref"].removeprefix(COMPONENTS)]
            elif "anyOf" in node:
                node = next(n for n in node["anyOf"] if n.get("type") != "null")
            elif node.get("type") == "array":
                node = node["items"]
            else:
                raise AssertionError(f"no object in {node}")
        return node

    def compare(self, shape: Shape, node: dict[str, Any], request: bool) -> None:
        schema = self.object_schema(node)
        model, properties = schema["title"], schema["properties"]
        for name, field in shape.fields.items():
            if name not in properties:
                self.note(f"API.md's {model}.{name} is not in the OpenAPI")
                continue
            if request and field.optional and name in schema.get("required", []):
                self.note(f"API.md says {model}.{name} is optional; the API requires it")
            inner = self.named.get(field.record or "") or field.shape
            if inner is not None and inner.fields:
                self.compare(inner, properties[name], request)
        for name in properties.keys() - shape.fields.keys():
            if f"{model}.{name}" not in ADDED and f"`{name}`" not in self.prose:
                self.note(
                    f"the OpenAPI's {model}.{name} is not in API.md: document it there or add "
                    "it to ADDED"
                )


def response_schema(document: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    responses = document["paths"][path][method]["responses"]
    answer = next(v for k, v in responses.items() if k.startswith("2"))
    schema: dict[str, Any] = answer["content"]["application/json"]["schema"]
    return schema


def test_every_event_type_and_its_records_have_the_fields_api_md_names(
    api_md: str, document: dict[str, Any]
) -> None:
    events = section(api_md, "Events: `POST /events`")
    envelope = first_list_after(events, "```json")
    data_of = event_data(events)
    mapping = document["components"]["schemas"]["BillingEvent"]["discriminator"]["mapping"]
    assert set(data_of) == set(mapping), "API.md's event types and the OpenAPI's differ"
    agreement = Agreement(document, records(api_md), prose="")
    for event_type, data in data_of.items():
        agreement.compare(envelope, {"$ref": mapping[event_type]}, request=True)
        event = agreement.object_schema({"$ref": mapping[event_type]})
        agreement.compare(data, event["properties"]["data"], request=True)
    assert not agreement.problems, "\n".join(agreement.problems)


def test_the_settings_body_has_the_fields_api_md_names(
    api_md: str, document: dict[str, Any]
) -> None:
    text = section(api_md, "Connecting a company")
    body = first_list_after(text, "quickbooks/settings`")
    put = document["paths"]["/companies/{company_id}/quickbooks/settings"]["put"]
    agreement = Agreement(document, {}, prose=text)
    agreement.compare(body, put["requestBody"]["content"]["application/json"]["schema"], True)
    assert not agreement.problems, "\n".join(agreement.problems)


def test_an_activity_log_entry_has_the_fields_api_md_names(
    api_md: str, document: dict[str, Any]
) -> None:
    text = section(api_md, "Activity log")
    entry = first_list_after(text, "→")
    agreement = Agreement(document, {}, prose=text)
    schema = response_schema(document, "get", "/companies/{company_id}/activity")
    agreement.compare(entry, schema, request=False)
    assert not agreement.problems, "\n".join(agreement.problems)


def test_an_event_status_has_the_fields_api_md_names(api_md: str, document: dict[str, Any]) -> None:
    text = section(api_md, "Following an event")
    status = first_list_after(text, "`200")
    agreement = Agreement(document, {}, prose=text)
    agreement.compare(status, response_schema(document, "get", "/events/{event_id}"), False)
    assert not agreement.problems, "\n".join(agreement.problems)
