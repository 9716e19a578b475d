"""The API docs page (Swagger UI) in Debian's headless Chromium cut off from the network: its
assets come from the installed fastapi-offline package, served by the real API, and it shows every
operation of /openapi.json, the event types' schemas and which operations need a key."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, TypeVar

import httpx

from billing.events import EVENT_MODELS
from starter.openapi import OPEN_TO_ALL
from tests.browser import chromium, needs_chromium

T = TypeVar("T")

OPERATIONS = """
  return [...document.querySelectorAll(".opblock")].map(block => ({
    operation: block.querySelector(".opblock-summary-method").innerText + " " +
               block.querySelector(".opblock-summary-path").getAttribute("data-path"),
    locked: block.querySelector(".authorization__btn") !== null,
  }));"""
SCHEMAS = """
  return [...document.querySelectorAll(
    ".models article[data-json-schema-level='0'] > .json-schema-2020-12-head .json-schema-2020-12__title"
  )].map(title => title.innerText);"""
REACH_OUTSIDE = """
  const done = arguments[0];
  fetch("https://cdn.jsdelivr.net/npm/swagger-ui-dist@5/swagger-ui.css")
    .then(() => done("reached"), () => done("refused"));"""


async def in_browser(call: Callable[[], T]) -> T:
    """Selenium blocks; the API serves from this event loop meanwhile."""
    return await asyncio.to_thread(call)


async def wait_for(
    driver: Any, script: str, ready: Callable[[Any], bool], timeout: float = 20
) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        found = await in_browser(lambda: driver.execute_script(script))
        if ready(found):
            return found
        if time.monotonic() > deadline:
            raise TimeoutError(f"the docs page still shows {found!r}")
        await asyncio.sleep(0.2)


@needs_chromium
async def test_docs_page_shows_every_operation_and_event_schema_offline_from_local_assets(
    api: str, http: httpx.AsyncClient
) -> None:
    document = (await http.get(f"{api}/openapi.json")).json()
    expected = {f"{m.upper()} {path}" for path, ops in document["paths"].items() for m in ops}
    open_to_all = {f"{m.upper()} {path}" for m, path in OPEN_TO_ALL}

    with chromium(offline=True) as driver:
        assert await in_browser(lambda: driver.execute_async_script(REACH_OUTSIDE)) == "refused"
        await in_browser(lambda: driver.get(f"{api}/docs"))
        shown = await wait_for(driver, OPERATIONS, lambda ops: len(ops) == len(expected))
        assert {op["operation"] for op in shown} == expected
        locked = {op["operation"] for op in shown if op["locked"]}
        assert locked == expected - open_to_all and "POST /events" not in locked

        # POST /events, opened: its request body is the event, each type's schema listed.
        post_event = "#operations-events-post_event_events_post"
        await in_browser(
            lambda: driver.find_element(
                "css selector", f"{post_event} .opblock-summary-control"
            ).click()
        )
        body = await wait_for(
            driver,
            f"const b = document.querySelector('{post_event} .opblock-section-request-body');"
            "return b ? b.innerText : '';",
            lambda text: "occurred_at" in text,
        )
        assert "type says which" in body  # the body's own description
        assert '"type": "customer.saved"' in body  # the first of the examples, one per type
        schemas = await wait_for(driver, SCHEMAS, lambda names: len(names) > 0)
        for model in ["BillingEvent", *(m.__name__ for m in EVENT_MODELS.values())]:
            assert model in schemas, model

        fetched: list[str] = await in_browser(
            lambda: driver.execute_script(
                "return performance.getEntriesByType('resource').map(e => e.name)"
            )
        )
    assert f"{api}/docs/assets/swagger-ui-bundle.js" in fetched
    assert f"{api}/openapi.json" in fetched
    assert all(url.startswith(f"{api}/") for url in fetched), fetched
