"""Small writes an activity attempt lets ride with its next transaction instead of one each: a QBO
write noted as sent, or as done.

Each is durable before anything depends on it. The next grant of a request slot runs them first,
in its own transaction, so a "sent" note is committed before its request leaves; a link saved
takes them with it; the attempt's end (`flush_deferred`, awaited before the activity reports)
takes the rest. A worker killed before then loses nothing the journal cannot redo: a missing
"done" note sends the same requestid again, which QBO answers from its stored reply. Request
slots are not deferred: a slot held a moment longer is one more a killed worker would strand
until its lease expires.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy.engine import Connection, Engine
from sqlalchemy.sql import Executable

T = TypeVar("T")


@dataclass(frozen=True)
class Deferred:
    statement: Executable
    params: dict[str, Any]


@dataclass
class _Attempt:
    task: asyncio.Task[Any] | None
    lock: threading.Lock = field(default_factory=threading.Lock)
    writes: list[Deferred] = field(default_factory=list)


_ATTEMPT: ContextVar[_Attempt | None] = ContextVar("deferred_writes", default=None)


@contextmanager
def writes_deferred() -> Iterator[None]:
    """Let the running task's small writes wait for its next transaction until the block ends
    (the caller flushes what is left before it ends)."""
    token = _ATTEMPT.set(_Attempt(asyncio.current_task()))
    try:
        yield
    finally:
        _ATTEMPT.reset(token)


def defer(statement: Executable, params: dict[str, Any]) -> bool:
    """Queue the write for the attempt's next transaction; False (the caller writes it now)
    outside an attempt, or from another task than the attempt's own."""
    attempt = _ATTEMPT.get()
    if attempt is None or attempt.task is not asyncio.current_task():
        return False
    with attempt.lock:
        attempt.writes.append(Deferred(statement, params))
    return True


def pending() -> bool:
    """Whether the attempt has writes queued."""
    attempt = _ATTEMPT.get()
    return attempt is not None and bool(attempt.writes)


def write_queued(db: Connection) -> None:
    """Commit the attempt's queued writes on `db`, in a transaction of their own (the caller's
    work follows on the same connection: no extra trip to a thread); if that fails they stay
    queued, in front."""
    attempt = _ATTEMPT.get()
    if attempt is None or not attempt.writes:
        return
    with attempt.lock:
        writes, attempt.writes = attempt.writes, []
    try:
        for write in writes:
            db.execute(write.statement, write.params)
        db.commit()
    except BaseException:
        db.rollback()
        with attempt.lock:
            attempt.writes[:0] = writes
        raise


async def on_connection(engine: Engine, fn: Callable[[Connection], T]) -> T:
    """`fn` on a plain connection, in a thread, after the attempt's queued writes (on the same
    connection: no extra trip to a thread)."""

    def work() -> T:
        with engine.connect() as connection:
            write_queued(connection)
            return fn(connection)

    return await asyncio.to_thread(work)
