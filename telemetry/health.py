"""Readiness: each dependency answers a cheap request within a deadline, or is named as failing."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta

from temporalio.client import Client

# A dependency slower than this is not ready for traffic either.
CHECK_TIMEOUT = timedelta(seconds=3)

Check = Callable[[], Awaitable[None]]


@dataclass(frozen=True)
class Readiness:
    checks: dict[str, str]  # dependency → "ok" or why it failed

    @property
    def ready(self) -> bool:
        return all(result == "ok" for result in self.checks.values())

    @property
    def failing(self) -> list[str]:
        return [name for name, result in self.checks.items() if result != "ok"]


def temporal_check(client: Client) -> Check:
    async def check() -> None:
        if not await client.service_client.check_health(timeout=CHECK_TIMEOUT):
            raise RuntimeError("Temporal's frontend says it is not serving")

    return check


async def _result(check: Check) -> str:
    try:
        await asyncio.wait_for(check(), CHECK_TIMEOUT.total_seconds())
    except TimeoutError:
        return f"no answer within {CHECK_TIMEOUT.total_seconds():.0f}s"
    except Exception as exc:  # any failure means not ready; its type says which kind
        # The type only: driver messages can hold a connection string.
        return f"unreachable ({type(exc).__name__})"
    return "ok"


async def readiness(checks: Mapping[str, Check]) -> Readiness:
    """Run every check at once; each one's result by name."""
    results = await asyncio.gather(*(_result(check) for check in checks.values()))
    return Readiness(dict(zip(checks, results, strict=True)))
