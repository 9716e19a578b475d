"""`Store`: the async face of the service store; blocking database work runs in a thread."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, ParamSpec, TypeVar

from sqlalchemy import bindparam, case, delete, event, insert, inspect, or_, text, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection as Database
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlmodel import Session, SQLModel, col, create_engine, select
from sqlmodel.sql.expression import SelectOfScalar

from qbo import wire
from store import deferred, kept
from store.api_keys import ApiKeys
from store.crypto import TokenCipher
from store.tables import (
    AcceptedEvent,
    ActivityLogEntry,
    Connection,
    JournaledWrite,
    Link,
    Reconciliation,
    RecordOwner,
    utcnow,
)
from store.tables import (
    aware as aware,  # re-exported: callers read it from store.db
)

T = TypeVar("T")
P = ParamSpec("P")

SETTINGS_FIELDS = (
    "income_account_id",
    "deposit_account_id",
    "refund_account_id",
    "payouts_account_id",
    "fees_account_id",
    "inventory_asset_account_id",
    "cogs_account_id",
)


class ConnectionNotFound(LookupError):
    pass


@dataclass(frozen=True)
class LinkState:
    """What another link of the same company now knows of its QBO record, written in the same
    transaction as a link saved or deleted (a payment and its invoice's open balance)."""

    record_kind: str
    record_id: str
    state: dict[str, Any]


# An event to store, with the (kind, id, customer) ownership facts it establishes.
Accepting = tuple[AcceptedEvent, Sequence[tuple[str, str, str]]]


@dataclass(frozen=True)
class Admission:
    """What accepting an event looks at before storing it, read together: the event if it was
    accepted before, its company's connection, and the owners of the records it names."""

    known: AcceptedEvent | None
    connection: Connection | None
    owners: dict[tuple[str, str], str]


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
            # Synced at checkpoints, not at every commit: a killed process loses nothing, a
            # power cut may lose the last commits (the QBO requestids make redoing them safe).
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        return engine
    return create_engine(database_url, pool_pre_ping=True)


def _admission(
    db: Database, event_id: str, company_id: str, owner_keys: Sequence[tuple[str, str]]
) -> Admission:
    known = db.execute(_ACCEPTED, {"event": event_id}).first()
    connection = db.execute(_CONNECTION, {"company": company_id}).first()
    return Admission(
        known=None if known is None else AcceptedEvent(**known._mapping),
        connection=None if connection is None else Connection(**connection._mapping),
        owners=_owners(db, company_id, owner_keys),
    )


def _owners(
    db: Database, company_id: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], str]:
    """Which customer owns each (kind, record id) the store has seen; unknown ones left out."""
    found = {}
    for kind, record_id in keys:
        owner = {"company": company_id, "kind": kind, "record": record_id}
        if (customer_id := db.execute(_OWNER, owner).scalar()) is not None:
            found[(kind, record_id)] = str(customer_id)
    return found


def _state_values(company_id: str, realm_id: str, change: LinkState) -> dict[str, Any]:
    return {
        "company": company_id,
        "realm": realm_id,
        "kind": change.record_kind,
        "record": change.record_id,
        "new_state": wire.dumps(change.state),
        "at": utcnow(),
    }


def _forget_states(company_id: str, realm_id: str, changes: Sequence[LinkState]) -> None:
    for change in changes:
        kept.forget_link((company_id, realm_id, change.record_kind, change.record_id))


def _link_filter(company_id: str, realm_id: str, record_kind: str, record_id: str) -> list[Any]:
    return [
        col(Link.company_id) == company_id,
        col(Link.realm_id) == realm_id,
        col(Link.record_kind) == record_kind,
        col(Link.record_id) == record_id,
    ]


def _link_query(
    company_id: str, realm_id: str, record_kind: str, record_id: str
) -> SelectOfScalar[Link]:
    return select(Link).where(*_link_filter(company_id, realm_id, record_kind, record_id))


def _add_once(session: Session, entry: ActivityLogEntry) -> bool:
    """Add the line and commit the transaction; a line of that `entry_key` already there rolls
    it all back (returns False)."""
    session.add(entry)
    try:
        session.commit()
        return True
    except IntegrityError:
        session.rollback()
        return False


def dialect_insert(dialect: str) -> Callable[..., Any]:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and Postgres spell it alike)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


def _insert(session: Session, table: type[SQLModel]) -> Any:
    return dialect_insert(session.get_bind().dialect.name)(table)


