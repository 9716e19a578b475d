"""The client under the real API's pressure: limits, pages, batches, faults → Temporal errors."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from collections.abc import Awaitable
from datetime import timedelta

import httpx
import pytest
from cryptography.fernet import Fernet
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.common import Deps
from activities.customers import CustomerActivities
from activities.models import EnsureCustomerInput
from billing.records import Customer
from config import Settings
from qbo import QBOClient, TokenManager
from qbo import models as q
from qbo.client import BatchItem
from qbo.errors import DuplicateNameError
from qbo.limiter import QBOLimits, RealmLimiter
from services import oauth_client
from store import RequestBudgets, Store, TokenCipher
from tests.conftest import Company
from tests.events import new_id


async def test_limiter_keeps_the_window_and_the_slots_per_realm(database_url: str) -> None:
    store = Store(database_url, TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    limits = QBOLimits(concurrent_requests=2, requests_per_second=4, margin_seconds=0.0)
    limiter = RealmLimiter(RequestBudgets(store.engine), limits)
    in_flight: Counter[str] = Counter()
    peak = 0

    async def call(realm: str) -> None:
        nonlocal peak
        async with limiter.slot(realm):
            in_flight[realm] += 1
            peak = max(peak, in_flight["r1"])
            await asyncio.sleep(0.1)  # long enough that the next slot is taken meanwhile
            in_flight[realm] -= 1

    async def timed(*calls: Awaitable[None]) -> float:
        started = time.monotonic()
        await asyncio.gather(*calls)
        return time.monotonic() - started

    busy, other = await asyncio.gather(timed(*(call("r1") for _ in range(10))), timed(call("r2")))
    assert peak == 2
    assert busy >= 1.95  # 10 requests at 4 per second: the 9th waits out two full seconds
    assert other < 0.5  # another company does not wait behind a busy one
    assert await RequestBudgets(store.engine).holders("r1") == []  # every slot given back


def client_with(
    settings: Settings, store: Store, http: httpx.AsyncClient, limits: QBOLimits
) -> QBOClient:
    from activities.tokens import StoreTokenStore

    tokens = TokenManager(oauth_client(settings, http), StoreTokenStore(store))
    limiter = RealmLimiter(RequestBudgets(store.engine), limits)
    return QBOClient(http, tokens, limiter, base_url=settings.qbo_base_url)


async def set_faults(
    http: httpx.AsyncClient, sandbox_url: str, realm: str, **fault: object
) -> None:
    reply = await http.post(f"{sandbox_url}/__sandbox/realms/{realm}/faults", json=fault)
    assert reply.status_code == 201, reply.text


async def burst(qbo: QBOClient, realm: str, n: int) -> list[BaseException | None]:
    async def one() -> None:
        await qbo.query(realm, q.Account, "SELECT * FROM Account")

    results = await asyncio.gather(*(one() for _ in range(n)), return_exceptions=True)
    return [r if isinstance(r, BaseException) else None for r in results]


async def test_one_worker_never_trips_the_concurrency_or_per_second_limit_by_itself(
    settings: Settings, store: Store, http: httpx.AsyncClient, company: Company, sandbox_url: str
) -> None:
    limits = await http.put(
        f"{sandbox_url}/__sandbox/realms/{company.realm_id}/limits",
        json={"per_minute": 500, "per_second": 10, "concurrent": 10},
    )
    assert limits.status_code == 200, limits.text
    await set_faults(
        http,
        sandbox_url,
        company.realm_id,
        kind="delay",
        path="query",
        seconds=0.2,
        times=None,
        fraction=1.0,
    )

    too_many = QBOLimits(concurrent_requests=100, requests_per_second=100)
    unlimited = client_with(settings, store, http, too_many)
    failures = [e for e in await burst(unlimited, company.realm_id, 30) if e is not None]
    assert failures, "without the limiter the sandbox should have answered 429"
    assert all("3001" in str(e) or "429" in str(e) for e in failures)

    limited = client_with(settings, store, http, QBOLimits())
    assert [e for e in await burst(limited, company.realm_id, 30) if e is not None] == []


async def test_query_all_reads_every_page(qbo: QBOClient, company: Company) -> None:
    for n in range(7):
        await qbo.create(
            company.realm_id, q.Customer(DisplayName=f"Page Person {n}"), new_id("req")
        )
    names = [c.DisplayName async for c in qbo.query_all(company.realm_id, q.Customer, page_size=3)]
    assert names == [f"Page Person {n}" for n in range(7)]
    only = [
        c.DisplayName
        async for c in qbo.query_all(
            company.realm_id, q.Customer, where="DisplayName LIKE 'Page Person 1%'", page_size=3
        )
    ]
    assert only == ["Page Person 1"]


async def test_batch_answers_each_item_with_its_entity_or_its_fault(
    qbo: QBOClient, company: Company
) -> None:
    results = await qbo.batch(
        company.realm_id,
        [
            BatchItem("1", "create", q.Customer(DisplayName="Batch One")),
            BatchItem("2", "create", q.Customer(DisplayName="batch one")),
            BatchItem("3", query="SELECT * FROM Customer WHERE DisplayName = 'Batch One'"),
        ],
        request_id=new_id("b"),
    )
    assert [r.batch_id for r in results] == ["1", "2", "3"]
    assert results[0].error is None and results[0].answer["Customer"]["DisplayName"] == "Batch One"
    assert isinstance(results[1].error, DuplicateNameError)
    assert len(results[2].answer["QueryResponse"]["Customer"]) == 1
    with pytest.raises(ValueError, match=r"1\.\.30"):
        await qbo.batch(
            company.realm_id,
            [BatchItem(str(n), query="SELECT * FROM Item") for n in range(31)],
            "x",
        )


def activity_env(workflow_id: str, attempt: int = 1) -> ActivityEnvironment:
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, workflow_id=workflow_id, activity_id="7", attempt=attempt
    )
    return env


def jane(customer_id: str) -> EnsureCustomerInput:
    return EnsureCustomerInput(
        company_id="", customer=Customer(id=customer_id, first_name="Jane", last_name="Roe")
    )


@pytest.fixture
def customers(store: Store, qbo: QBOClient) -> CustomerActivities:
    return CustomerActivities(Deps(store=store, qbo=qbo))


async def test_a_create_whose_reply_is_lost_is_made_once_with_the_same_requestid(
    customers: CustomerActivities,
    company: Company,
    qbo: QBOClient,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    await set_faults(
        http,
        sandbox_url,
        company.realm_id,
        kind="drop_after_commit",
        path="customer",
        method="POST",
    )
    arg = jane(new_id("cust")).model_copy(update={"company_id": company.company_id})
    with pytest.raises(ApplicationError) as lost:
        await activity_env("wf-lost-reply", attempt=1).run(customers.ensure_customer, arg)
    assert not lost.value.non_retryable  # Temporal will retry it
    outcome = await activity_env("wf-lost-reply", attempt=4).run(customers.ensure_customer, arg)
    assert outcome.action == "created"
    rows = await qbo.query(company.realm_id, q.Customer, "SELECT * FROM Customer")
    assert [c.Id for c in rows] == [outcome.qbo_id]
    log = (await http.get(f"{sandbox_url}/__sandbox/realms/{company.realm_id}/requests")).json()[
        "requests"
    ]
    creates = [r for r in log if r["method"] == "POST" and r["path"].endswith("/customer")]
    assert len({r["request_id"] for r in creates}) == 1 and creates[-1]["replayed"] is True


@pytest.mark.parametrize(
    ("fault", "retryable", "delay"),
    [
        ({"kind": "status", "status": 503}, True, None),
        ({"kind": "throttle", "seconds": 7, "format": "xml"}, True, timedelta(seconds=7)),
        ({"kind": "drop_before"}, True, None),
    ],
)
async def test_transient_faults_become_retryable_activity_errors(
    customers: CustomerActivities,
    company: Company,
    sandbox_url: str,
    http: httpx.AsyncClient,
    fault: dict[str, object],
    retryable: bool,
    delay: timedelta | None,
) -> None:
    await set_faults(http, sandbox_url, company.realm_id, path="*", **fault)
    arg = jane(new_id("cust")).model_copy(update={"company_id": company.company_id})
    with pytest.raises(ApplicationError) as err:
        await activity_env(new_id("wf")).run(customers.ensure_customer, arg)
    assert err.value.non_retryable is not retryable
    assert err.value.next_retry_delay == delay
    assert f"customer {arg.customer.id}" in err.value.message


async def test_a_stale_synctoken_retries_and_then_applies(
    customers: CustomerActivities,
    company: Company,
    qbo: QBOClient,
    sandbox_url: str,
    http: httpx.AsyncClient,
) -> None:
    arg = jane(new_id("cust")).model_copy(update={"company_id": company.company_id})
    created = await activity_env(new_id("wf")).run(customers.ensure_customer, arg)
    await set_faults(
        http, sandbox_url, company.realm_id, kind="stale_synctoken", path="customer", method="POST"
    )
    renamed = arg.model_copy(
        update={"customer": arg.customer.model_copy(update={"last_name": "Poe"})}
    )
    wf = new_id("wf")
    with pytest.raises(ApplicationError) as err:
        await activity_env(wf, attempt=1).run(customers.ensure_customer, renamed)
    assert err.value.type == "QBOStaleObject" and not err.value.non_retryable
    await activity_env(wf, attempt=2).run(customers.ensure_customer, renamed)
    again = await qbo.read(company.realm_id, q.Customer, created.qbo_id)
    assert again.DisplayName == "Jane Poe"


async def test_permanent_faults_stop_with_the_record_and_qbo_words(
    customers: CustomerActivities, company: Company, store: Store
) -> None:
    # A link to an id QBO calls invalid (2030) fails the same way on every attempt.
    await store.save_link(
        company.company_id, company.realm_id, "customer", "cust_bad", "Customer", "abc", "0"
    )
    arg = jane("cust_bad").model_copy(update={"company_id": company.company_id})
    with pytest.raises(ApplicationError) as err:
        await activity_env(new_id("wf")).run(customers.ensure_customer, arg)
    assert err.value.non_retryable and err.value.type == "QBORejected"
    assert "customer cust_bad" in err.value.message and "2030" in err.value.message
    assert "intuit_tid" in err.value.message
