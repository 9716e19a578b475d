"""The store under concurrent writers, on a SQLite file and on a real Postgres: every writer is a
thread with its own engine (as separate processes would have), all released at the same instant."""

from __future__ import annotations

import asyncio
import threading
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import TypeVar

import pytest
from cryptography.fernet import Fernet
from sqlalchemy import event
from sqlmodel import Session, select

from qbo import wire
from store import LinkState, Store, TokenCipher, deferred, kept
from store.tables import AcceptedEvent, ActivityLogEntry, Link, RecordOwner

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


async def test_a_payment_link_and_its_invoice_balance_are_written_together(store: Store) -> None:
    invoice = {"balance": "120.00", "customer_qbo_id": "3"}
    await store.save_link("co_1", "realm_1", "invoice", "inv_1", "Invoice", "9", "0", state=invoice)
    moved = LinkState("invoice", "inv_1", invoice | {"balance": "20.00"})

    await store.save_link(
        "co_1", "realm_1", "payment", "pay_1", "Payment", "11", "0", state={}, also=[moved]
    )
    linked = await store.get_link("co_1", "realm_1", "invoice", "inv_1")
    assert linked is not None and linked.state is not None
    assert wire.loads(linked.state)["balance"] == "20.00"

    reopened = LinkState("invoice", "inv_1", invoice)
    await store.delete_link("co_1", "realm_1", "payment", "pay_1", also=[reopened])
    assert await store.get_link("co_1", "realm_1", "payment", "pay_1") is None
    linked = await store.get_link("co_1", "realm_1", "invoice", "inv_1")
    assert linked is not None and linked.state is not None
    assert wire.loads(linked.state)["balance"] == "120.00"


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
    # What the API looks at before accepting the next event, in the same trip as storing it.
    keys = [("invoice", "inv_1"), ("credit", "cr_9")]
    looked, accepted_now = await store.admit("evt_0", "co_1", keys, lambda _looked: None)
    assert looked.known is not None and looked.known.record_id == "pay_1"
    assert looked.owners == {("invoice", "inv_1"): "cus_1"}
    assert looked.connection is None  # no company connected in this test
    assert accepted_now is None  # nothing asked to be stored
    new_one, _ = await store.admit("evt_new", "co_1", [], lambda _looked: None)
    assert new_one.known is None


async def test_one_event_sent_many_times_at_once_is_stored_exactly_once(
    database_url: str, key: str, store: Store
) -> None:
    event_id = f"evt_{uuid.uuid4().hex[:8]}"
    owners = [("payment", "pay_1", "cus_1")]

    async def admit(s: Store) -> tuple[AcceptedEvent, bool]:
        """As the API does: looked at, then stored unless already known, in one trip."""
        looked, accepted_now = await s.admit(
            event_id,
            "co_1",
            [("payment", "pay_1")],
            lambda looked: None if looked.known else (accepted(event_id, "pay_1"), owners),
        )
        if looked.known is not None:
            return looked.known, False
        assert accepted_now is not None
        return accepted_now

    results = at_once(database_url, key, WRITERS, lambda s, n: admit(s))

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


async def connected(store: Store) -> int:
    conn = await store.save_connection("co_1", "realm_1", "at-0", "rt-0", 3600, 8_726_400)
    return conn.token_version


async def test_only_one_process_claims_the_refresh_of_one_token_version(
    database_url: str, key: str, store: Store
) -> None:
    version = await connected(store)

    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.claim_refresh("realm_1", version, f"owner-{n}", timedelta(seconds=30)),
    )

    assert failures(results) == []
    assert answers(results).count(True) == 1


async def test_a_refresh_lease_whose_owner_died_can_be_taken_over(store: Store) -> None:
    version = await connected(store)
    assert await store.claim_refresh("realm_1", version, "dead", timedelta(milliseconds=50))
    assert not await store.claim_refresh("realm_1", version, "alive", timedelta(seconds=30))

    await asyncio.sleep(0.1)

    assert await store.claim_refresh("realm_1", version, "alive", timedelta(seconds=30))


async def test_tokens_refreshed_from_one_version_are_saved_exactly_once(
    database_url: str, key: str, store: Store
) -> None:
    version = await connected(store)

    results = at_once(
        database_url,
        key,
        WRITERS,
        lambda s, n: s.save_tokens("realm_1", f"at-{n}", f"rt-{n}", 3600, None, version),
    )

    assert failures(results) == []
    assert answers(results).count(True) == 1
    tokens = await store.load_tokens("realm_1")
    assert tokens.version == version + 1
    assert tokens.access_token.removeprefix("at-") == tokens.refresh_token.removeprefix("rt-")


async def test_a_stale_refusal_never_marks_a_refreshed_company_for_reconnection(
    store: Store,
) -> None:
    version = await connected(store)
    assert await store.save_tokens("realm_1", "at-1", "rt-1", 3600, None, version)

    assert not await store.mark_reconnect_required("realm_1", "refused", version)

    conn = await store.get_connection("co_1")
    assert conn is not None and conn.status == "connected"
    assert await store.mark_reconnect_required("realm_1", "refused", version + 1)
    conn = await store.get_connection("co_1")
    assert conn is not None and conn.status == "reconnect_required"


async def test_an_attempt_reads_its_connection_and_links_ahead_in_one_read(store: Store) -> None:
    await store.save_connection("co_1", "realm_1", "access", "refresh", 3600)
    await store.save_link("co_1", "realm_1", "customer", "cus_1", "Customer", "3", "0")
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))

    with kept.reads_kept():
        await store.read_ahead("co_1", [("customer", "cus_1"), ("invoice", "inv_1")])
        read_ahead = len(statements)
        conn = await store.get_connection("co_1")
        links = await store.get_links(
            "co_1", "realm_1", [("customer", "cus_1"), ("invoice", "inv_1")]
        )

    assert read_ahead == 2  # the connection, then its realm's links
    assert len(statements) == read_ahead  # the steps asked the database for nothing more
    assert conn is not None and conn.realm_id == "realm_1"
    assert [link.qbo_id if link else None for link in links] == ["3", None]


def log_line(key: str, outcome: str, message: str) -> ActivityLogEntry:
    return ActivityLogEntry(
        entry_key=key,
        company_id="co_1",
        record_type="payment",
        record_id="pay_1",
        action="record",
        outcome=outcome,
        message=message,
        workflow_id="wf_1",
        event_id="evt_1",
    )


@pytest.mark.parametrize("deferred_to_next_write", [False, True])
async def test_a_closing_line_with_the_next_write_is_written_once_and_settles_the_event(
    store: Store, deferred_to_next_write: bool
) -> None:
    await store.append_activity(log_line("wf_0/1", "failed", "QuickBooks refused it"))
    await store.note_retrying(log_line("wf_1/retrying", "retrying", "503 (attempt 1 failed)"))
    closing = log_line("run_1/closing", "success", "Payment $40.00 applied in QuickBooks")

    async def close_twice() -> None:
        await store.close_with_next_write(closing, resolves=True)
        await store.close_with_next_write(closing, resolves=True)  # a retried attempt
        assert deferred.pending() is deferred_to_next_write  # waiting for the next write
        await store.mark_dispatched("evt_x")  # the attempt's next write carries them
        assert not deferred.pending()
        await store.flush_deferred()

    if deferred_to_next_write:
        with deferred.writes_deferred():
            await close_twice()
    else:
        await close_twice()

    lines = await store.list_activity("co_1")
    assert sorted((x.outcome, x.resolved) for x in lines) == [
        ("failed", True),  # the event's earlier failure, resolved by its success
        ("success", False),  # once; the retrying line gave way to it
    ]
