"""The QBO calls an event makes, read from the sandbox's request log (for tests that count them)."""

from __future__ import annotations

from typing import Any

import httpx

from billing.events import BillingEvent
from starter.dispatch import EventDispatcher, EventStatus
from tests.billing_helpers import run_event

Entry = dict[str, Any]


class RequestLog:
    """One QBO company's request log in the sandbox."""

    def __init__(self, http: httpx.AsyncClient, sandbox_url: str, realm_id: str) -> None:
        self._http = http
        self._url = f"{sandbox_url}/__sandbox/realms/{realm_id}/requests"

    async def entries(self) -> list[Entry]:
        return list((await self._http.get(self._url)).json()["requests"])

    async def during(
        self, dispatcher: EventDispatcher, event: BillingEvent, expect: str = "completed"
    ) -> tuple[list[Entry], EventStatus]:
        """Run the event until it ends as `expect`; the calls QBO saw meanwhile, and its status."""
        before = len(await self.entries())
        status = await run_event(dispatcher, event, expect)
        return (await self.entries())[before:], status
