"""Per-realm QBO request limits kept together by every process that calls QBO: each request waits
for a slot and a moment from a budget they all share (the service store: `store/limits.py`)."""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass
from typing import Any, Protocol

log = logging.getLogger(__name__)

# How long one process's first waiter pauses between asking the budget for a free slot, at
# first and at most (jittered ±50 %): short, since a slot frees as soon as a reply arrives.
FIRST_PAUSE_SECONDS = 0.02
MAX_PAUSE_SECONDS = 0.25


@dataclass(frozen=True)
class QBOLimits:
    """QBO's limits per realm (company) and app, and how the shared budget keeps under them."""

    requests_per_minute: int = 500
    requests_per_second: int = 10
    concurrent_requests: int = 10
    batch_calls_per_minute: int = 40  # a batch call is one request toward the others too
    # Added to every window: QBO's clock is not ours, and a request reaches QBO a little after
    # the moment it was granted (later still on a busy host: 0.2 s was seen to be too little
    # under load). 0.25 s caps the rate at 10 per 1.25 s, 480/minute (96 % of 500).
    margin_seconds: float = 0.25
    # How long a slot is held without news from its process: the process renews the leases of
    # its requests in flight every third of this, so only a crashed process's slots expire, and
    # they come back within this (a request QBO is still answering for a dead process may then
    # meet one more in flight than QBO allows, and be answered 429; never a lost write).
    lease_seconds: float = 30.0


@dataclass(frozen=True)
class Reservation:
    """The budget's answer: a slot and the moment the request may go (`send_at`), or nothing
    taken: ask again at `ask_again_at` (a batch call over its own window), or once a slot frees."""

    send_at: float | None = None
    ask_again_at: float | None = None


NO_FREE_SLOT = Reservation()


class RequestBudget(Protocol):
    """The realm budgets every process draws from (the service store)."""

    async def reserve(
        self, realm_id: str, holder: str, batch: bool, limits: QBOLimits
    ) -> Reservation:
        """Lease one of the realm's slots to `holder` and grant it the earliest moment within
        the realm's windows. Moments are on this process's `time.monotonic()` clock."""
        ...

    async def release(self, holder: str) -> None:
        """Give `holder`'s slot back (the reply arrived, or the request was never sent)."""
        ...

    async def renew(self, holders: Sequence[str], lease_seconds: float) -> None:
        """Extend these holders' leases to `lease_seconds` from now: their requests are still in
        flight (never shortens one)."""
        ...


def new_holder() -> str:
    """Who holds a slot: this host and process (for an operator reading the table), made unique."""
    return f"{socket.gethostname()[:40]}/{os.getpid()}/{uuid.uuid4().hex[:12]}"


