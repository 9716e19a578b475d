"""What the store's hot-path operations cost alone: each run `--calls` times on a fresh SQLite store
(or `--database-url`), p50 and p95 printed. The figures behind the README's store timings; inside
the busy worker the same operations take longer (thread hand-offs, other work on the loop).

`python -m bench.store_ops [--calls N] [--database-url URL]` (`make bench-store`)
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet

from qbo import QBOLimits
from store import RequestBudgets, Store, TokenCipher
from store.tables import JournaledWrite

# No window ever full: the figure is the budget's own cost, not a wait for QBO's limits.
UNLIMITED = QBOLimits(
    requests_per_second=10**9, requests_per_minute=10**9, concurrent_requests=10**9
)


async def timed(calls: int, operation: Callable[[int], Awaitable[object]]) -> tuple[float, float]:
    """p50 and p95 of `operation(n)` in milliseconds, after a few unmeasured warm-up calls."""
    for n in range(-5, 0):
        await operation(n)
    took = []
    for n in range(calls):
        started = time.perf_counter()
        await operation(n)
        took.append((time.perf_counter() - started) * 1000)
    took.sort()
    return statistics.median(took), took[int(len(took) * 0.95) - 1]


async def measure(database_url: str, calls: int) -> list[tuple[str, float, float]]:
    store = Store(database_url, TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    budgets = RequestBudgets(store.engine)
    await store.save_connection("co_bench", "realm_bench", "access", "refresh", 3600)

    def note(n: int) -> JournaledWrite:
        return JournaledWrite(
            realm_id="realm_bench",
            journal_key=f"k{n}",
            company_id="co_bench",
            request="{}",
            note="{}",
        )

    async def reserve_and_release(n: int) -> None:
        await budgets.reserve("realm_bench", f"h{n}", False, UNLIMITED)
        await budgets.release(f"h{n}")

    operations: Sequence[tuple[str, Callable[[int], Awaitable[object]]]] = [
        ("journal: sent note", lambda n: store.note_write_sent(note(n))),
        ("journal: look-up", lambda n: store.get_journaled_write("realm_bench", f"k{n}")),
        ("journal: done note", lambda n: store.note_write_done("realm_bench", f"k{n}", "{}")),
        (
            "link save",
            lambda n: store.save_link(
                "co_bench", "realm_bench", "payment", f"p{n}", "Payment", str(n), "0"
            ),
        ),
        ("connection look-up", lambda n: store.get_connection("co_bench")),
        ("request slot: reserve + release", reserve_and_release),
    ]
    return [(name, *await timed(calls, operation)) for name, operation in operations]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200, help="calls per operation (200)")
    parser.add_argument("--database-url", help="a store to measure (default: a fresh SQLite file)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as scratch:
        url = args.database_url or f"sqlite:///{Path(scratch) / 'store.db'}"
        rows = asyncio.run(measure(url, args.calls))
    print(f"store operations, {args.calls} calls each, alone ({url.split(':', 1)[0]})")
    width = max(len(name) for name, _, _ in rows)
    for name, p50, p95 in rows:
        print(f"  {name:<{width}}  p50 {p50:6.3f} ms   p95 {p95:6.3f} ms")


if __name__ == "__main__":
    main()
