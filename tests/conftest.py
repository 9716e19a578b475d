"""Shared fixtures: real servers only (QBO sandbox process, Temporal dev server, SQLite file)."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx
import pytest
from cryptography.fernet import Fernet
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from config import Settings
from devstack.api_access import carry_key
from devstack.temporal_cli import resolve_temporal_cli
from qbo import QBOClient
from services import qbo_client
from starter.dispatch import EventDispatcher
from store import Store, TokenCipher
from store.api_keys import new_api_key
from temporal_platform.converter import data_converter
from temporal_platform.keys import new_key_line, parse_payload_keys
from tests.postgres import (
    INSTALL_HINT,
    enterable_dir,
    new_database,
    postgres_bin_dir,
    running_postgres,
)
from tests.processes import running_sandbox
from worker import make_worker
from workflows.search import ALL_KEYS

if TYPE_CHECKING:
    from devstack.cluster import ClusterStack
    from tests.billing_helpers import Books
    from tests.qbo_log import RequestLog


@pytest.fixture(scope="session")
def sandbox_url() -> Iterator[str]:
    """Base URL of a QBO sandbox process shared by the whole session (create a realm per test)."""
    with running_sandbox() as url:
        yield url


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A throwaway PostgreSQL server for the whole session (skipped when it is not installed)."""
    bin_dir = postgres_bin_dir()
    if bin_dir is None:
        pytest.skip(INSTALL_HINT)
    with running_postgres(bin_dir) as url:
        yield url


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """An empty store database: a SQLite file, then a fresh database on the Postgres server."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    return new_database(request.getfixturevalue("postgres_server"))


# `make test-cluster` sets SKIMMER_TEST_STACK=cluster: the same tests then run on the production
# shape's Temporal server (built from go.temporal.io/server, fairness on) and PostgreSQL, which
# also holds every test's service store.
ON_CLUSTER = os.environ.get("SKIMMER_TEST_STACK", "dev") == "cluster"
# Long-lived lanes continue-as-new after 50 history events, so tests run that path.
CONTINUE_AS_NEW_AFTER = 50


@pytest.fixture(scope="session")
def enterable_session_dir() -> Iterator[Path]:
    """A session's directory that PostgreSQL's own user may enter (see tests/postgres.py)."""
    with enterable_dir("skimmer-tests-") as path:
        yield path


@pytest.fixture(scope="session")
async def cluster(enterable_session_dir: Path) -> AsyncIterator[ClusterStack | None]:
    """PostgreSQL and a real Temporal server on it, for the whole session (None unless in
    cluster mode)."""
    from devstack.cluster import ClusterPorts, ClusterStack

    if not ON_CLUSTER:
        yield None
        return
    stack = ClusterStack(
        data_dir=enterable_session_dir / "cluster",
        cluster_ports=ClusterPorts.free(),
        say=lambda _: None,
        dynamic_config_extra={"limit.historyCount.suggestContinueAsNew": CONTINUE_AS_NEW_AFTER},
    )
    try:
        await stack.start_platform()
        yield stack
    finally:
        await stack.stop()


@pytest.fixture(scope="session")
def payload_encryption_keys() -> str:
    """The session's PAYLOAD_ENCRYPTION_KEYS: a generated key, the tests' clients, workers and
    service processes all encrypt payloads with."""
    return new_key_line("test")


@pytest.fixture(scope="session")
async def temporal_env(
    cluster: ClusterStack | None, payload_encryption_keys: str
) -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal server for the whole session: the CLI's dev server (resolved by
    devstack), or in cluster mode the cluster's server on PostgreSQL."""
    converter = data_converter(parse_payload_keys(payload_encryption_keys))
    if cluster is not None:
        stack = cluster
        client = await Client.connect(stack.address, data_converter=converter)
        yield WorkflowEnvironment.from_client(client)
        return
    cli = resolve_temporal_cli()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli.path) if cli.path else None,
        data_converter=converter,
        search_attributes=ALL_KEYS,
        ui=False,
        dev_server_log_level="error",
        dev_server_extra_args=[
            "--dynamic-config-value",
            f"limit.historyCount.suggestContinueAsNew={CONTINUE_AS_NEW_AFTER}",
        ],
    )
    try:
        yield env
    finally:
        await env.shutdown()


@pytest.fixture
def temporal_client(temporal_env: WorkflowEnvironment) -> Client:
    return temporal_env.client


