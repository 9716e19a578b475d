"""`/metrics` after real events through the API, a worker, Temporal and the QBO sandbox: the
events, QBO requests, 429s, end-to-end latency and waiting lanes all move, with their labels.

The API and the worker run in this process on one metered Temporal client (the process's
telemetry runtime), so one scrape shows both; tests/test_service_logs.py runs them as processes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import httpx
import pytest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from activities.common import Deps
from config import Settings
from devstack.api_access import carry_key
from qbo import QBOClient
from store import Store
from telemetry.runtime import process_telemetry
from telemetry.server import metrics_server
from temporal_platform.converter import data_converter_for
from tests.conftest import Company
from tests.events import customer, event_json, new_id
from tests.processes import serve
from tests.qbo_log import RequestLog
from tests.scrape import Scrape, post_event, scrape, wait_event
from tests.test_reconnect import reconnect, revoke_at_intuit
from worker import make_worker


@pytest.fixture
async def metered_client(temporal_env: WorkflowEnvironment, settings: Settings) -> Client:
    """A client of the session's Temporal on the process's telemetry runtime."""
    config = temporal_env.client.service_client.config
    return await Client.connect(
        config.target_host,
        namespace=temporal_env.client.namespace,
        data_converter=data_converter_for(settings),
        runtime=process_telemetry().runtime,
    )


@pytest.fixture
async def metered_api(
    metered_client: Client,
    settings: Settings,
    store: Store,
    qbo: QBOClient,
    http: httpx.AsyncClient,
) -> AsyncIterator[str]:
    """The API and a worker, both reporting into the process's metrics; `http` carries the key."""
    async with make_worker(metered_client, Deps(store=store, qbo=qbo), settings.task_queue):
        async for url in serve(settings, metered_client, store):
            carry_key(http, [url], settings.admin_api_key)
            yield url


async def throttle_once(http: httpx.AsyncClient, sandbox_url: str, realm_id: str) -> None:
    """QBO answers the company's next customer write 429 (Retry-After 1 s)."""
    fault = {"kind": "throttle", "path": "customer", "method": "POST", "times": 1, "seconds": 1}
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{realm_id}/faults", json=fault)
    assert reply.status_code == 201, reply.text


def delta(before: Scrape, after: Scrape, name: str, **labels: str) -> float:
    return after.total(name, **labels) - before.total(name, **labels)


async def test_events_qbo_requests_429s_and_latency_are_counted_with_their_labels(
    metered_api: str,
    http: httpx.AsyncClient,
    company: Company,
    sandbox_url: str,
    qbo_log: RequestLog,
) -> None:
    before = await scrape(http, f"{metered_api}/metrics")
    await throttle_once(http, sandbox_url, company.realm_id)
    event = event_json(company.company_id, "customer.saved", {"customer": customer(new_id("c"))})
    started = time.monotonic()
    assert await post_event(http, metered_api, event) == "accepted"
    assert await post_event(http, metered_api, event) == "duplicate"
    assert (await wait_event(http, metered_api, event["event_id"]))["status"] == "completed"
    took = time.monotonic() - started
    await asyncio.sleep(0.2)  # the lane records the end in the workflow task after the child's
    after = await scrape(http, f"{metered_api}/metrics")

    saved = {"event_type": "customer.saved"}
    assert delta(before, after, "qbo_sync_events_accepted_total", **saved, outcome="accepted") == 1
    assert delta(before, after, "qbo_sync_events_accepted_total", **saved, outcome="duplicate") == 1
    done = {**saved, "outcome": "completed"}
    assert delta(before, after, "qbo_sync_events_finished_total", **done) == 1
    assert delta(before, after, "qbo_sync_event_duration_seconds_count", **done) == 1
    latency = delta(before, after, "qbo_sync_event_duration_seconds_sum", **done)
    assert 1.0 <= latency <= took  # the 429's Retry-After (1 s) is inside it
    assert after.families["qbo_sync_event_duration_seconds"] == "histogram"

    # Every request the sandbox saw for the company, by read/write and status class.
    seen = await qbo_log.entries()
    realm = {"realm_id": company.realm_id}
    requests = "qbo_sync_quickbooks_requests_total"
    assert after.total(requests, **realm) == len(seen) > 0
    assert after.total(requests, **realm, access="write", status_class="4xx") == 1
    writes_ok = [r for r in seen if r["method"] == "POST" and r["status"] == 200]
    assert after.total(requests, **realm, access="write", status_class="2xx") == len(writes_ok)
    assert after.total("qbo_sync_quickbooks_rate_limited_total", **realm) == 1
    assert {"realm_id", "access", "status_class"} == set(after.labels_of(requests)[0])

    # The SDK's own metrics are on the same page, named as Prometheus expects.
    assert delta(before, after, "temporal_workflow_completed_total", workflow_type="SyncCustomer")
    assert after.families["temporal_workflow_completed"] == "counter"
    assert any(name.endswith("_seconds") for name in after.families if name.startswith("temporal_"))
    assert "qbo_sync_lanes_waiting_for_reconnect" in after.families
    assert "process_resident_memory_bytes" in after.families


async def test_lanes_waiting_for_reconnect_rise_and_fall_with_the_company_s_login(
    metered_api: str,
    http: httpx.AsyncClient,
    company: Company,
    sandbox_url: str,
    store: Store,
) -> None:
    gauge = "qbo_sync_lanes_waiting_for_reconnect"

    async def waiting(expected: float) -> None:
        deadline = time.monotonic() + 20
        while (found := (await scrape(http, f"{metered_api}/metrics")).total(gauge)) != expected:
            assert time.monotonic() < deadline, f"{gauge} {found}, not {expected}"
            await asyncio.sleep(0.2)

    before = (await scrape(http, f"{metered_api}/metrics")).total(gauge)
    await revoke_at_intuit(http, sandbox_url, store, company.realm_id)
    events = [
        event_json(company.company_id, "customer.saved", {"customer": customer(new_id("c"))})
        for _ in range(2)
    ]
    for event in events:
        assert await post_event(http, metered_api, event) == "accepted"
    await waiting(before + 2)  # two customers: two lanes, each waiting on its first event

    await reconnect(http, metered_api, company.company_id, company.realm_id)
    for event in events:
        assert (await wait_event(http, metered_api, event["event_id"]))["status"] == "completed"
    await waiting(before)


async def test_the_worker_metrics_server_answers_metrics_and_healthz(
    http: httpx.AsyncClient,
) -> None:
    with metrics_server(process_telemetry(), "127.0.0.1:0") as (host, port):
        health = await http.get(f"http://{host}:{port}/healthz")
        assert (health.status_code, health.json()) == (200, {"status": "ok"})
        page = await scrape(http, f"http://{host}:{port}/metrics")
        assert "process_cpu_seconds" in page.families
        assert (await http.get(f"http://{host}:{port}/other")).status_code == 404
