"""The store under concurrent writers, on a SQLite file and on a real Postgres: every writer is a
thread with its own engine (as separate processes would have), all released at the same instant."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from typing import TypeVar

import pytest
from cryptography.fernet import Fernet
from sqlmodel import Session, select

from store import Store, TokenCipher
from store.tables import AcceptedEvent, Link, RecordOwner

T = TypeVar("T")
WRITERS = 12


def at_once(
    database_url: str, key: str, count: int, write: Callable[[Store, int], Awaitable[T]]
) -> list[T | BaseException]:
    """Run `write(store, n)` in `count` threads, each with its own Store, released together."""
    stores = [Store(database_url, TokenCipher(key)) for _ in range(count)]
    for store in stores:
        with store.engine.connect():  # open the connections before the start line
            pass
    start = threading.Barrier(count)
    results: list[T | BaseException] = [RuntimeError("did not run")] * count

    def run(n: int) -> None:
        async def one() -> T:
            start.wait()
            return await write(stores[n], n)

        try:
            results[n] = asyncio.run(one())
        except BaseException as exc:
            results[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    for store in stores:
        store.engine.dispose()
    return results


def failures(results: list[T | BaseException]) -> list[BaseException]:
    return [r for r in results if isinstance(r, BaseException)]


def answers(results: list[T | BaseException]) -> list[T]:
    return [r for r in results if not isinstance(r, BaseException)]


@pytest.fixture
def key() -> str:
    return Fernet.generate_key().decode()


@pytest.fixture
def store(database_url: str, key: str) -> Store:
    the_store = Store(database_url, TokenCipher(key))
    the_store.create_all()
    return the_store


def accepted(event_id: str, record_id: str) -> AcceptedEvent:
    return AcceptedEvent(
        event_id=event_id,
        company_id="co_1",
        type="payment.recorded",
        record_kind="payment",
        record_id=record_id,
        workflow_id=f"wf-{event_id}",
    )


@pytest.mark.parametrize("product_id", ["prod_chlorine", "prod_acid", "prod_tabs"])
async def test_many_writers_saving_one_link_at_once_leave_one_row_and_no_error(
    database_url: str, key: str, store: Store, product_id: str
) -> None:
    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.save_link("co_1", "realm_1", "product", product_id, "Item", "7", str(n)),
    )

    assert failures(results) == []
    with Session(store.engine) as session:
        rows = session.exec(select(Link)).all()
    assert len(rows) == 1
    assert (rows[0].record_id, rows[0].qbo_type, rows[0].qbo_id) == (product_id, "Item", "7")
    # Each writer got the row back as it left it (its own sync token, the same row id).
    assert {link.sync_token for link in answers(results)} == {str(n) for n in range(WRITERS)}
    assert {link.id for link in answers(results)} == {rows[0].id}


async def test_a_saved_link_is_updated_in_place(store: Store) -> None:
    first = await store.save_link("co_1", "realm_1", "customer", "cus_1", "Customer", "3", "0")
    second = await store.save_link("co_1", "realm_1", "customer", "cus_1", "Customer", "3", "1")

    assert second.id == first.id
    found = await store.get_link("co_1", "realm_1", "customer", "cus_1")
    assert found is not None and found.sync_token == "1"


async def test_first_events_of_one_record_arriving_at_once_are_all_stored(
    database_url: str, key: str, store: Store
) -> None:
    owners = [("payment", "pay_1", "cus_1"), ("invoice", "inv_1", "cus_1")]

    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.accept_event(accepted(f"evt_{n}", "pay_1"), owners),
    )

    assert failures(results) == []
    assert [stored for _row, stored in answers(results)] == [True] * WRITERS
    with Session(store.engine) as session:
        assert len(session.exec(select(AcceptedEvent)).all()) == WRITERS
        assert len(session.exec(select(RecordOwner)).all()) == 2
    assert await store.owners("co_1", [("payment", "pay_1"), ("invoice", "inv_1")]) == {
        ("payment", "pay_1"): "cus_1",
        ("invoice", "inv_1"): "cus_1",
    }


async def test_one_event_sent_many_times_at_once_is_stored_exactly_once(
    database_url: str, key: str, store: Store
) -> None:
    event_id = f"evt_{uuid.uuid4().hex[:8]}"

    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.accept_event(accepted(event_id, "pay_1"), [("payment", "pay_1", "cus_1")]),
    )

    assert failures(results) == []
    assert [stored for _row, stored in answers(results)].count(True) == 1
    assert {row.event_id for row, _stored in answers(results)} == {event_id}


async def test_a_repeated_event_answers_the_row_first_stored(store: Store) -> None:
    owners = [("payment", "pay_1", "cus_1")]
    first, stored = await store.accept_event(accepted("evt_1", "pay_1"), owners)
    again, stored_again = await store.accept_event(accepted("evt_1", "pay_2"), owners)

    assert (stored, stored_again) == (True, False)
    assert again.record_id == first.record_id == "pay_1"


async def test_connecting_one_company_from_two_callbacks_at_once_keeps_one_connection(
    database_url: str, key: str, store: Store
) -> None:
    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.save_connection("co_1", "realm_1", f"at-{n}", f"rt-{n}", 3600, 8_726_400),
    )

    assert failures(results) == []
    tokens = await store.load_tokens("realm_1")
    # Every save moved the version once, and the tokens kept are one writer's pair.
    assert tokens.version == WRITERS
    assert tokens.access_token.removeprefix("at-") == tokens.refresh_token.removeprefix("rt-")
