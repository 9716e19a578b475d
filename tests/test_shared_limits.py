"""QBO's limits per realm kept by every process together: three OS processes drive the production
client at one sandbox company over HTTP, on a SQLite file and on Postgres, with the limits scaled
down alike on both sides so a minute's budget is spent in seconds."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from config import Settings
from qbo import QBOLimits, RealmLimiter
from qbo import models as q
from services import qbo_client
from store import RequestBudgets, Store, TokenCipher
from store.deferred import writes_deferred
from store.limits import PRUNE_EVERY, QBORealmBudget, QBORequestGrant, QBORequestLease
from store.tables import JournaledWrite
from tests.processes import REPO_ROOT

# The sandbox's limits and the service's, the same numbers (QBO's are 500, 10, 10 and 40).
SANDBOX_LIMITS = {"per_minute": 20, "per_second": 5, "concurrent": 3, "batch_per_minute": 4}
SERVICE_LIMITS = {
    "qbo_requests_per_minute": 20,
    "qbo_requests_per_second": 5,
    "qbo_concurrent_requests": 3,
    "qbo_batch_calls_per_minute": 4,
}
PROCESSES = 3
LATENCY = 0.2  # seconds the sandbox takes per call: calls overlap, so the slots matter


@dataclass
class Realm:
    realm_id: str
    settings: Settings  # a service process's, pointed at the sandbox and this realm's store
    store: Store
    tokens: tuple[str, str]  # access and refresh token, as the sandbox issued them

    def env(self, **overrides: str) -> dict[str, str]:
        return {
            "DATABASE_URL": self.settings.database_url,
            "TOKEN_ENCRYPTION_KEY": self.settings.token_encryption_key,
            "QBO_BASE_URL": self.settings.qbo_base_url,
            "QBO_TOKEN_URL": self.settings.qbo_token_url,
            "QBO_REQUESTS_PER_MINUTE": str(self.settings.qbo_requests_per_minute),
            "QBO_REQUESTS_PER_SECOND": str(self.settings.qbo_requests_per_second),
            "QBO_CONCURRENT_REQUESTS": str(self.settings.qbo_concurrent_requests),
            "QBO_BATCH_CALLS_PER_MINUTE": str(self.settings.qbo_batch_calls_per_minute),
            "QBO_REQUEST_LEASE_SECONDS": str(self.settings.qbo_request_lease_seconds),
            **overrides,
        }


async def connect(store: Store, realm_id: str, tokens: tuple[str, str]) -> None:
    await store.save_connection("co_limits", realm_id, *tokens, 3600, 8_726_400)


async def connected_realm(
    database_url: str,
    sandbox_url: str,
    http: httpx.AsyncClient,
    latency: float | None = LATENCY,
    **limits: Any,
) -> Realm:
    """A sandbox company with lowered limits (and a latency), connected in a fresh store."""
    settings = Settings(
        database_url=database_url,
        token_encryption_key=Fernet.generate_key().decode(),
        qbo_base_url=sandbox_url,
        qbo_token_url=f"{sandbox_url}/oauth2/v1/tokens/bearer",
        **{**SERVICE_LIMITS, **limits},
    )
    store = Store(database_url, TokenCipher(settings.token_encryption_key))
    store.create_all()
    reply = (await http.post(f"{sandbox_url}/__sandbox/realms", json={})).json()
    realm = Realm(
        reply["realm_id"], settings, store, (reply["access_token"], reply["refresh_token"])
    )
    await connect(store, realm.realm_id, realm.tokens)
    limits_url = f"{sandbox_url}/__sandbox/realms/{realm.realm_id}/limits"
    assert (await http.put(limits_url, json=SANDBOX_LIMITS)).status_code == 200
    if latency is not None:
        delay = {"kind": "delay", "path": "*", "seconds": latency, "times": None}
        faults_url = f"{sandbox_url}/__sandbox/realms/{realm.realm_id}/faults"
        assert (await http.post(faults_url, json=delay)).status_code == 201
    return realm


def start_process(
    realm: Realm,
    start_file: Path,
    seconds: float,
    queries: int,
    batches: int,
    env: dict[str, str] | None = None,
) -> subprocess.Popen[str]:
    args = [realm.realm_id, str(start_file), str(seconds), str(queries), str(batches)]
    return subprocess.Popen(
        [sys.executable, "-m", "tests.shared_limits_process", *args],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or realm.env())},
        stdout=subprocess.PIPE,
        text=True,
    )


async def sandbox_load(http: httpx.AsyncClient, sandbox_url: str, realm_id: str) -> Any:
    return (await http.get(f"{sandbox_url}/__sandbox/realms/{realm_id}/load")).json()


async def run_together(
    processes: list[subprocess.Popen[str]],
    start_file: Path,
    while_running: Callable[[float], Awaitable[None]] | None = None,
) -> list[dict[str, Any]]:
    """Release the processes at one instant; call `while_running(seconds since)` every 50 ms
    until they end; their reports."""
    try:
        for process in processes:
            assert process.stdout is not None
            assert process.stdout.readline().strip() == "ready"
        start_file.touch()  # noqa: ASYNC240 - a tmp file: the start line, at once
        started = time.monotonic()
        while any(process.poll() is None for process in processes):
            if while_running is not None:
                await while_running(time.monotonic() - started)
            await asyncio.sleep(0.05)
        return [
            json.loads(p.communicate(timeout=30)[0].strip().splitlines()[-1]) for p in processes
        ]
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()


async def run_flat_out(
    realm: Realm, sandbox_url: str, http: httpx.AsyncClient, tmp_path: Path, seconds: float
) -> tuple[list[dict[str, Any]], list[tuple[float, int]]]:
    """Three processes, each with two query loops and one batch loop, released together; their
    reports, and the sandbox's count of accepted calls sampled as they run."""
    start_file = tmp_path / f"start-{realm.realm_id}"
    processes = [start_process(realm, start_file, seconds, 2, 1) for _ in range(PROCESSES)]
    samples: list[tuple[float, int]] = []

    async def sample(at: float) -> None:
        samples.append((at, (await sandbox_load(http, sandbox_url, realm.realm_id))["accepted"]))

    return await run_together(processes, start_file, sample), samples


