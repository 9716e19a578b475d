"""One service process calling QBO as fast as it can through the production client, for the shared
limits tests: `python -m tests.shared_limits_process REALM START SECONDS QUERIES BATCHES`.

Configured like the service, from the environment (DATABASE_URL, QBO_* and its limits,
TOKEN_ENCRYPTION_KEY). It prints `ready`, waits until the START file exists, then runs QUERIES
loops of queries and BATCHES loops of batch calls for SECONDS (calls still waiting then are
dropped), and prints one JSON line: answered queries and batches, and the errors.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from contextlib import suppress
from pathlib import Path

from config import Settings
from qbo import QBOClient
from qbo import models as q
from qbo.client import BatchItem
from services import http_client, open_store, qbo_client
from tests.token_refresh_process import wait_for_start


async def main(realm_id: str, start_file: Path, seconds: float, queries: int, batches: int) -> int:
    settings = Settings.from_env()
    store = open_store(settings)
    answered = {"queries": 0, "batches": 0}
    errors: list[str] = []

    async def keep_calling(qbo: QBOClient, batch: bool) -> None:
        while True:
            try:
                if batch:
                    item = BatchItem("1", query="SELECT * FROM Account")
                    await qbo.batch(realm_id, [item], request_id=uuid.uuid4().hex)
                else:
                    await qbo.query(realm_id, q.Account, "SELECT * FROM Account")
                answered["batches" if batch else "queries"] += 1
            except Exception as exc:
                errors.append(f"{type(exc).__name__}: {exc}")

    async with http_client() as http:
        qbo = qbo_client(settings, store, http)
        print("ready", flush=True)
        wait_for_start(start_file)
        loops = [keep_calling(qbo, batch=False) for _ in range(queries)]
        loops += [keep_calling(qbo, batch=True) for _ in range(batches)]
        # When the time is up, calls still waiting give their slots back as they are cancelled.
        with suppress(TimeoutError):
            await asyncio.wait_for(asyncio.gather(*loops), timeout=seconds)
    print(json.dumps({**answered, "errors": errors}), flush=True)
    return 0


if __name__ == "__main__":
    realm, start, seconds, queries, batches = sys.argv[1:6]
    sys.exit(asyncio.run(main(realm, Path(start), float(seconds), int(queries), int(batches))))