class RealmLimiter:
    """`slot(realm_id)` around each QBO request: at most `concurrent_requests` in flight and the
    rate limits kept, per realm, across every process using the same budget.

    In one process, the waiters for a realm queue behind one asker, so a busy realm costs the
    database one question per process at a time, not one per waiting request.
    """

    def __init__(self, budget: RequestBudget, limits: QBOLimits | None = None) -> None:
        self.budget = budget
        self.limits = limits or QBOLimits()
        self._askers: dict[str, asyncio.Lock] = {}
        self._freed: dict[str, asyncio.Event] = {}
        self._giving_back: set[asyncio.Task[None]] = set()
        # The slots this process holds (holder → realm), whose leases it renews while any is.
        self._held: dict[str, str] = {}
        self._none_held = asyncio.Event()
        self._renewing: asyncio.Task[None] | None = None

    @asynccontextmanager
    async def slot(self, realm_id: str, batch: bool = False) -> AsyncIterator[None]:
        """Hold one of the realm's request slots for one HTTP request (`batch` for `/batch`)."""
        holder = new_holder()
        send_at = await self._reserve(realm_id, holder, batch)
        self._hold(holder, realm_id)
        try:
            await asyncio.sleep(max(0.0, send_at - time.monotonic()))
            if time.monotonic() - send_at > self.limits.margin_seconds / 2:
                # Woken late (a busy host): sent now, the request could land in a window that
                # is full by then. Its grant stays counted; it asks for a fresh one, once.
                self._let_go(holder)
                await self.budget.release(holder)
                holder = new_holder()
                send_at = await self._reserve(realm_id, holder, batch)
                self._hold(holder, realm_id)
                await asyncio.sleep(max(0.0, send_at - time.monotonic()))
            yield
        finally:
            self._let_go(holder)
            # Awaited, not left to a task: given back in the background, the release contended
            # with the caller's next store write for SQLite's lock and cost more than it saved.
            await self._release(realm_id, holder)

    def _hold(self, holder: str, realm_id: str) -> None:
        self._held[holder] = realm_id
        self._none_held.clear()
        if self._renewing is None or self._renewing.done():
            self._renewing = asyncio.ensure_future(self._renew_while_held())

    def _let_go(self, holder: str) -> None:
        self._held.pop(holder, None)
        if not self._held:
            self._none_held.set()

    async def _renew_while_held(self) -> None:
        """Every third of a lease, while this process holds slots, push their leases on: a
        request QBO takes long to answer keeps its slot; a dead process's slots come back soon."""
        every = self.limits.lease_seconds / 3
        while self._held:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._none_held.wait(), every)
            if not self._held:
                return
            try:
                await self.budget.renew(list(self._held), self.limits.lease_seconds)
            except Exception as exc:  # the next round tries again; the lease has two more
                log.warning("QBO request leases not renewed: %s", type(exc).__name__)

    async def _release(self, realm_id: str, holder: str) -> None:
        try:
            await self.budget.release(holder)
        finally:
            self._freed_event(realm_id).set()

    async def settled(self) -> None:
        """Back once the slots given up by cancelled waiters are given back (at shutdown)."""
        while self._giving_back:
            await asyncio.gather(*self._giving_back, return_exceptions=True)
        if self._renewing is not None:
            self._renewing.cancel()
            with suppress(asyncio.CancelledError):
                await self._renewing

    def _keep(self, giving_back: Coroutine[Any, Any, None]) -> None:
        task = asyncio.ensure_future(giving_back)
        self._giving_back.add(task)
        task.add_done_callback(self._giving_back.discard)

    async def _reserve(self, realm_id: str, holder: str, batch: bool) -> float:
        asker = self._askers.setdefault(realm_id, asyncio.Lock())
        while True:
            async with asker:
                answer = await self._reserve_when_a_slot_frees(realm_id, holder, batch)
            if answer.send_at is not None:
                return answer.send_at
            # A batch call over the batch window waits out of the queue: other calls go on.
            assert answer.ask_again_at is not None
            await asyncio.sleep(max(0.0, answer.ask_again_at - time.monotonic()))

    async def _reserve_when_a_slot_frees(
        self, realm_id: str, holder: str, batch: bool
    ) -> Reservation:
        freed = self._freed_event(realm_id)
        pause = FIRST_PAUSE_SECONDS
        while True:
            freed.clear()  # before asking: a slot given back meanwhile is not missed
            answer = await self._reserve_once(realm_id, holder, batch)
            if answer.send_at is not None or answer.ask_again_at is not None:
                return answer
            # A slot this process gives back wakes us at once; others' are seen on the poll.
            with suppress(TimeoutError):
                await asyncio.wait_for(freed.wait(), pause * random.uniform(0.5, 1.5))
            pause = min(pause * 2, MAX_PAUSE_SECONDS)

    async def _reserve_once(self, realm_id: str, holder: str, batch: bool) -> Reservation:
        asking = asyncio.ensure_future(self.budget.reserve(realm_id, holder, batch, self.limits))
        try:
            return await asyncio.shield(asking)
        except asyncio.CancelledError:
            # The database may still lease the slot after we stopped waiting: give it back then.
            asking.add_done_callback(lambda done: self._give_back(done, holder))
            raise

    def _give_back(self, asking: asyncio.Future[Reservation], holder: str) -> None:
        if asking.cancelled() or asking.exception() is not None:
            return
        if asking.result().send_at is None:
            return
        with suppress(RuntimeError):  # the loop is closing: the lease expires on its own
            self._keep(self.budget.release(holder))

    def _freed_event(self, realm_id: str) -> asyncio.Event:
        return self._freed.setdefault(realm_id, asyncio.Event())
