"""Connecting to Temporal with the project's data converter (payloads encrypted), waiting while it is away."""

from __future__ import annotations

import asyncio
import logging
import time

from temporalio.client import Client
from temporalio.runtime import Runtime

from config import Settings
from temporal_platform.converter import data_converter_for

log = logging.getLogger(__name__)


async def connect(
    settings: Settings, wait_seconds: float = 300.0, runtime: Runtime | None = None
) -> Client:
    """A client for `settings`; while Temporal does not answer (a restart, a deploy), try again
    with backoff for up to `wait_seconds`, saying so, then raise the last error. `runtime`: the
    process's telemetry runtime (its metrics); the SDK's default when None."""
    deadline = time.monotonic() + wait_seconds
    delay = 0.5
    while True:
        try:
            return await Client.connect(
                settings.temporal_address,
                namespace=settings.temporal_namespace,
                data_converter=data_converter_for(settings),
                runtime=runtime,
            )
        except RuntimeError as exc:  # the SDK's "failed client connect" while the server is away
            if time.monotonic() + delay > deadline:
                raise
            log.warning(
                "Temporal at %s does not answer (%s); trying again in %.1fs",
                settings.temporal_address,
                exc,
                delay,
            )
            await asyncio.sleep(delay)
            delay = min(delay * 2, 10.0)
