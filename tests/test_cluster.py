"""The production shape, `make up-cluster`, started as the command starts it: PostgreSQL, the Temporal
server release built from go.temporal.io/server with fairness on, its Web UI, two workers and two
APIs. Events sent to either API run once, on either worker; a restart keeps everything.

Skipped only when PostgreSQL cannot be installed or Go cannot build the server (saying how).
"""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
import yaml
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest, GetSystemInfoRequest
from temporalio.client import Client

from devstack.cluster import DYNAMIC_CONFIG, ClusterPorts, ClusterStack
from devstack.postgres import INSTALL_HINT, install_postgres
from devstack.seed import choose_accounts_and_sync, connect_company
from devstack.temporal_server import TemporalServerNotFound, resolve_temporal_server
from devstack.versions import TEMPORAL_SERVER_VERSION
from starter.dispatch import IN_PROGRESS
from tests.events import customer, event_json, new_id
from workflows.search import ALL_KEYS

pytestmark = pytest.mark.timeout(600)


@pytest.fixture(scope="module")
def cluster_dir(enterable_session_dir: Path) -> Path:
    if install_postgres(progress=lambda _: None) is None:
        pytest.skip(INSTALL_HINT)
    try:
        resolve_temporal_server()
    except TemporalServerNotFound as exc:
        pytest.skip(f"no Temporal server build: {exc}")
    return enterable_session_dir / "up-cluster"


def new_stack(data_dir: Path, ports: ClusterPorts) -> ClusterStack:
    return ClusterStack(data_dir=data_dir, cluster_ports=ports, say=lambda _: None)


@pytest.fixture(scope="module")
async def up(cluster_dir: Path) -> AsyncIterator[ClusterStack]:
    stack = new_stack(cluster_dir, ClusterPorts.free())
    try:
        await stack.start()
        yield stack
    finally:
        await stack.stop()


async def wait_finished(http: httpx.AsyncClient, api: str, event_id: str) -> dict[str, object]:
    for _ in range(600):
        reply = await http.get(f"{api}/events/{event_id}")
        if reply.status_code == 200 and reply.json()["status"] not in IN_PROGRESS:
            return dict(reply.json())
        await asyncio.sleep(0.1)
    raise AssertionError(f"event {event_id} did not finish within 60 s")


def test_the_shared_dynamic_config_is_valid_for_the_server_release_and_turns_fairness_on() -> None:
    try:
        build = resolve_temporal_server()
    except TemporalServerNotFound as exc:
        pytest.skip(f"no Temporal server build: {exc}")
    checked = subprocess.run(
        [str(build.server), "validate-dynamic-config", str(DYNAMIC_CONFIG)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert "unregistered key" not in checked.stdout + checked.stderr, checked.stdout
    settings = yaml.safe_load(DYNAMIC_CONFIG.read_text())
    assert [entry["value"] for entry in settings["matching.enableFairness"]] == [True]


async def test_the_cluster_runs_the_pinned_server_release_with_the_namespace_and_attributes(
    up: ClusterStack,
) -> None:
    client = await Client.connect(up.address)
    info = await client.workflow_service.get_system_info(GetSystemInfoRequest())
    assert info.server_version == TEMPORAL_SERVER_VERSION
    from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest

    listed = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace="default")
    )
    assert {key.name for key in ALL_KEYS} <= set(listed.custom_attributes)
    async with httpx.AsyncClient(timeout=10) as http:
        ui = await http.get(up.temporal_ui_url)
        assert ui.status_code == 200 and "<html" in ui.text.lower()
        namespaces = await http.get(f"{up.temporal_ui_url}/api/v1/namespaces")
        assert namespaces.status_code == 200
        assert "default" in [n["namespaceInfo"]["name"] for n in namespaces.json()["namespaces"]]


async def test_events_sent_to_either_api_run_once_with_two_workers_and_the_store_on_postgres(
    up: ClusterStack,
) -> None:
    assert up.settings.database_url.startswith("postgresql")
    first_api, second_api = up.api_urls
    company_id = f"co_{uuid.uuid4().hex[:8]}"
    async with up.client(timeout=30) as http:
        company = await connect_company(http, first_api, company_id)
        await choose_accounts_and_sync(http, second_api, company)  # the other API sees it
        events = [
            event_json(
                company_id, "customer.saved", {"customer": customer(new_id("cust"), last=f"No{n}")}
            )
            for n in range(20)
        ]
        for index, event in enumerate(events):
            api = up.api_urls[index % 2]
            reply = await http.post(f"{api}/events", json=event)
            assert reply.status_code == 202, reply.text
        # The same event at the other door is a duplicate, not a second run.
        again = await http.post(f"{second_api}/events", json=events[0])
        assert again.status_code == 202 and again.json()["status"] == "duplicate"
        finished = [await wait_finished(http, first_api, e["event_id"]) for e in events]
        assert [f["status"] for f in finished] == ["completed"] * len(events)
        qbo_customers = (
            await http.get(f"{up.sandbox_url}/__sandbox/realms/{company.realm_id}")
        ).json()["entities"]["Customer"]
    assert len(qbo_customers) == len(events)

    # Both worker processes poll the task queue (which of them runs what is Temporal's choice:
    # sticky workflow tasks and eager activities favour the worker that started a workflow).
    client = await Client.connect(up.address)
    pids = {str(w.process.pid) for w in up.worker_procs}
    for kind in (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY):
        described = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace="default",
                task_queue=TaskQueue(name=up.settings.task_queue),
                task_queue_type=kind,
            )
        )
        polling = {poller.identity.split("@")[0] for poller in described.pollers}
        assert pids <= polling, (kind, pids, polling)


async def test_a_restarted_cluster_keeps_its_workflows_links_and_outbox(
    up: ClusterStack, cluster_dir: Path
) -> None:
    company_id = f"co_{uuid.uuid4().hex[:8]}"
    async with up.client(timeout=30) as http:
        company = await connect_company(http, up.api_url, company_id)
        await choose_accounts_and_sync(http, up.api_url, company)
        event = event_json(company_id, "customer.saved", {"customer": customer(new_id("cust"))})
        assert (await http.post(f"{up.api_url}/events", json=event)).status_code == 202
        before = await wait_finished(http, up.api_url, event["event_id"])

    await up.stop()  # Ctrl-C
    again = new_stack(cluster_dir, up.cluster_ports)
    try:
        await again.start()
        async with again.client(timeout=30) as http:
            after = await http.get(f"{again.api_url}/events/{event['event_id']}")
            assert after.status_code == 200
            assert (after.json()["status"], after.json()["workflow_id"]) == (
                "completed",
                before["workflow_id"],
            )
            resent = await http.post(f"{again.api_urls[1]}/events", json=event)
            assert resent.json()["status"] == "duplicate"
            log = await http.get(f"{again.api_url}/companies/{company_id}/activity")
            assert log.status_code == 200
    finally:
        await again.stop()  # the last test of the module: `up` stays stopped
