"""QBO request budgets that every worker and API process draws from, per realm, in the service
store: a log of grants, each the earliest moment at or after the realm's latest one that keeps
QBO's sliding windows (exact, since one transaction per grant is serialized by the realm's budget
row), and a lease row per request in flight, its slot: renewed by its process while the request is in
flight, so a dead process's slots come back within one short lease.

Why so: the store is what every process shares (a counter in each of N processes lets N times the
limit through); the database's clock is one clock for every host; slots are rows inserted while
fewer than the limit are live, not numbered rows claimed by UPDATE, so a changed limit applies at
once and a free slot is just a missing row.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TypeVar

from sqlalchemy import (
    ColumnElement,
    Float,
    String,
    bindparam,
    case,
    delete,
    func,
    insert,
    literal_column,
    select,
    update,
)
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Index, SQLModel, col

from qbo.limiter import NO_FREE_SLOT, QBOLimits, Reservation
from store.db import dialect_insert
from store.deferred import on_connection

T = TypeVar("T")

SECOND = 1.0
MINUTE = 60.0


class QBORealmBudget(SQLModel, table=True):
    """One row per realm: the lock its grants are made under."""

    realm_id: str = Field(primary_key=True, max_length=50)
    grants_made: int = 0  # bumped by every grant, which is what locks the row


class QBORequestGrant(SQLModel, table=True):
    """A request allowed to reach QBO at `granted_at` (seconds since the epoch, database clock);
    kept for the longest window, then pruned."""

    __table_args__ = (Index("ix_qborequestgrant_realm_time", "realm_id", "granted_at"),)

    id: int | None = Field(default=None, primary_key=True)
    realm_id: str = Field(max_length=50)
    granted_at: float
    batch: bool = False


class QBORequestLease(SQLModel, table=True):
    """A request in flight, holding one of its realm's slots until its reply, or `expires_at`
    (database clock), which its process pushes on while the request is in flight: a dead
    process's slot comes back once it passes."""

    holder: str = Field(primary_key=True, max_length=100)
    realm_id: str = Field(index=True, max_length=50)
    expires_at: float


def database_clock(engine: Engine) -> ColumnElement[float]:
    """Now, in seconds since the epoch, as the database tells it (the same for every host)."""
    if engine.dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())::float8")
    return literal_column("(julianday('now') - 2440587.5) * 86400.0")


# Grants per realm between two prunes. A grant older than every window changes no answer (the
# n-th latest grant is then before the window), so pruning only keeps the table small.
PRUNE_EVERY = 16


class _Statements:
    """The budget's SQL, built once per engine: a grant is on every QBO request's path, and
    building the statements each time cost more than running them (parameters are bound)."""

    def __init__(self, engine: Engine) -> None:
        now = database_clock(engine)
        realm = bindparam("realm", type_=String())
        grant, lease, budget = QBORequestGrant, QBORequestLease, QBORealmBudget
        upsert = dialect_insert(engine.dialect.name)
        self.clock = select(now)
        self.live = (
            select(func.count())
            .select_from(lease)
            .where(col(lease.realm_id) == realm, col(lease.expires_at) > now)
        )
        self.holders = select(col(lease.holder)).where(
            col(lease.realm_id) == realm, col(lease.expires_at) > now
        )
        # An upsert of the realm's row locks it until commit on Postgres, and on SQLite takes
        # the database's write lock at once; it answers how many grants the realm has had.
        self.lock = (
            upsert(budget)
            .values(realm_id=realm, grants_made=1)
            .on_conflict_do_update(
                index_elements=["realm_id"], set_={"grants_made": col(budget.grants_made) + 1}
            )
            .returning(col(budget.grants_made))
        )
        latest_first = (
            select(col(grant.granted_at))
            .where(col(grant.realm_id) == realm)
            .order_by(col(grant.granted_at).desc())
            .offset(bindparam("skip"))
            .limit(1)
        )
        self.nth_latest = latest_first
        self.nth_latest_batch = latest_first.where(col(grant.batch).is_(True))
        self.add_grant = insert(grant).values(
            realm_id=realm, granted_at=bindparam("at"), batch=bindparam("batch")
        )
        self.add_lease = insert(lease).values(
            holder=bindparam("holder"), realm_id=realm, expires_at=bindparam("expires_at")
        )
        self.prune_grants = delete(grant).where(
            col(grant.realm_id) == realm, col(grant.granted_at) < bindparam("oldest_needed")
        )
        self.prune_leases = delete(lease).where(
            col(lease.realm_id) == realm, col(lease.expires_at) <= bindparam("now")
        )
        self.release = delete(lease).where(col(lease.holder) == bindparam("holder"))
        # A lease whose request is still in flight, extended to `lease` seconds from now (never
        # shortened: a grant for a later moment counts its lease from that moment).
        renewed = now + bindparam("lease", type_=Float())
        self.renew = (
            update(lease)
            .where(col(lease.holder).in_(bindparam("holders", expanding=True)))
            .values(
                expires_at=case((col(lease.expires_at) > renewed, lease.expires_at), else_=renewed)
            )
        )