@pytest.fixture
def settings(
    sandbox_url: str, tmp_path: Path, cluster: ClusterStack | None, payload_encryption_keys: str
) -> Settings:
    if cluster is not None:  # the store on the cluster's PostgreSQL, a database per test
        assert cluster.postgres is not None
        database_url = cluster.postgres.new_database()
    else:
        database_url = f"sqlite:///{tmp_path / 'store.db'}"
    return Settings(
        database_url=database_url,
        qbo_base_url=sandbox_url,
        qbo_token_url=f"{sandbox_url}/oauth2/v1/tokens/bearer",
        qbo_authorize_url=f"{sandbox_url}/connect/oauth2",
        qbo_revoke_url=f"{sandbox_url}/v2/oauth2/tokens/revoke",
        task_queue=f"test-{uuid.uuid4()}",
        token_encryption_key=Fernet.generate_key().decode(),
        admin_api_key=new_api_key(),
        payload_encryption_keys=payload_encryption_keys,
        # The session's sandbox runs without limits (they have tests of their own): pacing
        # every test company at QBO's 10 requests a second would only slow the suite.
        qbo_requests_per_second=100,
    )


@pytest.fixture
def store(settings: Settings) -> Store:
    the_store = Store(settings.database_url, TokenCipher(settings.token_encryption_key))
    the_store.create_all()
    return the_store


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


@pytest.fixture
def qbo(settings: Settings, store: Store, http: httpx.AsyncClient) -> QBOClient:
    """The production QBO client, pointed at the sandbox, reading tokens from the store."""
    return qbo_client(settings, store, http)


@dataclass
class Company:
    company_id: str
    realm_id: str
    accounts: dict[str, str]  # account name -> QBO id


@pytest.fixture
async def company(sandbox_url: str, store: Store, http: httpx.AsyncClient) -> Company:
    """A Skimmer company connected to a fresh sandbox realm, income account mapped, sync on."""
    return await connect_sandbox_company(sandbox_url, store, http)


async def connect_sandbox_company(
    sandbox_url: str, store: Store, http: httpx.AsyncClient, company_id: str | None = None
) -> Company:
    """Connect a company (a new one unless named) to a fresh sandbox realm, accounts mapped,
    sync on, straight through the store."""
    reply = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    company_id = company_id or f"co_{uuid.uuid4().hex[:10]}"
    await store.save_connection(
        company_id,
        reply["realm_id"],
        reply["access_token"],
        reply["refresh_token"],
        reply["expires_in"],
        reply.get("x_refresh_token_expires_in"),
    )
    accounts = {a["Name"]: a["Id"] for a in reply["accounts"]}
    await store.update_settings(
        company_id,
        income_account_id=accounts["Sales of Product Income"],
        deposit_account_id=accounts["Undeposited Funds"],
        refund_account_id=accounts["Checking"],
        sync_enabled=True,
    )
    return Company(company_id, reply["realm_id"], accounts)


@pytest.fixture
async def worker(
    temporal_client: Client, settings: Settings, store: Store, qbo: QBOClient
) -> AsyncIterator[None]:
    """A real worker for this test's own task queue."""
    from activities.common import Deps

    async with make_worker(temporal_client, Deps(store=store, qbo=qbo), settings.task_queue):
        yield


@pytest.fixture
def dispatcher(temporal_client: Client, store: Store, settings: Settings) -> EventDispatcher:
    return EventDispatcher(temporal_client, store, settings.task_queue)


@pytest.fixture
def qbo_log(http: httpx.AsyncClient, sandbox_url: str, company: Company) -> RequestLog:
    """`company`'s QBO request log in the sandbox."""
    from tests.qbo_log import RequestLog

    return RequestLog(http, sandbox_url, company.realm_id)


@pytest.fixture
def books(qbo: QBOClient, store: Store, company: Company) -> Books:
    """QBO's books for `company`, read back through the production client."""
    from tests.billing_helpers import Books

    return Books(qbo, store, company)


@pytest.fixture
async def signed_api(
    settings: Settings, temporal_client: Client, store: Store
) -> AsyncIterator[str]:
    """The real HTTP API requiring signed events (`tests.processes.SIGNING_SECRET`)."""
    from tests.processes import SIGNING_SECRET, serve

    signed = settings.model_copy(update={"events_signing_secret": SIGNING_SECRET})
    async for url in serve(signed, temporal_client, store):
        yield url


@pytest.fixture
async def api(
    settings: Settings, temporal_client: Client, store: Store, http: httpx.AsyncClient
) -> AsyncIterator[str]:
    """The real HTTP API, served in this process for one test; `http` carries its admin key."""
    from tests.processes import serve

    async for url in serve(settings, temporal_client, store):
        carry_key(http, [url], settings.admin_api_key)
        yield url
