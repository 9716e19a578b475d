"""The contract as files for the billing backend (`make schema`): each event type's JSON Schema,
their union, and the OpenAPI document, under `schema/` (a test keeps them in step with the code)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from billing.events import EVENT_MODELS, billing_event_adapter
from billing.examples import example_event
from config import REPO_ROOT, Settings
from starter.api import create_app

SCHEMA_DIR = REPO_ROOT / "schema"
JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def json_schema(schema: dict[str, Any], title: str, examples: list[Any]) -> dict[str, Any]:
    return {"$schema": JSON_SCHEMA_DIALECT, **schema, "title": title, "examples": examples}


def schema_documents() -> dict[str, dict[str, Any]]:
    """Each file's path under `schema/` → its document, as the code defines them now."""
    documents = {
        f"events/{event_type}.json": json_schema(
            model.model_json_schema(), model.__name__, [example_event(event_type)]
        )
        for event_type, model in EVENT_MODELS.items()
    }
    documents["billing_event.json"] = json_schema(
        billing_event_adapter.json_schema(),
        "BillingEvent",
        [example_event(event_type) for event_type in EVENT_MODELS],
    )
    documents["openapi.json"] = create_app(Settings()).openapi()
    return documents


def file_text(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


def write_schema_files(root: Path = SCHEMA_DIR) -> list[Path]:
    """Write every file afresh (files of event types no longer in the contract go)."""
    documents = schema_documents()
    for stale in root.glob("**/*.json"):
        if stale.relative_to(root).as_posix() not in documents:
            stale.unlink()
    written = []
    for name, document in documents.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(file_text(document), encoding="utf-8")
        written.append(path)
    return written


def main() -> None:
    written = write_schema_files()
    print(f"wrote {len(written)} schema files under {SCHEMA_DIR.relative_to(REPO_ROOT)}/")


if __name__ == "__main__":
    main()