class RequestBudgets:
    """Every realm's QBO request budget (the `RequestBudget` a `qbo.RealmLimiter` draws from)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sql = _Statements(engine)

    async def _run(self, fn: Callable[[Connection], T]) -> T:
        return await on_connection(self.engine, fn)  # the attempt's write notes go first

    async def reserve(
        self, realm_id: str, holder: str, batch: bool, limits: QBOLimits
    ) -> Reservation:
        return await self._run(
            lambda connection: self._reserve(connection, realm_id, holder, batch, limits)
        )

    def _reserve(
        self, db: Connection, realm_id: str, holder: str, batch: bool, limits: QBOLimits
    ) -> Reservation:
        sql, realm = self._sql, {"realm": realm_id}
        # Looking first, without the lock, keeps waiters off it while every slot is busy.
        if db.execute(sql.live, realm).scalar_one() >= limits.concurrent_requests:
            return NO_FREE_SLOT
        db.rollback()  # the look ends here: taking the lock must open the transaction
        grants_made = int(db.execute(sql.lock, realm).scalar_one())
        now = float(db.execute(sql.clock).scalar_one())
        read_at = time.monotonic()
        if db.execute(sql.live, realm).scalar_one() >= limits.concurrent_requests:
            db.rollback()
            return NO_FREE_SLOT

        def nth_latest(n: int, batches_only: bool = False) -> float | None:
            """The n-th most recent grant: one more grant keeps an n-per-window limit once this
            one has left the window."""
            query = sql.nth_latest_batch if batches_only else sql.nth_latest
            found = db.execute(query, {"realm": realm_id, "skip": n - 1}).scalar()
            return None if found is None else float(found)

        window_margin = limits.margin_seconds
        at = max(now, nth_latest(1) or now)
        for limit, window in (
            (limits.requests_per_second, SECOND + window_margin),
            (limits.requests_per_minute, MINUTE + window_margin),
        ):
            nth = nth_latest(limit)
            if nth is not None:
                at = max(at, nth + window)
        if batch:
            nth = nth_latest(limits.batch_calls_per_minute, True)
            if nth is not None and nth + MINUTE + window_margin > at:
                # Granting it later would hold every later call back too (grants only go
                # forward): the batch call asks again when its own window opens.
                db.rollback()
                return Reservation(ask_again_at=read_at + (nth + MINUTE + window_margin - now))
        db.execute(sql.add_grant, {"realm": realm_id, "at": at, "batch": batch})
        expires_at = at + limits.lease_seconds
        db.execute(sql.add_lease, {"realm": realm_id, "holder": holder, "expires_at": expires_at})
        if grants_made % PRUNE_EVERY == 0:
            # Grants no window reaches any more, and the leases of processes that died.
            oldest_needed = now - MINUTE - window_margin
            db.execute(sql.prune_grants, {"realm": realm_id, "oldest_needed": oldest_needed})
            db.execute(sql.prune_leases, {"realm": realm_id, "now": now})
        db.commit()
        return Reservation(send_at=read_at + (at - now))

    async def release(self, holder: str) -> None:
        def work(db: Connection) -> None:
            db.execute(self._sql.release, {"holder": holder})
            db.commit()

        await self._run(work)

    async def renew(self, holders: Sequence[str], lease_seconds: float) -> None:
        def work(db: Connection) -> None:
            db.execute(self._sql.renew, {"holders": list(holders), "lease": lease_seconds})
            db.commit()

        await self._run(work)

    async def holders(self, realm_id: str) -> list[str]:
        """Who holds the realm's slots now (expired leases of dead processes left out)."""
        return await self._run(
            lambda db: [
                str(h) for h in db.execute(self._sql.holders, {"realm": realm_id}).scalars()
            ]
        )
