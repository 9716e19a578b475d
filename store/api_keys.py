"""API keys (admin, or scoped to one company) and the activity page's sign-in sessions, kept as
SHA-256 hashes only: the store never holds a key or a session token itself."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from sqlalchemy import delete
from sqlalchemy.engine import Engine
from sqlmodel import Field, Session, SQLModel, col, select

from store.tables import aware, utcnow

T = TypeVar("T")

# Recognisable in a leaked log or a secret scanner; the rest is 256 random bits.
KEY_PREFIX = "skq_"
SESSION_LIFETIME = timedelta(hours=12)
# The id ADMIN_API_KEY goes by where a stored key shows its own (it is not stored).
ADMIN_KEY_ID = "ADMIN_API_KEY"


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def key_hash(secret: str) -> str:
    """The stored form of a key or session token (both random, so no slow hash is needed)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class ApiKey(SQLModel, table=True):
    """A key that reaches every company (`company_id` None) or one company's endpoints."""

    key_id: str = Field(primary_key=True, max_length=40)
    key_hash: str = Field(unique=True, max_length=64)
    company_id: str | None = Field(default=None, index=True, max_length=100)
    name: str | None = Field(default=None, max_length=200)
    created_at: datetime = Field(default_factory=utcnow)
    revoked_at: datetime | None = None

    @property
    def scope(self) -> str:
        return "admin" if self.company_id is None else f"company {self.company_id}"


class SignInSession(SQLModel, table=True):
    """A browser signed in with a key: the cookie carries a random token, the store its hash and
    the hash of the key it signed in with (so a revoked key ends its sessions)."""

    token_hash: str = Field(primary_key=True, max_length=64)
    key_hash: str = Field(index=True, max_length=64)
    created_at: datetime = Field(default_factory=utcnow)
    expires_at: datetime


class KeyNotFound(LookupError):
    pass


class ApiKeys:
    """The stored API keys and sign-in sessions (`Store.keys`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    async def _run(self, fn: Callable[[Session], T]) -> T:
        def work() -> T:
            with Session(self.engine, expire_on_commit=False) as session:
                return fn(session)

        return await asyncio.to_thread(work)

    async def create(self, company_id: str | None, name: str | None = None) -> tuple[ApiKey, str]:
        """A new key (admin when `company_id` is None); returns its row and the key, which is
        never seen again."""
        secret = new_api_key()
        row = ApiKey(
            key_id=f"key_{secrets.token_hex(6)}",
            key_hash=key_hash(secret),
            company_id=company_id,
            name=name,
        )

        def work(session: Session) -> ApiKey:
            session.add(row)
            session.commit()
            return row

        return await self._run(work), secret

    async def list(self) -> list[ApiKey]:
        """Every key, oldest first (revoked ones too)."""
        return await self._run(
            lambda s: list(s.exec(select(ApiKey).order_by(col(ApiKey.created_at))).all())
        )

    async def revoke(self, key_id: str) -> ApiKey:
        """Revoke a key and end its sessions; revoking it again keeps the first time."""

        def work(session: Session) -> ApiKey:
            row = session.get(ApiKey, key_id)
            if row is None:
                raise KeyNotFound(f"no API key {key_id}: `keys list` shows the ids")
            if row.revoked_at is None:
                row.revoked_at = utcnow()
                session.add(row)
                session.exec(
                    delete(SignInSession).where(col(SignInSession.key_hash) == row.key_hash)
                )
                session.commit()
            return row

        return await self._run(work)

    async def find(self, secret: str) -> ApiKey | None:
        """The live (unrevoked) key whose hash this is; None for an unknown or revoked key."""
        return await self.find_by_hash(key_hash(secret))

    async def find_by_hash(self, hashed: str) -> ApiKey | None:
        """The live key of that hash (a session holds only the hash of its key)."""
        return await self._run(
            lambda s: s.exec(
                select(ApiKey).where(
                    col(ApiKey.key_hash) == hashed, col(ApiKey.revoked_at).is_(None)
                )
            ).first()
        )

    async def start_session(self, signed_in_with: str) -> str:
        """A session for a browser that signed in with a valid key; returns the cookie's token."""
        token = secrets.token_urlsafe(32)
        row = SignInSession(
            token_hash=key_hash(token),
            key_hash=key_hash(signed_in_with),
            expires_at=utcnow() + SESSION_LIFETIME,
        )

        def work(session: Session) -> None:
            # Expired sessions go as new ones come, so the table stays small.
            session.exec(delete(SignInSession).where(col(SignInSession.expires_at) < utcnow()))
            session.add(row)
            session.commit()

        await self._run(work)
        return token

    async def session_key_hash(self, token: str) -> str | None:
        """The hash of the key an unexpired session signed in with; None when there is none."""

        def work(session: Session) -> str | None:
            row = session.get(SignInSession, key_hash(token))
            if row is None or aware(row.expires_at) < utcnow():
                return None
            return row.key_hash

        return await self._run(work)

    async def end_session(self, token: str) -> None:
        def work(session: Session) -> None:
            session.exec(
                delete(SignInSession).where(col(SignInSession.token_hash) == key_hash(token))
            )
            session.commit()

        await self._run(work)


@dataclass(frozen=True)
class KeyHolder:
    """Who holds a key: an admin (`company_id` None) or one company."""

    key_id: str
    company_id: str | None
    name: str | None = None


async def holder_of_key(keys: ApiKeys, admin_api_key: str, hashed: str) -> KeyHolder | None:
    """Who the key of this hash belongs to: ADMIN_API_KEY (when set), or a live stored key;
    None for an unknown or revoked key. The API and the codec server both ask this."""
    if admin_api_key and hmac.compare_digest(key_hash(admin_api_key), hashed):
        return KeyHolder(ADMIN_KEY_ID, None)
    row = await keys.find_by_hash(hashed)
    return None if row is None else KeyHolder(row.key_id, row.company_id, row.name)