def _writes_connection(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """A write to a connection row: connections kept for the running attempt are read again."""

    @functools.wraps(method)
    async def writing(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        finally:
            kept.forget_connections()

    return writing


# What saving a link changes in a link already there.
LINK_CHANGES = ("qbo_type", "qbo_id", "sync_token", "fingerprint", "state", "updated_at")

# The hot path's statements (every event or QBO write runs them), built once.
_ACCEPTED = select(AcceptedEvent).where(col(AcceptedEvent.event_id) == bindparam("event"))
_MARK_DISPATCHED = (
    update(AcceptedEvent)
    .where(
        col(AcceptedEvent.event_id) == bindparam("event"),
        col(AcceptedEvent.dispatched_at).is_(None),
    )
    .values(dispatched_at=bindparam("at"))
)
_OWNER = select(col(RecordOwner.customer_id)).where(
    col(RecordOwner.company_id) == bindparam("company"),
    col(RecordOwner.record_kind) == bindparam("kind"),
    col(RecordOwner.record_id) == bindparam("record"),
)
_DROP_RETRYING = delete(ActivityLogEntry).where(col(ActivityLogEntry.entry_key) == bindparam("key"))
_RESOLVE_FAILED = (
    update(ActivityLogEntry)
    .where(
        col(ActivityLogEntry.event_id) == bindparam("event"),
        col(ActivityLogEntry.outcome) == "failed",
        col(ActivityLogEntry.resolved).is_(False),
    )
    .values(resolved=True)
)
_CONNECTION = select(Connection).where(col(Connection.company_id) == bindparam("company"))
_SET_LINK_STATE = (
    update(Link)
    .where(
        col(Link.company_id) == bindparam("company"),
        col(Link.realm_id) == bindparam("realm"),
        col(Link.record_kind) == bindparam("kind"),
        col(Link.record_id) == bindparam("record"),
    )
    .values(state=bindparam("new_state"), updated_at=bindparam("at"))
)
_JOURNAL_ENTRY = (
    col(JournaledWrite.realm_id) == bindparam("realm"),
    col(JournaledWrite.journal_key) == bindparam("key"),
)
_JOURNALED = select(JournaledWrite).where(*_JOURNAL_ENTRY)
_JOURNALED_ANY = select(JournaledWrite).where(
    col(JournaledWrite.realm_id) == bindparam("realm"),
    col(JournaledWrite.journal_key).in_(bindparam("keys", expanding=True)),
)
# A company's links in a realm among some kinds and record ids, found on the links' unique
# index (the caller keeps the (kind, id) pairs it asked for).
_LINKS_AMONG = select(Link).where(
    col(Link.company_id) == bindparam("company"),
    col(Link.realm_id) == bindparam("realm"),
    col(Link.record_kind).in_(bindparam("kinds", expanding=True)),
    col(Link.record_id).in_(bindparam("records", expanding=True)),
)


def _among(company_id: str, realm_id: str, records: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """`_LINKS_AMONG`'s parameters for these (record_kind, record_id)."""
    pairs = set(records)
    return {
        "company": company_id,
        "realm": realm_id,
        "kinds": sorted({kind for kind, _ in pairs}),
        "records": sorted({record_id for _, record_id in pairs}),
    }


_NOTE_SENT = insert(JournaledWrite)
_NOTE_DONE = (
    update(JournaledWrite)
    .where(*_JOURNAL_ENTRY)
    .values(outcome=bindparam("report"), done_at=bindparam("at"))
)


class Store:
    def __init__(self, database_url: str, cipher: TokenCipher) -> None:
        self.engine = make_engine(database_url)
        self._cipher = cipher
        upsert = dialect_insert(self.engine.dialect.name)
        link = upsert(Link)
        self._save_link = link.on_conflict_do_update(
            index_elements=["company_id", "realm_id", "record_kind", "record_id"],
            set_={name: link.excluded[name] for name in LINK_CHANGES},
        ).returning(Link)
        owner = upsert(RecordOwner)
        self._own_record = owner.on_conflict_do_update(
            index_elements=["company_id", "record_kind", "record_id"],
            set_={"customer_id": owner.excluded.customer_id},
        )
        # A line once: the same entry_key again is no error and changes nothing.
        self._add_line_once = upsert(ActivityLogEntry).on_conflict_do_nothing(
            index_elements=["entry_key"]
        )
        self.keys = ApiKeys(self.engine)

    @property
    def cipher(self) -> TokenCipher:
        return self._cipher

    def create_all(self) -> None:
        """Create missing tables, and add the optional columns a later release brought to
        existing ones (a store from before keeps working; nothing is ever dropped)."""
        for attempt in range(3):
            try:
                SQLModel.metadata.create_all(self.engine)
                break
            except DBAPIError:
                # Another process (the worker and the API start together) created a table
                # between our look and our CREATE: look again.
                if attempt == 2:
                    raise
        for table in SQLModel.metadata.sorted_tables:
            have = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
            for column in table.columns:
                if column.name in have or not column.nullable:
                    continue
                kind = column.type.compile(dialect=self.engine.dialect)
                try:
                    with self.engine.begin() as connection:
                        connection.execute(
                            text(f'ALTER TABLE "{table.name}" ADD COLUMN "{column.name}" {kind}')
                        )
                except DBAPIError:
                    # Another process (the worker and the API start together) added it first.
                    added = {c["name"] for c in inspect(self.engine).get_columns(table.name)}
                    if column.name not in added:
                        raise

    async def ping(self) -> None:
        """One round trip to the database (readiness); raises when it does not answer."""
        await self._run(lambda session: session.execute(text("SELECT 1")))

    async def _run(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    async def _core(self, fn: Callable[[Database], T]) -> T:
        """`fn` on a plain connection: for the hot path's small statements, built once below,
        where an ORM session cost more than the SQL."""

        return await deferred.on_connection(self.engine, fn)

    async def flush_deferred(self) -> None:
        """Commit what the running attempt deferred (`store.deferred`), if anything."""
        if deferred.pending():
            await self._core(lambda _db: None)

    # Connections ---------------------------------------------------------------------------

    @_writes_connection
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
            tokens = {
                "realm_id": realm_id,
                "status": "connected",
                "status_reason": None,
                "access_token_enc": self._cipher.encrypt(access_token),
                "refresh_token_enc": self._cipher.encrypt(refresh_token),
                "access_expires_at": now + timedelta(seconds=expires_in),
                "refresh_expires_at": (
                    now + timedelta(seconds=refresh_expires_in) if refresh_expires_in else None
                ),
                "connected_at": now,
                "updated_at": now,
                "refresh_lease_owner": None,
                "refresh_lease_until": None,
            }
            # One statement: two callbacks at once both land, and the version moves past any
            # refresh in flight (its save then fails its compare-and-swap).
            upsert = _insert(session, Connection).values(
                company_id=company_id, token_version=1, **tokens
            )
            # Another QBO company starts afresh: sync off, no accounts (they were the other
            # company's); the same one keeps its settings and its sync start.
            same_realm = col(Connection.realm_id) == realm_id
            afresh = {
                name: case((same_realm, getattr(Connection, name)), else_=None)
                for name in (
                    *SETTINGS_FIELDS,
                    "sync_started_at",
                    "sales_tax_mode",
                    "receivable_account_id",
                    "refund_item_id",
                )
            }
            afresh["sync_enabled"] = case((same_realm, col(Connection.sync_enabled)), else_=False)
            upsert = upsert.on_conflict_do_update(
                index_elements=["company_id"],
                set_={**tokens, **afresh, "token_version": Connection.token_version + 1},
            ).returning(Connection)
            for attempt in range(3):
                try:
                    conn: Connection = session.exec(upsert).scalar_one()
                    session.commit()
                    return conn
                except IntegrityError:
                    # Postgres resolves only the company's key in place: a callback committing
                    # the same realm at that moment trips the realm's unique index instead.
                    # Once it has committed, the same upsert finds its row.
                    session.rollback()
                    if attempt == 2:
                        raise
            raise AssertionError("unreachable")

        return await self._run(work)

    async def get_connection(self, company_id: str) -> Connection | None:
        found, connection = kept.kept_connection(company_id)
        if not found:

            def read(db: Database) -> Connection | None:
                row = db.execute(_CONNECTION, {"company": company_id}).first()
                return None if row is None else Connection(**row._mapping)

            connection = await self._core(read)
            kept.keep_connection(company_id, connection)
        return connection

    @_writes_connection
    async def update_settings(self, company_id: str, **changes: Any) -> Connection:
        """Change the account mapping and the sync switch; switching sync on sets the sync start."""

        def work(session: Session) -> Connection:
            conn = session.get(Connection, company_id)
            if conn is None:
                raise ConnectionNotFound(company_id)
            for name in SETTINGS_FIELDS:
                if name in changes:
                    setattr(conn, name, changes[name])
            if "timezone" in changes:
                conn.timezone = changes["timezone"]
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

    @_writes_connection
    async def remember_sales_tax_mode(
        self, company_id: str, realm_id: str, mode: str | None
    ) -> None:
        """Note how the connected QBO company taxes sales (None: read it again next time)."""

        def work(session: Session) -> None:
            conn = session.get(Connection, company_id)
            if conn is not None and conn.realm_id == realm_id:  # not after a reconnect elsewhere
                conn.sales_tax_mode = mode
                session.add(conn)
                session.commit()

        await self._run(work)

    @_writes_connection
    async def remember_qbo_ids(
        self,
        company_id: str,
        realm_id: str,
        *,
        receivable_account_id: str | None = None,
        refund_item_id: str | None = None,
        forget: bool = False,
    ) -> None:
        """Keep the ids of company-wide QBO records (given ones only; `forget`: clear both)."""
        changes = {
            name: value
            for name, value in (
                ("receivable_account_id", receivable_account_id),
                ("refund_item_id", refund_item_id),
            )
            if value is not None or forget
        }

        def work(session: Session) -> None:
            conn = session.get(Connection, company_id)
            if conn is not None and conn.realm_id == realm_id:  # not after a reconnect elsewhere
                for name, value in changes.items():
                    setattr(conn, name, value)
                session.add(conn)
                session.commit()

        await self._run(work)

    @_writes_connection
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

    @_writes_connection
    async def claim_refresh(
        self, realm_id: str, version: int, owner: str, lease: timedelta
    ) -> bool:
        """Take the realm's refresh lease: only while the tokens are still at `version` and no
        live lease is held (an owner that died lets its lease expire)."""

        def work(session: Session) -> bool:
            now = utcnow()
            claimed = session.exec(
                update(Connection)
                .where(
                    col(Connection.realm_id) == realm_id,
                    col(Connection.token_version) == version,
                    or_(
                        col(Connection.refresh_lease_owner).is_(None),
                        col(Connection.refresh_lease_until) < now,
                    ),
                )
                .values(refresh_lease_owner=owner, refresh_lease_until=now + lease)
            )
            session.commit()
            return claimed.rowcount == 1

        return await self._run(work)

    @_writes_connection
    async def release_refresh(self, realm_id: str, owner: str) -> None:
        def work(session: Session) -> None:
            session.exec(
                update(Connection)
                .where(
                    col(Connection.realm_id) == realm_id,
                    col(Connection.refresh_lease_owner) == owner,
                )
                .values(refresh_lease_owner=None, refresh_lease_until=None)
            )
            session.commit()

        await self._run(work)

    @_writes_connection
    async def save_tokens(
        self,
        realm_id: str,
        access_token: str,
        refresh_token: str,
        expires_in: int,
        refresh_expires_in: int | None,
        version: int,
    ) -> bool:
        """Keep the tokens refreshed from `version` (→ version + 1) and end the lease; one
        compare-and-swap, so a refresh never overwrites a newer save. False if the version moved."""

        def work(session: Session) -> bool:
            now = utcnow()
            changes: dict[str, Any] = {
                "access_token_enc": self._cipher.encrypt(access_token),
                "refresh_token_enc": self._cipher.encrypt(refresh_token),
                "access_expires_at": now + timedelta(seconds=expires_in),
                "token_version": version + 1,
                "refresh_lease_owner": None,
                "refresh_lease_until": None,
                # A refresh that worked proves the connection: undo a refusal that raced it.
                "status": case(
                    (col(Connection.status) == "reconnect_required", "connected"),
                    else_=col(Connection.status),
                ),
                "status_reason": case(
                    (col(Connection.status) == "reconnect_required", None),
                    else_=col(Connection.status_reason),
                ),
                "updated_at": now,
            }
            if refresh_expires_in:
                changes["refresh_expires_at"] = now + timedelta(seconds=refresh_expires_in)
            saved = session.exec(
                update(Connection)
                .where(
                    col(Connection.realm_id) == realm_id,
                    col(Connection.token_version) == version,
                )
                .values(**changes)
            )
            session.commit()
            return saved.rowcount == 1

        return await self._run(work)

    @_writes_connection
    async def mark_reconnect_required(self, realm_id: str, reason: str, version: int) -> bool:
        """Only while the tokens are still at `version`, whose refresh token was refused: a stale
        refusal never overrides a newer save. False if the version moved."""

        def work(session: Session) -> bool:
            marked = session.exec(
                update(Connection)
                .where(
                    col(Connection.realm_id) == realm_id,
                    col(Connection.token_version) == version,
                )
                .values(
                    status="reconnect_required",
                    status_reason=reason,
                    refresh_lease_owner=None,
                    refresh_lease_until=None,
                    updated_at=utcnow(),
                )
            )
            session.commit()
            return marked.rowcount == 1

        return await self._run(work)

    # Links --------------------------------------------------------------------------------

    async def get_link(
        self, company_id: str, realm_id: str, record_kind: str, record_id: str
    ) -> Link | None:
        key = (company_id, realm_id, record_kind, record_id)
        found, link = kept.kept_link(key)
        if not found:
            link = await self._run(lambda s: s.exec(_link_query(*key)).first())
            kept.keep_link(key, link)
        return link

    async def get_links(
        self, company_id: str, realm_id: str, records: Sequence[tuple[str, str]]
    ) -> list[Link | None]:
        """The links of these (record_kind, record_id), in one read; None where there is none."""
        keys = [(company_id, realm_id, kind, record_id) for kind, record_id in records]
        missing = [key for key in keys if not kept.kept_link(key)[0]]
        if missing:

            def read(db: Database) -> list[Link]:
                among = _among(company_id, realm_id, ((key[2], key[3]) for key in missing))
                return [Link(**row._mapping) for row in db.execute(_LINKS_AMONG, among)]

            read_now = {
                (link.company_id, link.realm_id, link.record_kind, link.record_id): link
                for link in await self._core(read)
            }
            for key in missing:
                kept.keep_link(key, read_now.get(key))
            if not kept.active():
                return [read_now.get(key) for key in keys]
        return [kept.kept_link(key)[1] for key in keys]

    async def read_ahead(
        self,
        company_id: str,
        records: Sequence[tuple[str, str]],
        journal_keys: Sequence[str] = (),
    ) -> None:
        """Within a running attempt (`kept.reads_kept`), the company's connection, the links of
        these (record_kind, record_id) in its realm and the journal entries of these keys, in
        one read, kept for the attempt's steps, which then ask the database for none of them.
        Outside an attempt, nothing."""
        if not kept.active():
            return

        def read(db: Database) -> tuple[Connection | None, list[Link], list[JournaledWrite]]:
            row = db.execute(_CONNECTION, {"company": company_id}).first()
            if row is None:
                return None, [], []
            conn = Connection(**row._mapping)
            links: list[Link] = []
            if records:
                found = db.execute(_LINKS_AMONG, _among(company_id, conn.realm_id, records))
                links = [Link(**r._mapping) for r in found]
            entries: list[JournaledWrite] = []
            if journal_keys:
                found = db.execute(
                    _JOURNALED_ANY, {"realm": conn.realm_id, "keys": list(journal_keys)}
                )
                entries = [JournaledWrite(**r._mapping) for r in found]
            return conn, links, entries

        conn, links, entries = await self._core(read)
        kept.keep_connection(company_id, conn)
        if conn is None:
            return
        by_record = {(ln.record_kind, ln.record_id): ln for ln in links}
        for kind, record_id in records:
            kept.keep_link(
                (company_id, conn.realm_id, kind, record_id), by_record.get((kind, record_id))
            )
        by_key = {entry.journal_key: entry for entry in entries}
        for key in journal_keys:
            kept.keep_journal((conn.realm_id, key), by_key.get(key))

    async def save_link(
        self,
        company_id: str,
        realm_id: str,
        record_kind: str,
        record_id: str,
        qbo_type: str,
        qbo_id: str,
        sync_token: str | None,
        *,
        fingerprint: str | None = None,
        state: dict[str, Any] | None = None,
        also: Sequence[LinkState] = (),
    ) -> Link:
        """The link as QBO's last answer left it (without `fingerprint`/`state`: unknown); `also`
        changes other links' state in the same transaction."""
        values = {
            "company_id": company_id,
            "realm_id": realm_id,
            "record_kind": record_kind,
            "record_id": record_id,
            "qbo_type": qbo_type,
            "qbo_id": qbo_id,
            "sync_token": sync_token,
            "fingerprint": fingerprint,
            "state": None if state is None else wire.dumps(state),
            "updated_at": utcnow(),
        }

        def work(db: Database) -> Link:
            # One statement: two writers saving the same link at once both succeed, last one wins.
            link = Link(**db.execute(self._save_link, values).one()._mapping)
            for change in also:
                db.execute(_SET_LINK_STATE, _state_values(company_id, realm_id, change))
            db.commit()
            return link

        saved = await self._core(work)
        kept.keep_link((company_id, realm_id, record_kind, record_id), saved)
        _forget_states(company_id, realm_id, also)
        return saved

    async def set_link_state(
        self,
        company_id: str,
        realm_id: str,
        record_kind: str,
        record_id: str,
        state: dict[str, Any] | None,
        *,
        sync_token: str | None = None,
    ) -> None:
        """Replace what the link knows of the QBO record (and its SyncToken, when given)."""
        changes: dict[str, Any] = {
            "state": None if state is None else wire.dumps(state),
            "updated_at": utcnow(),
        }
        if sync_token is not None:
            changes["sync_token"] = sync_token

        def work(session: Session) -> None:
            session.exec(
                update(Link)
                .where(*_link_filter(company_id, realm_id, record_kind, record_id))
                .values(**changes)
            )
            session.commit()

        await self._run(work)
        kept.forget_link((company_id, realm_id, record_kind, record_id))

    async def forget_link_state(
        self, company_id: str, realm_id: str, record_kind: str, record_id: str
    ) -> None:
        """QBO said the stored SyncToken is stale (someone else changed the record): keep only
        the link itself, so the next attempt reads the record once and writes everything."""

        def work(session: Session) -> None:
            session.exec(
                update(Link)
                .where(*_link_filter(company_id, realm_id, record_kind, record_id))
                .values(sync_token=None, fingerprint=None, state=None, updated_at=utcnow())
            )
            session.commit()

        await self._run(work)
        kept.forget_link((company_id, realm_id, record_kind, record_id))

    async def link_to(
        self, company_id: str, realm_id: str, qbo_type: str, qbo_id: str
    ) -> Link | None:
        """The Skimmer record linked to a QBO record (e.g. which payment a QBO Payment is)."""
        if (link := kept.kept_link_to(company_id, realm_id, qbo_type, qbo_id)) is not None:
            return link
        return await self._run(
            lambda s: s.exec(
                select(Link).where(
                    Link.company_id == company_id,
                    Link.realm_id == realm_id,
                    Link.qbo_type == qbo_type,
                    Link.qbo_id == qbo_id,
                )
            ).first()
        )

    async def delete_link(
        self,
        company_id: str,
        realm_id: str,
        record_kind: str,
        record_id: str,
        also: Sequence[LinkState] = (),
    ) -> None:
        """Forget the link; `also` changes other links' state in the same transaction."""

        def work(db: Database) -> None:
            db.execute(
                delete(Link).where(*_link_filter(company_id, realm_id, record_kind, record_id))
            )
            for change in also:
                db.execute(_SET_LINK_STATE, _state_values(company_id, realm_id, change))
            db.commit()

        await self._core(work)
        kept.forget_link((company_id, realm_id, record_kind, record_id))
        _forget_states(company_id, realm_id, also)

    async def links_to(
        self, company_id: str, realm_id: str, qbo_type: str, qbo_ids: Sequence[str]
    ) -> list[Link]:
        """The links that point at these QBO records of one type (a reconciliation's look-up)."""
        if not qbo_ids:
            return []
        return await self._run(
            lambda s: list(
                s.exec(
                    select(Link).where(
                        Link.company_id == company_id,
                        Link.realm_id == realm_id,
                        Link.qbo_type == qbo_type,
                        col(Link.qbo_id).in_(list(qbo_ids)),
                    )
                ).all()
            )
        )

    async def recent_links(self, company_id: str, realm_id: str, limit: int) -> list[Link]:
        """The company's links in this QBO company, most recently written first, at most `limit`."""
        return await self._run(
            lambda s: list(
                s.exec(
                    select(Link)
                    .where(Link.company_id == company_id, Link.realm_id == realm_id)
                    .order_by(col(Link.updated_at).desc(), col(Link.id).desc())
                    .limit(limit)
                ).all()
            )
        )

    # Reconciliation -------------------------------------------------------------------------

    async def reconciled_until(self, company_id: str, realm_id: str) -> datetime | None:
        """QBO's clock when the company's last reconciliation read the change feed; None: never."""
        found = await self._run(lambda s: s.get(Reconciliation, (company_id, realm_id)))
        return None if found is None else aware(found.checked_until)

    async def mark_reconciled(
        self, company_id: str, realm_id: str, checked_until: datetime
    ) -> None:
        """Remember a finished reconciliation; an older mark never replaces a newer one."""

        def work(session: Session) -> None:
            changes = {"checked_until": checked_until, "finished_at": utcnow()}
            upsert = _insert(session, Reconciliation).values(
                company_id=company_id, realm_id=realm_id, **changes
            )
            session.exec(
                upsert.on_conflict_do_update(
                    index_elements=["company_id", "realm_id"],
                    set_=changes,
                    where=col(Reconciliation.checked_until) < checked_until,
                )
            )
            session.commit()

        await self._run(work)

    # Accepted events ----------------------------------------------------------------------

    async def accept_event(
        self, accepted: AcceptedEvent, owners: Sequence[tuple[str, str, str]] = ()
    ) -> tuple[AcceptedEvent, bool]:
        """Record an event once, with the (kind, id, customer) ownership facts it establishes.

        Returns (the stored row, True if this call stored it).
        """

        return await self._core(lambda db: self._accept(db, accepted, owners))

    def _accept(
        self, db: Database, accepted: AcceptedEvent, owners: Sequence[tuple[str, str, str]]
    ) -> tuple[AcceptedEvent, bool]:
        try:
            db.execute(insert(AcceptedEvent), accepted.model_dump())
            # Upserts, in key order so two events owning the same records never deadlock.
            for (kind, record_id), customer_id in sorted(
                {(kind, record_id): customer for kind, record_id, customer in owners}.items()
            ):
                db.execute(
                    self._own_record,
                    {
                        "company_id": accepted.company_id,
                        "record_kind": kind,
                        "record_id": record_id,
                        "customer_id": customer_id,
                    },
                )
            db.commit()
            return accepted, True
        except IntegrityError:
            db.rollback()
            row = db.execute(_ACCEPTED, {"event": accepted.event_id}).first()
            if row is None:  # pragma: no cover - the conflicting row vanished
                raise
            return AcceptedEvent(**row._mapping), False

    async def owners(
        self, company_id: str, keys: Sequence[tuple[str, str]]
    ) -> dict[tuple[str, str], str]:
        return await self._core(lambda db: _owners(db, company_id, keys))

    async def admit(
        self,
        event_id: str,
        company_id: str,
        owner_keys: Sequence[tuple[str, str]],
        to_store: Callable[[Admission], Accepting | None],
    ) -> tuple[Admission, tuple[AcceptedEvent, bool] | None]:
        """The API's hot path in one trip to the database: the admission read, then what
        `to_store` makes of it (None: nothing) stored as `accept_event` does, with whether this
        call stored it."""

        def work(db: Database) -> tuple[Admission, tuple[AcceptedEvent, bool] | None]:
            looked = _admission(db, event_id, company_id, owner_keys)
            db.rollback()  # the read ends here; the insert opens its own transaction
            accepting = to_store(looked)
            if accepting is None:
                return looked, None
            return looked, self._accept(db, *accepting)

        return await self._core(work)

    async def get_event(self, event_id: str) -> AcceptedEvent | None:
        return await self._run(lambda s: s.get(AcceptedEvent, event_id))

    async def new_attempt(self, event_id: str, attempt: int, workflow_id: str) -> bool:
        """Move the event from attempt `attempt` to the next, run as `workflow_id` and sent to
        its lane again by the outbox; False when someone else already did (compare-and-swap)."""

        def work(session: Session) -> bool:
            moved = session.exec(
                update(AcceptedEvent)
                .where(
                    col(AcceptedEvent.event_id) == event_id,
                    col(AcceptedEvent.attempt) == attempt,
                )
                .values(attempt=attempt + 1, workflow_id=workflow_id, dispatched_at=None)
            )
            session.commit()
            return bool(moved.rowcount)

        return await self._run(work)

    async def lane_events(
        self, company_id: str, record_kind: str, record_id: str
    ) -> list[AcceptedEvent]:
        """Every accepted event of one lane, in the order they were accepted."""
        return await self._run(
            lambda s: list(
                s.exec(
                    select(AcceptedEvent)
                    .where(
                        AcceptedEvent.company_id == company_id,
                        AcceptedEvent.record_kind == record_kind,
                        AcceptedEvent.record_id == record_id,
                    )
                    .order_by(col(AcceptedEvent.accepted_at), col(AcceptedEvent.event_id))
                ).all()
            )
        )

    async def company_events(self, company_id: str) -> list[AcceptedEvent]:
        """Every accepted event of a company, oldest first."""
        return await self._run(
            lambda s: list(
                s.exec(
                    select(AcceptedEvent)
                    .where(AcceptedEvent.company_id == company_id)
                    .order_by(col(AcceptedEvent.accepted_at), col(AcceptedEvent.event_id))
                ).all()
            )
        )

    async def mark_dispatched(self, event_id: str) -> None:
        """The event's lane has it: the sweeper leaves it alone from now on."""

        def work(db: Database) -> None:
            db.execute(_MARK_DISPATCHED, {"event": event_id, "at": utcnow()})
            db.commit()

        await self._core(work)

    async def undispatched_events(
        self, accepted_before: datetime, limit: int = 500
    ) -> list[AcceptedEvent]:
        """Accepted events not yet handed to their lane, oldest first (the outbox)."""
        return await self._run(
            lambda s: list(
                s.exec(
                    select(AcceptedEvent)
                    .where(
                        col(AcceptedEvent.dispatched_at).is_(None),
                        AcceptedEvent.accepted_at < accepted_before,
                    )
                    .order_by(col(AcceptedEvent.accepted_at))
                    .limit(limit)
                ).all()
            )
        )

    # Activity log -------------------------------------------------------------------------

    async def append_activity(self, entry: ActivityLogEntry) -> bool:
        """Append one log line; a repeat of the same `entry_key` is ignored (returns False)."""

        return await self._run(lambda session: _add_once(session, entry))

    async def append_closing_activity(self, entry: ActivityLogEntry, resolves: bool) -> bool:
        """An event's closing line, in one transaction: its "retrying" line gives way to it,
        and (`resolves`: an operator's retry succeeded) its failed lines become resolved. A
        repeat of the same `entry_key` changes nothing (returns False)."""

        def work(db: Database) -> bool:
            db.execute(_DROP_RETRYING, {"key": f"{entry.workflow_id}/retrying"})
            if resolves and entry.event_id:
                db.execute(_RESOLVE_FAILED, {"event": entry.event_id})
            try:
                db.execute(insert(ActivityLogEntry), entry.model_dump(exclude={"id"}))
                db.commit()
                return True
            except IntegrityError:  # the same closing line again: the first one stands
                db.rollback()
                return False

        return await self._core(work)

    async def close_with_next_write(self, entry: ActivityLogEntry, resolves: bool) -> None:
        """An event's closing line, as `append_closing_activity` writes it, committed with the
        running attempt's next transaction (the link its step saves next); outside an attempt,
        by `append_closing_activity` now. A repeat of the same `entry_key` changes nothing."""
        writes: list[tuple[Any, dict[str, Any]]] = [
            (_DROP_RETRYING, {"key": f"{entry.workflow_id}/retrying"})
        ]
        if resolves and entry.event_id:
            writes.append((_RESOLVE_FAILED, {"event": entry.event_id}))
        writes.append((self._add_line_once, entry.model_dump(exclude={"id"})))
        if not deferred.defer(*writes[0]):
            await self.append_closing_activity(entry, resolves)
            return
        for statement, params in writes[1:]:
            deferred.defer(statement, params)

    async def note_retrying(self, entry: ActivityLogEntry) -> None:
        """The event's one "retrying" line: written on its first failed attempt, updated on the
        next ones (its `entry_key` is the event's workflow id + "/retrying")."""

        def work(session: Session) -> None:
            values = entry.model_dump(exclude={"id"})
            upsert = _insert(session, ActivityLogEntry).values(**values)
            session.exec(
                upsert.on_conflict_do_update(
                    index_elements=["entry_key"],
                    set_={"message": entry.message, "at": entry.at},
                )
            )
            session.commit()

        await self._run(work)

    async def list_activity(
        self,
        company_id: str,
        limit: int = 50,
        before: datetime | None = None,
        outcome: str | None = None,
    ) -> list[ActivityLogEntry]:
        """Newest first; `before` pages to older lines, `outcome` keeps lines of one outcome."""

        def work(session: Session) -> list[ActivityLogEntry]:
            query = select(ActivityLogEntry).where(ActivityLogEntry.company_id == company_id)
            if before is not None:
                # Stored times are UTC (SQLite keeps no zone): compare in UTC.
                query = query.where(ActivityLogEntry.at < aware(before).astimezone(UTC))
            if outcome is not None:
                query = query.where(ActivityLogEntry.outcome == outcome)
            query = query.order_by(
                col(ActivityLogEntry.at).desc(), col(ActivityLogEntry.id).desc()
            ).limit(limit)
            return list(session.exec(query).all())

        return await self._run(work)

    async def mark_activity_resolved(self, event_id: str) -> int:
        """The event's failed lines become resolved (its retry succeeded); how many changed."""

        def work(session: Session) -> int:
            changed = session.exec(
                update(ActivityLogEntry)
                .where(
                    col(ActivityLogEntry.event_id) == event_id,
                    col(ActivityLogEntry.outcome) == "failed",
                    col(ActivityLogEntry.resolved).is_(False),
                )
                .values(resolved=True)
            )
            session.commit()
            return changed.rowcount

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

    async def record_activity(
        self, company_id: str, record_type: str, record_id: str
    ) -> list[ActivityLogEntry]:
        """Every line about one Skimmer record, oldest first (what became of a payment)."""
        return await self._run(
            lambda s: list(
                s.exec(
                    select(ActivityLogEntry)
                    .where(
                        ActivityLogEntry.company_id == company_id,
                        ActivityLogEntry.record_type == record_type,
                        ActivityLogEntry.record_id == record_id,
                    )
                    .order_by(col(ActivityLogEntry.id))
                ).all()
            )
        )

    # Write journal (activities/journal.py) ---------------------------------------------------

    async def get_journaled_write(self, realm_id: str, journal_key: str) -> JournaledWrite | None:
        found, entry = kept.kept_journal((realm_id, journal_key))
        if found:  # read ahead by this attempt, not written since
            return entry

        def read(db: Database) -> JournaledWrite | None:
            row = db.execute(_JOURNALED, {"realm": realm_id, "key": journal_key}).first()
            return None if row is None else JournaledWrite(**row._mapping)

        return await self._core(read)

    async def note_write_sent(self, entry: JournaledWrite) -> JournaledWrite:
        """Note a write about to be sent; a note already there (an earlier attempt's) is kept."""
        kept.forget_journal((entry.realm_id, entry.journal_key))

        if deferred.defer(_NOTE_SENT, entry.model_dump()):
            # Committed with the request's slot, before it is sent; the look-up just before
            # found no note, so an earlier attempt's can only come from one still running,
            # whose note then fails that commit and this attempt, sending nothing.
            return entry

        def work(db: Database) -> JournaledWrite:
            try:
                db.execute(_NOTE_SENT, entry.model_dump())
                db.commit()
                return entry
            except IntegrityError:
                db.rollback()
                row = db.execute(
                    _JOURNALED, {"realm": entry.realm_id, "key": entry.journal_key}
                ).first()
                if row is None:  # pragma: no cover - the conflicting row vanished
                    raise
                return JournaledWrite(**row._mapping)

        return await self._core(work)

    async def note_write_done(self, realm_id: str, journal_key: str, outcome: str) -> None:
        kept.forget_journal((realm_id, journal_key))
        done = {"realm": realm_id, "key": journal_key, "report": outcome, "at": utcnow()}
        if deferred.defer(_NOTE_DONE, done):
            return  # with the attempt's next transaction, at its end at the latest

        def work(db: Database) -> None:
            db.execute(_NOTE_DONE, done)
            db.commit()

        await self._core(work)

    async def forget_write(self, realm_id: str, journal_key: str) -> None:
        """QBO refused the write, so nothing was written: the next attempt plans it afresh."""
        kept.forget_journal((realm_id, journal_key))

        def work(session: Session) -> None:
            entry = session.get(JournaledWrite, (realm_id, journal_key))
            if entry is not None:
                session.delete(entry)
                session.commit()

        await self._run(work)