def first_time_at(samples: list[tuple[float, int]], count: int) -> float:
    return next(at for at, accepted in samples if accepted >= count)


async def test_three_processes_calling_one_realm_flat_out_stay_within_its_limits_together(
    database_url: str, sandbox_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    realm = await connected_realm(database_url, sandbox_url, http)

    reports, samples = await run_flat_out(realm, sandbox_url, http, tmp_path, seconds=5.5)

    assert [r["errors"] for r in reports] == [[]] * PROCESSES
    load = await sandbox_load(http, sandbox_url, realm.realm_id)
    log = (await http.get(f"{sandbox_url}/__sandbox/realms/{realm.realm_id}/requests")).json()
    statuses = [entry["status"] for entry in log["requests"]]
    assert load["throttled"] == 0 and 429 not in statuses
    # Never more in flight than the limit, and the limit was used.
    assert load["peak_in_flight"] == SANDBOX_LIMITS["concurrent"]
    # The whole minute's budget, and not one call more; 4 of them the minute's batch calls.
    assert load["accepted"] == SANDBOX_LIMITS["per_minute"]
    assert sum(r["queries"] + r["batches"] for r in reports) == SANDBOX_LIMITS["per_minute"]
    batches = [e for e in log["requests"] if e["path"].endswith("/batch")]
    assert len(batches) == sum(r["batches"] for r in reports) == SANDBOX_LIMITS["batch_per_minute"]
    # Spent at the per-second rate: 20 calls at 5 a second need 3 s at the very least; the
    # windows' 0.2 s margin (4 × 1.2 s) and the latency of the first replies cost a little more.
    spent_in = first_time_at(samples, SANDBOX_LIMITS["per_minute"]) - first_time_at(samples, 1)
    assert 3.0 <= spent_in <= 4.8, samples


async def test_three_processes_each_counting_alone_earn_429s(
    sandbox_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    """What the shared budget prevents: each process with a budget of its own (a store each, as
    an in-process limiter has) lets through three times the company's limits."""
    realm = await connected_realm(f"sqlite:///{tmp_path / 'first.db'}", sandbox_url, http)
    start_file = tmp_path / "start"
    processes = []
    for n in range(PROCESSES):
        own = f"sqlite:///{tmp_path / f'own-{n}.db'}"
        own_store = Store(own, TokenCipher(realm.settings.token_encryption_key))
        own_store.create_all()
        await connect(own_store, realm.realm_id, realm.tokens)
        processes.append(start_process(realm, start_file, 3.0, 2, 0, realm.env(DATABASE_URL=own)))
    reports = await run_together(processes, start_file)

    load = await sandbox_load(http, sandbox_url, realm.realm_id)
    assert load["throttled"] > 0
    assert any("429" in error or "3001" in error for r in reports for error in r["errors"])


async def test_a_slot_held_by_a_killed_process_comes_back_after_its_lease(
    database_url: str, sandbox_url: str, http: httpx.AsyncClient, tmp_path: Path
) -> None:
    lease = 2.0
    realm = await connected_realm(
        database_url,
        sandbox_url,
        http,
        latency=None,
        qbo_concurrent_requests=1,
        qbo_request_lease_seconds=lease,
    )
    await http.put(
        f"{sandbox_url}/__sandbox/realms/{realm.realm_id}/limits", json={"concurrent": 1}
    )
    # The dying process's call takes a second at the sandbox: it is in flight when killed.
    slow = {"kind": "delay", "path": "query", "seconds": 1.0, "times": 1}
    await http.post(f"{sandbox_url}/__sandbox/realms/{realm.realm_id}/faults", json=slow)
    budgets = RequestBudgets(realm.store.engine)
    start_file = tmp_path / "start"
    dying = start_process(realm, start_file, 60.0, 1, 0)
    try:
        assert dying.stdout is not None and dying.stdout.readline().strip() == "ready"
        start_file.touch()
        while not await budgets.holders(realm.realm_id):
            await asyncio.sleep(0.01)
        dying.send_signal(signal.SIGKILL)
        dying.wait(timeout=10)
        killed_at = time.monotonic()
    finally:
        if dying.poll() is None:
            dying.kill()
    assert len(await budgets.holders(realm.realm_id)) == 1  # the dead process still holds it

    async with httpx.AsyncClient(timeout=30) as client_http:
        qbo = qbo_client(realm.settings, realm.store, client_http)
        accounts = await qbo.query(realm.realm_id, q.Account, "SELECT * FROM Account")
    waited = time.monotonic() - killed_at

    assert accounts
    # Not before the dead holder's lease ran out (it was granted just before the kill), and then.
    assert lease - 0.5 <= waited <= lease + 1.5
    assert await budgets.holders(realm.realm_id) == []
    load = await sandbox_load(http, sandbox_url, realm.realm_id)
    assert load["throttled"] == 0 and load["peak_in_flight"] == 1


async def test_a_request_woken_late_for_its_grant_asks_for_a_fresh_one(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    limits = QBOLimits(requests_per_second=1, margin_seconds=0.2)
    limiter = RealmLimiter(RequestBudgets(store.engine), limits)
    sent_at: list[float] = []

    async def request() -> None:
        async with limiter.slot("r1"):
            sent_at.append(time.monotonic())

    await request()
    second = asyncio.create_task(request())  # granted 1.2 s after the first
    await asyncio.sleep(1.0)
    time.sleep(0.5)  # noqa: ASYNC251 - a busy host: the second wakes 0.3 s after its moment
    await second

    # Its first grant stays counted, so the fresh one is 1.2 s after it, not sent late at once.
    assert sent_at[1] - sent_at[0] >= 2.3
    with Session(store.engine) as session:
        budget = session.get(QBORealmBudget, "r1")
        assert budget is not None and budget.grants_made == 3


async def test_a_request_in_flight_longer_than_its_lease_keeps_its_slot(database_url: str) -> None:
    store = Store(database_url, TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    budgets = RequestBudgets(store.engine)
    limits = QBOLimits(concurrent_requests=1, lease_seconds=0.6)
    limiter = RealmLimiter(budgets, limits)
    # Another process, with a dead request's slot granted a lease ago (its lease is all it has).
    await budgets.reserve("r1", "dead", False, limits)

    async with limiter.slot("r1"):  # once the dead one's lease ran out
        for _ in range(4):  # over three leases in all: renewed every 0.2 s while in flight
            await asyncio.sleep(0.5)
            assert len(await budgets.holders("r1")) == 1
        other = RealmLimiter(budgets, limits)
        with pytest.raises(TimeoutError):  # still taken: another process cannot have it
            await asyncio.wait_for(other.slot("r1").__aenter__(), 0.5)

    assert await budgets.holders("r1") == []
    await limiter.settled()  # nothing held: the renewing stops
    assert limiter._renewing is not None and limiter._renewing.done()


async def test_grants_no_window_reaches_are_pruned_within_a_few_grants(tmp_path: Path) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    budgets = RequestBudgets(store.engine)
    an_hour_ago = time.time() - 3600
    with Session(store.engine) as session:
        for n in range(30):
            session.add(QBORequestGrant(realm_id="r1", granted_at=an_hour_ago + n))
            session.add(QBORequestGrant(realm_id="r2", granted_at=an_hour_ago + n))
        session.add(QBORequestLease(holder="dead", realm_id="r1", expires_at=an_hour_ago))
        session.commit()

    for n in range(PRUNE_EVERY):
        await budgets.reserve("r1", f"h{n}", False, QBOLimits())
        await budgets.release(f"h{n}")

    with Session(store.engine) as session:
        kept = session.exec(select(QBORequestGrant).where(QBORequestGrant.realm_id == "r1")).all()
        assert len(kept) == PRUNE_EVERY  # the 16 just made; the 30 from an hour ago are gone
        assert all(grant.granted_at > an_hour_ago + 60 for grant in kept)
        other = session.exec(select(QBORequestGrant).where(QBORequestGrant.realm_id == "r2"))
        assert len(other.all()) == 30  # another realm's grants are its own to prune
        assert session.exec(select(QBORequestLease)).all() == []  # the dead process's too


async def test_an_attempts_write_notes_land_before_its_next_grant_and_at_its_end(
    tmp_path: Path,
) -> None:
    store = Store(f"sqlite:///{tmp_path / 'store.db'}", TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    budgets = RequestBudgets(store.engine)
    one_slot = QBOLimits(concurrent_requests=1)

    def noted() -> JournaledWrite | None:
        with Session(store.engine) as session:  # as another process sees the store
            return session.get(JournaledWrite, ("r1", "k1"))

    def noted_done() -> str | None:
        return note.outcome if (note := noted()) is not None else None

    async def attempt() -> None:
        with writes_deferred():
            await store.note_write_sent(
                JournaledWrite(
                    realm_id="r1", journal_key="k1", company_id="c", request="{}", note="{}"
                )
            )
            assert noted() is None  # not yet: the attempt has had no transaction since
            assert (await budgets.reserve("r1", "h1", False, one_slot)).send_at is not None
            # The note committed with the grant, before the request it notes could be sent.
            assert noted() is not None
            await budgets.release("h1")  # at once: a slot is never deferred
            assert await budgets.holders("r1") == []
            await store.note_write_done("r1", "k1", '{"done": true}')
            assert noted_done() is None  # with the attempt's next transaction
            await store.flush_deferred()  # what the activity interceptor does before reporting
            assert noted_done() == '{"done": true}'

    await asyncio.wait_for(attempt(), timeout=10)
    assert await budgets.holders("r1") == []
    done = await store.get_journaled_write("r1", "k1")
    assert done is not None and done.outcome == '{"done": true}'
