"""Shared fixtures: real servers only (QBO sandbox process, Temporal dev server, SQLite file)."""

from __future__ import annotations

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
from devstack.temporal_cli import resolve_temporal_cli
from qbo import QBOClient
from services import qbo_client
from starter.dispatch import EventDispatcher
from store import Store, TokenCipher
from tests.postgres import INSTALL_HINT, new_database, postgres_bin_dir, running_postgres
from tests.processes import running_sandbox
from worker import make_worker
from workflows.converter import DATA_CONVERTER
from workflows.search import ALL_KEYS

if TYPE_CHECKING:
    from tests.billing_helpers import Books


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


@pytest.fixture(scope="session")
async def temporal_env() -> AsyncIterator[WorkflowEnvironment]:
    """One real Temporal dev server (the CLI resolved by devstack) for the whole session."""
    cli = resolve_temporal_cli()
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=str(cli.path) if cli.path else None,
        data_converter=DATA_CONVERTER,
        search_attributes=ALL_KEYS,
        ui=False,
        dev_server_log_level="error",
        # Long-lived lanes continue-as-new after 50 history events, so tests run that path.
        dev_server_extra_args=[
            "--dynamic-config-value",
            "limit.historyCount.suggestContinueAsNew=50",
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
def settings(sandbox_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=f"sqlite:///{tmp_path / 'store.db'}",
        qbo_base_url=sandbox_url,
        qbo_token_url=f"{sandbox_url}/oauth2/v1/tokens/bearer",
        qbo_authorize_url=f"{sandbox_url}/connect/oauth2",
        qbo_revoke_url=f"{sandbox_url}/v2/oauth2/tokens/revoke",
        task_queue=f"test-{uuid.uuid4()}",
        token_encryption_key=Fernet.generate_key().decode(),
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
    reply = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    company_id = f"co_{uuid.uuid4().hex[:10]}"
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
def books(qbo: QBOClient, store: Store, company: Company) -> Books:
    """QBO's books for `company`, read back through the production client."""
    from tests.billing_helpers import Books

    return Books(qbo, store, company)


@pytest.fixture
async def api(settings: Settings, temporal_client: Client, store: Store) -> AsyncIterator[str]:
    """The real HTTP API, served in this process for one test."""
    from tests.processes import serve

    async for url in serve(settings, temporal_client, store):
        yield url
