"""QBO request budgets that every worker and API process draws from, per realm, in the service
store: a log of grants, each the earliest moment at or after the realm's latest one that keeps
QBO's sliding windows (exact, since one transaction per grant is serialized by the realm's budget
row), and a lease row per request in flight, its slot (a dead process's lease expires).

Why so: the store is what every process shares (a counter in each of N processes lets N times the
limit through); the database's clock is one clock for every host; slots are rows inserted while
fewer than the limit are live, not numbered rows claimed by UPDATE, so a changed limit applies at
once and a free slot is just a missing row.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import ColumnElement, delete, func, literal_column
from sqlalchemy.engine import Engine
from sqlmodel import Field, Index, Session, SQLModel, col, select

from qbo.limiter import NO_FREE_SLOT, QBOLimits, Reservation
from store.db import _insert

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
    (database clock) if its process died."""

    holder: str = Field(primary_key=True, max_length=100)
    realm_id: str = Field(index=True, max_length=50)
    expires_at: float


def database_clock(engine: Engine) -> ColumnElement[float]:
    """Now, in seconds since the epoch, as the database tells it (the same for every host)."""
    if engine.dialect.name == "postgresql":
        return literal_column("extract(epoch from clock_timestamp())::float8")
    return literal_column("(julianday('now') - 2440587.5) * 86400.0")


class RequestBudgets:
    """Every realm's QBO request budget (the `RequestBudget` a `qbo.RealmLimiter` draws from)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._now = database_clock(engine)

    async def _run(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    async def reserve(
        self, realm_id: str, holder: str, batch: bool, limits: QBOLimits
    ) -> Reservation:
        return await self._run(
            lambda session: self._reserve(session, realm_id, holder, batch, limits)
        )

    def _reserve(
        self, session: Session, realm_id: str, holder: str, batch: bool, limits: QBOLimits
    ) -> Reservation:
        # Looking first, without the lock, keeps waiters off it while every slot is busy.
        if self._live_leases(session, realm_id) >= limits.concurrent_requests:
            return NO_FREE_SLOT
        session.rollback()  # the look ends here: taking the lock must open the transaction
        self._lock_realm(session, realm_id)
        now = float(session.exec(select(self._now)).one())
        read_at = time.monotonic()
        if self._live_leases(session, realm_id) >= limits.concurrent_requests:
            session.rollback()
            return NO_FREE_SLOT
        window_margin = limits.margin_seconds
        at = max(now, self._nth_latest_grant(session, realm_id, 1) or now)
        for limit, window in (
            (limits.requests_per_second, SECOND + window_margin),
            (limits.requests_per_minute, MINUTE + window_margin),
        ):
            nth = self._nth_latest_grant(session, realm_id, limit)
            if nth is not None:
                at = max(at, nth + window)
        if batch:
            nth = self._nth_latest_grant(session, realm_id, limits.batch_calls_per_minute, True)
            if nth is not None and nth + MINUTE + window_margin > at:
                # Granting it later would hold every later call back too (grants only go
                # forward): the batch call asks again when its own window opens.
                session.rollback()
                return Reservation(ask_again_at=read_at + (nth + MINUTE + window_margin - now))
        session.add(QBORequestGrant(realm_id=realm_id, granted_at=at, batch=batch))
        expires_at = at + limits.lease_seconds
        session.add(QBORequestLease(holder=holder, realm_id=realm_id, expires_at=expires_at))
        self._prune(session, realm_id, now, now - MINUTE - window_margin)
        session.commit()
        return Reservation(send_at=read_at + (at - now))

    @staticmethod
    def _lock_realm(session: Session, realm_id: str) -> None:
        """Serialize the realm's grants: an upsert of its row locks that row until commit on
        Postgres, and on SQLite takes the database's write lock at once (reads before a write
        could otherwise see a state another writer changes before this one commits)."""
        session.exec(
            _insert(session, QBORealmBudget)
            .values(realm_id=realm_id, grants_made=1)
            .on_conflict_do_update(
                index_elements=["realm_id"],
                set_={"grants_made": col(QBORealmBudget.grants_made) + 1},
            )
        )

    @staticmethod
    def _prune(session: Session, realm_id: str, now: float, oldest_needed: float) -> None:
        """Drop grants no window reaches any more, and the leases of processes that died."""
        session.exec(
            delete(QBORequestGrant).where(
                col(QBORequestGrant.realm_id) == realm_id,
                col(QBORequestGrant.granted_at) < oldest_needed,
            )
        )
        session.exec(
            delete(QBORequestLease).where(
                col(QBORequestLease.realm_id) == realm_id,
                col(QBORequestLease.expires_at) <= now,
            )
        )

    @staticmethod
    def _nth_latest_grant(
        session: Session, realm_id: str, n: int, batches_only: bool = False
    ) -> float | None:
        """The n-th most recent grant: one more grant keeps an n-per-window limit once this one
        has left the window."""
        query = select(QBORequestGrant.granted_at).where(QBORequestGrant.realm_id == realm_id)
        if batches_only:
            query = query.where(col(QBORequestGrant.batch).is_(True))
        latest_first = query.order_by(col(QBORequestGrant.granted_at).desc()).offset(n - 1).limit(1)
        return session.exec(latest_first).first()

    def _live_leases(self, session: Session, realm_id: str) -> int:
        counted = (
            select(func.count())
            .select_from(QBORequestLease)
            .where(
                col(QBORequestLease.realm_id) == realm_id,
                col(QBORequestLease.expires_at) > self._now,
            )
        )
        return int(session.exec(counted).one())

    async def release(self, holder: str) -> None:
        def work(session: Session) -> None:
            session.exec(delete(QBORequestLease).where(col(QBORequestLease.holder) == holder))
            session.commit()

        await self._run(work)

    async def holders(self, realm_id: str) -> list[str]:
        """Who holds the realm's slots now (expired leases of dead processes left out)."""

        def work(session: Session) -> list[str]:
            live = select(QBORequestLease.holder).where(
                col(QBORequestLease.realm_id) == realm_id,
                col(QBORequestLease.expires_at) > self._now,
            )
            return list(session.exec(live).all())

        return await self._run(work)
