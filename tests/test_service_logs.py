"""The API and the worker as real processes with LOG_FORMAT=json: every line is a JSON object,
QBO request lines carry Intuit's `intuit_tid`, an OAuth `code` or `state` never appears, and the
worker serves its own `/metrics` and `/healthz` on METRICS_ADDRESS."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from temporalio.testing import WorkflowEnvironment

from config import Settings
from devstack.api_access import carry_key
from starter.dispatch import EventDispatcher
from tests.conftest import Company
from tests.events import customer, customer_saved, new_id, wait_done
from tests.processes import REPO_ROOT, free_port, service_env, wait_http_ok
from tests.qbo_log import RequestLog
from tests.scrape import scrape


@contextmanager
def service_process(
    args: list[str], env: dict[str, str], log_file: Path, ready_url: str
) -> Iterator[subprocess.Popen[bytes]]:
    """A service process whose stderr (its log) goes to `log_file`; stopped with SIGTERM."""
    with log_file.open("wb") as log:
        process = subprocess.Popen(args, cwd=REPO_ROOT, env=env, stderr=log)
    try:
        wait_http_ok(ready_url, process, timeout=60)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def json_lines(log_file: Path) -> list[dict[str, Any]]:
    """Every line of the log as JSON (fails on the first line that is not)."""
    lines = [line for line in log_file.read_text().splitlines() if line.strip()]
    assert lines, f"{log_file} is empty"
    return [json.loads(line) for line in lines]


def qbo_lines(lines: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [line for line in lines if line["logger"] == "qbo.client"]


def env_of(settings: Settings, temporal_env: WorkflowEnvironment, **extra: str) -> dict[str, str]:
    address = temporal_env.client.service_client.config.target_host
    return {
        **service_env(settings, address),
        "QBO_AUTHORIZE_URL": settings.qbo_authorize_url,
        "QBO_REVOKE_URL": settings.qbo_revoke_url,
        "LOG_FORMAT": "json",
        **extra,
    }


async def test_api_logs_are_json_with_intuit_tid_and_never_the_oauth_code(
    settings: Settings,
    temporal_env: WorkflowEnvironment,
    http: httpx.AsyncClient,
    sandbox_url: str,
    tmp_path: Path,
) -> None:
    port = free_port()
    api = f"http://127.0.0.1:{port}"
    env = env_of(
        settings, temporal_env, API_PORT=str(port), QBO_REDIRECT_URI=f"{api}/quickbooks/callback"
    )
    log_file = tmp_path / "api.log"
    with service_process([sys.executable, "-m", "starter.api"], env, log_file, f"{api}/healthz"):
        carry_key(http, [api], settings.admin_api_key)
        start = await http.get(f"{api}/companies/co_logs/quickbooks/connect")
        approved = await http.get(start.headers["location"])  # the sandbox approves at once
        callback = httpx.URL(approved.headers["location"])
        code, state = callback.params["code"], callback.params["state"]
        assert (await http.get(callback)).status_code == 302
        accounts = await http.get(f"{api}/companies/co_logs/quickbooks/accounts")
        assert accounts.status_code == 200
        assert (await http.get(f"{api}/readyz")).status_code == 200
        realm = callback.params["realmId"]
        seen = await RequestLog(http, sandbox_url, realm).entries()

    text = log_file.read_text()
    assert code not in text and state not in text
    lines = json_lines(log_file)
    assert {line["service"] for line in lines} == {"api"}
    access = [line["message"] for line in lines if line["logger"] == "uvicorn.access"]
    called_back = [message for message in access if "/quickbooks/callback" in message]
    assert called_back and all("code=[redacted]" in m for m in called_back), access
    assert all("state=[redacted]" in m for m in called_back)
    # One line per QBO request, with the intuit_tid QBO answered it with.
    logged = qbo_lines(lines)
    assert [line["intuit_tid"] for line in logged] == [entry["intuit_tid"] for entry in seen]
    assert all(line["realm_id"] == realm and line["qbo_access"] == "read" for line in logged)
    assert all(line["level"] and line["time"] for line in lines)


async def test_worker_logs_json_with_intuit_tid_and_serves_its_own_metrics(
    settings: Settings,
    temporal_env: WorkflowEnvironment,
    dispatcher: EventDispatcher,
    company: Company,
    qbo_log: RequestLog,
    http: httpx.AsyncClient,
    tmp_path: Path,
) -> None:
    metrics = f"127.0.0.1:{free_port()}"
    env = env_of(settings, temporal_env, METRICS_ADDRESS=metrics)
    log_file = tmp_path / "worker.log"
    with service_process([sys.executable, "worker.py"], env, log_file, f"http://{metrics}/healthz"):
        event = customer_saved(company.company_id, customer(new_id("c")))
        await dispatcher.submit(event)
        status = await wait_done(dispatcher, event.event_id)
        assert status.status == "completed", status.message
        seen = await qbo_log.entries()
        page = await scrape(http, f"http://{metrics}/metrics")
        done = {"event_type": "customer.saved", "outcome": "completed"}
        assert page.total("qbo_sync_events_finished_total", **done) == 1
        assert page.total("qbo_sync_event_duration_seconds_count", **done) == 1
        requests = page.total("qbo_sync_quickbooks_requests_total", realm_id=company.realm_id)
        assert requests == len(seen) > 0
        assert page.total("temporal_workflow_completed_total", workflow_type="SyncCustomer") == 1
        assert page.total("temporal_worker_task_slots_available") > 0

    lines = json_lines(log_file)
    assert {line["service"] for line in lines} == {"worker"}
    logged = qbo_lines(lines)
    assert sorted(line["intuit_tid"] for line in logged) == sorted(e["intuit_tid"] for e in seen)
    assert all(line["realm_id"] == company.realm_id for line in logged)
    writes = [line for line in logged if line["qbo_access"] == "write"]
    assert writes and all(line["requestid"] for line in writes)
    assert any(line["message"].startswith("worker polling task queue") for line in lines)
