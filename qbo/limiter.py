"""Per-realm request limiter: at most N requests in flight and M per rolling minute per realm,
so one worker never earns a 429 by itself and one busy company never slows the others."""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

# QBO: 500 requests/minute and about 10 concurrent requests per realm and app.
MAX_CONCURRENT = 10
PER_MINUTE = 500
WINDOW_SECONDS = 60.0


@dataclass
class _RealmBudget:
    slots: asyncio.Semaphore
    in_flight: int = 0
    sent_at: deque[float] = field(default_factory=deque)
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)


class RealmLimiter:
    def __init__(
        self,
        max_concurrent: int = MAX_CONCURRENT,
        per_minute: int = PER_MINUTE,
        clock: Callable[[], float] = time.monotonic,
        window_seconds: float = WINDOW_SECONDS,
    ) -> None:
        self.max_concurrent = max_concurrent
        self.per_minute = per_minute
        self._window = window_seconds
        self._clock = clock
        self._realms: dict[str, _RealmBudget] = {}

    def _budget(self, realm_id: str) -> _RealmBudget:
        budget = self._realms.get(realm_id)
        if budget is None:
            budget = _RealmBudget(slots=asyncio.Semaphore(self.max_concurrent))
            self._realms[realm_id] = budget
        return budget

    @asynccontextmanager
    async def slot(self, realm_id: str) -> AsyncIterator[None]:
        """Hold one of the realm's request slots for the duration of one HTTP request."""
        budget = self._budget(realm_id)
        async with budget.slots:
            await self._take_from_window(budget)
            budget.in_flight += 1
            try:
                yield
            finally:
                budget.in_flight -= 1

    async def _take_from_window(self, budget: _RealmBudget) -> None:
        async with budget.lock:  # one waiter at a time keeps the window exact
            while True:
                now = self._clock()
                while budget.sent_at and now - budget.sent_at[0] >= self._window:
                    budget.sent_at.popleft()
                if len(budget.sent_at) < self.per_minute:
                    budget.sent_at.append(now)
                    return
                await asyncio.sleep(self._window - (now - budget.sent_at[0]))

    def in_flight(self, realm_id: str) -> int:
        budget = self._realms.get(realm_id)
        return 0 if budget is None else budget.in_flight
