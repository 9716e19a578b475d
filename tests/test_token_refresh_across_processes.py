"""One token refresh per realm across every process: two workers and the API, each a real OS
process with the production QBO client on one store, all finding the access token expired at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
from cryptography.fernet import Fernet

from activities.tokens import StoreTokenStore
from config import Settings
from qbo import QBOClient, TokenManager
from qbo import models as q
from services import oauth_client, qbo_limiter
from store import Store, TokenCipher
from tests.conftest import Company
from tests.processes import REPO_ROOT

ROLES = ("worker-1", "worker-2", "api")
CALLS_PER_PROCESS = 4


def service_process(
    role: str, realm_id: str, start_file: Path, env: dict[str, str]
) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tests.token_refresh_process",
            role,
            realm_id,
            str(start_file),
            str(CALLS_PER_PROCESS),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        text=True,
    )


async def test_two_workers_and_the_api_refreshing_at_once_rotate_the_token_once(
    database_url: str, sandbox_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    key = Fernet.generate_key().decode()
    store = Store(database_url, TokenCipher(key))
    store.create_all()
    realm = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    realm_id = realm["realm_id"]
    # Expired in the store and at the sandbox: every process must refresh before its calls.
    await store.save_connection(
        "co_refresh", realm_id, realm["access_token"], realm["refresh_token"], 0, 8_726_400
    )
    await http.post(f"{sandbox_url}/__sandbox/realms/{realm_id}/expire-access-tokens")
    before = await store.load_tokens(realm_id)
    env = {
        "DATABASE_URL": database_url,
        "TOKEN_ENCRYPTION_KEY": key,
        "QBO_BASE_URL": sandbox_url,
        "QBO_TOKEN_URL": f"{sandbox_url}/oauth2/v1/tokens/bearer",
    }
    start_file = tmp_path / "start"
    processes = [service_process(role, realm_id, start_file, env) for role in ROLES]
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        start_file.touch()
        reports = []
        for process in processes:
            out, _ = process.communicate(timeout=120)
            reports.append(json.loads(out.strip().splitlines()[-1]))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()

    assert [(r["role"], r["ok"], r["errors"]) for r in reports] == [
        (role, CALLS_PER_PROCESS, []) for role in ROLES
    ]
    refreshes = await http.get(f"{sandbox_url}/__sandbox/realms/{realm_id}/token-refreshes")
    assert refreshes.json() == {"refreshes": [{"outcome": "rotated"}]}
    conn = await store.get_connection("co_refresh")
    assert conn is not None
    assert (conn.status, conn.status_reason) == ("connected", None)
    after = await store.load_tokens(realm_id)
    assert after.version == before.version + 1
    assert conn.refresh_lease_owner is None  # the owner let go


async def test_a_refresh_lease_left_by_a_dead_process_expires_and_the_next_caller_refreshes(
    store: Store, company: Company, settings: Settings, sandbox_url: str, http: httpx.AsyncClient
) -> None:
    lease = timedelta(seconds=1)
    qbo = QBOClient(
        http,
        TokenManager(oauth_client(settings, http), StoreTokenStore(store), lease=lease),
        qbo_limiter(settings, store),
        base_url=sandbox_url,
    )
    await http.post(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/expire-access-tokens")
    stale = await store.load_tokens(company.realm_id)
    # A process took the lease and died before refreshing.
    assert await store.claim_refresh(company.realm_id, stale.version, "dead-process", lease)

    started = time.monotonic()
    accounts = await qbo.query(company.realm_id, q.Account, "SELECT * FROM Account")

    assert accounts
    assert time.monotonic() - started >= lease.total_seconds() * 0.9  # it waited out the lease
    refreshes = await http.get(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/token-refreshes")
    assert refreshes.json() == {"refreshes": [{"outcome": "rotated"}]}
    assert (await store.load_tokens(company.realm_id)).version == stale.version + 1
