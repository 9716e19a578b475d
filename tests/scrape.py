"""Reading a Prometheus scrape in tests: samples by name and labels, summed over other labels."""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from starter.dispatch import IN_PROGRESS


@dataclass(frozen=True)
class Scrape:
    text: str
    families: dict[str, str]  # family name → type
    samples: list[tuple[str, dict[str, str], float]]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        families = list(text_string_to_metric_families(text))
        return cls(
            text,
            {f.name: f.type for f in families},
            [(s.name, dict(s.labels), s.value) for f in families for s in f.samples],
        )

    def total(self, name: str, **labels: str) -> float:
        """The sum of `name`'s samples whose labels include `labels`."""
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and labels.items() <= found.items()
        )

    def labels_of(self, name: str) -> list[dict[str, str]]:
        return [found for sample, found, _ in self.samples if sample == name]


async def scrape(http: httpx.AsyncClient, url: str) -> Scrape:
    reply = await http.get(url)
    assert reply.status_code == 200, reply.text
    assert reply.headers["content-type"].startswith("text/plain; version=0.0.4")
    return Scrape.parse(reply.text)


async def post_event(http: httpx.AsyncClient, api: str, event: dict[str, Any]) -> str:
    reply = await http.post(f"{api}/events", content=json.dumps(event))
    assert reply.status_code == 202, reply.text
    return str(reply.json()["status"])


async def wait_event(
    http: httpx.AsyncClient, api: str, event_id: str, timeout: float = 60.0
) -> dict[str, Any]:
    """GET /events/{id} until it is no longer in progress."""
    deadline = time.monotonic() + timeout
    while True:
        state: dict[str, Any] = (await http.get(f"{api}/events/{event_id}")).json()
        if state["status"] not in IN_PROGRESS:
            return state
        if time.monotonic() > deadline:
            raise TimeoutError(f"event {event_id} still {state['status']} after {timeout}s")
        await asyncio.sleep(0.1)
