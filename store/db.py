"""`Store`: the async face of the service store; blocking database work runs in a thread."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, SQLModel, col, create_engine, select
from sqlmodel.sql.expression import SelectOfScalar

from store.crypto import TokenCipher
from store.tables import (
    AcceptedEvent,
    ActivityLogEntry,
    Connection,
    JournaledWrite,
    Link,
    RecordOwner,
    utcnow,
)

T = TypeVar("T")

SETTINGS_FIELDS = (
    "income_account_id",
    "deposit_account_id",
    "refund_account_id",
    "payouts_account_id",
    "fees_account_id",
)


class ConnectionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class StoredTokens:
    realm_id: str
    access_token: str
    refresh_token: str
    access_expires_at: datetime
    version: int


def make_engine(database_url: str) -> Engine:
    if database_url.startswith("sqlite"):
        path = database_url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            database_url, connect_args={"check_same_thread": False, "timeout": 30}
        )

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
            cursor = dbapi_connection.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


def aware(value: datetime) -> datetime:
    # SQLite drops the zone; every time we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def _link_query(
    company_id: str, realm_id: str, record_kind: str, record_id: str
) -> SelectOfScalar[Link]:
    return select(Link).where(
        Link.company_id == company_id,
        Link.realm_id == realm_id,
        Link.record_kind == record_kind,
        Link.record_id == record_id,
    )


class Store:
    def __init__(self, database_url: str, cipher: TokenCipher) -> None:
        self.engine = make_engine(database_url)
        self._cipher = cipher

    @property
    def cipher(self) -> TokenCipher:
        return self._cipher

    def create_all(self) -> None:
        SQLModel.metadata.create_all(self.engine)

    async def _run(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    # Connections ---------------------------------------------------------------------------

    async def save_connection(
        self,
        company_id: str,
        realm_id: str,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        refresh_expires_in: int | None = None,
    ) -> Connection:
        """Store (or replace) a company's connection after the OAuth code exchange."""

        def work(session: Session) -> Connection:
            now = utcnow()
            conn = session.get(Connection, company_id)
            if conn is None:
                conn = Connection(
                    company_id=company_id,
                    realm_id=realm_id,
                    access_token_enc="",
                    refresh_token_enc="",
                    access_expires_at=now,
                )
            conn.realm_id = realm_id
            conn.status = "connected"
            conn.status_reason = None
            conn.access_token_enc = self._cipher.encrypt(access_token)
            conn.refresh_token_enc = self._cipher.encrypt(refresh_token)
            conn.access_expires_at = now + timedelta(seconds=expires_in)
            conn.refresh_expires_at = (
                now + timedelta(seconds=refresh_expires_in) if refresh_expires_in else None
            )
            conn.token_version += 1
            conn.connected_at = now
            conn.updated_at = now
            session.add(conn)
            session.commit()
            return conn

        return await self._run(work)

    async def get_connection(self, company_id: str) -> Connection | None:
        return await self._run(lambda s: s.get(Connection, company_id))

    async def update_settings(self, company_id: str, **changes: Any) -> Connection:
        """Change the account mapping and the sync switch; switching sync on sets the sync start."""

        def work(session: Session) -> Connection:
            conn = session.get(Connection, company_id)
            if conn is None:
                raise ConnectionNotFound(company_id)
            for name in SETTINGS_FIELDS:
                if name in changes:
                    setattr(conn, name, changes[name])
            if "sync_enabled" in changes:
                enabled = bool(changes["sync_enabled"])
                if enabled and not conn.sync_enabled:
                    conn.sync_started_at = utcnow()
                conn.sync_enabled = enabled
            conn.updated_at = utcnow()
            session.add(conn)
            session.commit()
            return conn

        return await self._run(work)

    async def disconnect(self, company_id: str) -> Connection:
        """Stop syncing and forget the tokens; links and the activity log stay."""

        def work(session: Session) -> Connection:
            conn = session.get(Connection, company_id)
            if conn is None:
                raise ConnectionNotFound(company_id)
            conn.status = "disconnected"
            conn.status_reason = "disconnected by the company"
            conn.sync_enabled = False
            conn.access_token_enc = ""
            conn.refresh_token_enc = ""
            conn.updated_at = utcnow()
            session.add(conn)
            session.commit()
            return conn

        return await self._run(work)

    # Tokens (used by the QBO client through activities.tokens) -------------------------------

    async def load_tokens(self, realm_id: str) -> StoredTokens:
        def work(session: Session) -> StoredTokens:
            conn = session.exec(select(Connection).where(Connection.realm_id == realm_id)).first()
            if conn is None:
                raise ConnectionNotFound(realm_id)
            return StoredTokens(
                realm_id=realm_id,
                access_token=self._cipher.decrypt(conn.access_token_enc),
                refresh_token=self._cipher.decrypt(conn.refresh_token_enc),
                access_expires_at=aware(conn.access_expires_at),
                version=conn.token_version,
            )

        return await self._run(work)

    async def save_tokens(
        self,
        realm_id: str,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        refresh_expires_in: int | None,
    ) -> None:
        """Keep the newest (rotated) refresh token; one transaction so no token is ever lost."""

        def work(session: Session) -> None:
            conn = session.exec(select(Connection).where(Connection.realm_id == realm_id)).one()
            now = utcnow()
            conn.access_token_enc = self._cipher.encrypt(access_token)
            conn.refresh_token_enc = self._cipher.encrypt(refresh_token)
            conn.access_expires_at = now + timedelta(seconds=expires_in)
            if refresh_expires_in:
                conn.refresh_expires_at = now + timedelta(seconds=refresh_expires_in)
            conn.token_version += 1
            conn.updated_at = now
            session.add(conn)
            session.commit()

        await self._run(work)

    async def mark_reconnect_required(self, realm_id: str, reason: str) -> None:
        def work(session: Session) -> None:
            conn = session.exec(select(Connection).where(Connection.realm_id == realm_id)).first()
            if conn is not None:
                conn.status = "reconnect_required"
                conn.status_reason = reason
                conn.updated_at = utcnow()
                session.add(conn)
                session.commit()

        await self._run(work)

    # Links --------------------------------------------------------------------------------

    async def get_link(
        self, company_id: str, realm_id: str, record_kind: str, record_id: str
    ) -> Link | None:
        return await self._run(
            lambda s: s.exec(_link_query(company_id, realm_id, record_kind, record_id)).first()
        )

    async def save_link(
        self,
        company_id: str,
        realm_id: str,
        record_kind: str,
        record_id: str,
        qbo_type: str,
        qbo_id: str,
        sync_token: str | None,
    ) -> Link:
        def work(session: Session) -> Link:
            link = session.exec(_link_query(company_id, realm_id, record_kind, record_id)).first()
            if link is None:
                link = Link(
                    company_id=company_id,
                    realm_id=realm_id,
                    record_kind=record_kind,
                    record_id=record_id,
                    qbo_type=qbo_type,
                    qbo_id=qbo_id,
                )
            link.qbo_type = qbo_type
            link.qbo_id = qbo_id
            link.sync_token = sync_token
            link.updated_at = utcnow()
            session.add(link)
            session.commit()
            return link

        return await self._run(work)

    async def delete_link(
        self, company_id: str, realm_id: str, record_kind: str, record_id: str
    ) -> None:
        def work(session: Session) -> None:
            link = session.exec(_link_query(company_id, realm_id, record_kind, record_id)).first()
            if link is not None:
                session.delete(link)
                session.commit()

        await self._run(work)

    # Accepted events ----------------------------------------------------------------------

    async def accept_event(
        self, accepted: AcceptedEvent, owners: Sequence[tuple[str, str, str]] = ()
    ) -> tuple[AcceptedEvent, bool]:
        """Record an event once, with the (kind, id, customer) ownership facts it establishes.

        Returns (the stored row, True if this call stored it).
        """

        def work(session: Session) -> tuple[AcceptedEvent, bool]:
            session.add(accepted)
            for kind, record_id, customer_id in owners:
                session.merge(
                    RecordOwner(
                        company_id=accepted.company_id,
                        record_kind=kind,
                        record_id=record_id,
                        customer_id=customer_id,
                    )
                )
            try:
                session.commit()
                return accepted, True
            except IntegrityError:
                session.rollback()
                existing = session.get(AcceptedEvent, accepted.event_id)
                if existing is None:  # pragma: no cover - the conflicting row vanished
                    raise
                return existing, False

        return await self._run(work)

    async def owners(
        self, company_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        def work(session: Session) -> dict[tuple[str, str], str]:
            found = {}
            for kind, record_id in keys:
                row = session.get(RecordOwner, (company_id, kind, record_id))
                if row is not None:
                    found[(kind, record_id)] = row.customer_id
            return found

        return await self._run(work)

    async def get_event(self, event_id: str) -> AcceptedEvent | None:
        return await self._run(lambda s: s.get(AcceptedEvent, event_id))

    async def forget_event(self, event_id: str) -> None:
        """Undo `accept_event` when the workflow could not be started (the sender may retry)."""

        def work(session: Session) -> None:
            row = session.get(AcceptedEvent, event_id)
            if row is not None:
                session.delete(row)
                session.commit()

        await self._run(work)

    # Activity log -------------------------------------------------------------------------

    async def append_activity(self, entry: ActivityLogEntry) -> bool:
        """Append one log line; a repeat of the same `entry_key` is ignored (returns False)."""

        def work(session: Session) -> bool:
            session.add(entry)
            try:
                session.commit()
                return True
            except IntegrityError:
                session.rollback()
                return False

        return await self._run(work)

    async def list_activity(
        self, company_id: str, limit: int = 50, before: datetime | None = None
    ) -> list[ActivityLogEntry]:
        def work(session: Session) -> list[ActivityLogEntry]:
            query = select(ActivityLogEntry).where(ActivityLogEntry.company_id == company_id)
            if before is not None:
                query = query.where(ActivityLogEntry.at < before)
            query = query.order_by(
                col(ActivityLogEntry.at).desc(), col(ActivityLogEntry.id).desc()
            ).limit(limit)
            return list(session.exec(query).all())

        return await self._run(work)

    async def activity_for_workflow(self, workflow_id: str) -> list[ActivityLogEntry]:
        return await self._run(
            lambda s: list(
                s.exec(
                    select(ActivityLogEntry)
                    .where(ActivityLogEntry.workflow_id == workflow_id)
                    .order_by(col(ActivityLogEntry.id))
                ).all()
            )
        )

    # Write journal (activities/journal.py) ---------------------------------------------------

    async def get_journaled_write(self, realm_id: str, journal_key: str) -> JournaledWrite | None:
        return await self._run(lambda s: s.get(JournaledWrite, (realm_id, journal_key)))

    async def note_write_sent(self, entry: JournaledWrite) -> JournaledWrite:
        """Note a write about to be sent; a note already there (an earlier attempt's) is kept."""

        def work(session: Session) -> JournaledWrite:
            session.add(entry)
            try:
                session.commit()
                return entry
            except IntegrityError:
                session.rollback()
                existing = session.get(JournaledWrite, (entry.realm_id, entry.journal_key))
                if existing is None:  # pragma: no cover - the conflicting row vanished
                    raise
                return existing

        return await self._run(work)

    async def note_write_done(self, realm_id: str, journal_key: str, outcome: str) -> None:
        def work(session: Session) -> None:
            entry = session.get(JournaledWrite, (realm_id, journal_key))
            if entry is not None:
                entry.outcome = outcome
                entry.done_at = utcnow()
                session.add(entry)
                session.commit()

        await self._run(work)

    async def forget_write(self, realm_id: str, journal_key: str) -> None:
        """QBO refused the write, so nothing was written: the next attempt plans it afresh."""

        def work(session: Session) -> None:
            entry = session.get(JournaledWrite, (realm_id, journal_key))
            if entry is not None:
                session.delete(entry)
                session.commit()

        await self._run(work)
