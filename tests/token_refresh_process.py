"""One service process (a worker or the API) making QBO calls through the production client, for
the cross-process token refresh test: `python -m tests.token_refresh_process ROLE REALM START CALLS`.

Configured like the service, from the environment (DATABASE_URL, QBO_*, TOKEN_ENCRYPTION_KEY). It
prints `ready`, waits until the START file exists, makes CALLS concurrent calls, prints one JSON line.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from pathlib import Path

from config import Settings
from qbo import QBOError
from qbo import models as q
from services import http_client, open_store, qbo_client


def wait_for_start(start_file: Path) -> None:
    while not start_file.exists():
        time.sleep(0.001)  # spin, blocking: every process should leave the line at one instant


async def main(role: str, realm_id: str, start_file: Path, calls: int) -> int:
    settings = Settings.from_env()
    store = open_store(settings)
    async with http_client() as http:
        qbo = qbo_client(settings, store, http)
        print("ready", flush=True)
        wait_for_start(start_file)
        answers = await asyncio.gather(
            *(qbo.query(realm_id, q.Account, "SELECT * FROM Account") for _ in range(calls)),
            return_exceptions=True,
        )
    errors = [f"{type(a).__name__}: {a}" for a in answers if isinstance(a, BaseException)]
    ok = sum(1 for a in answers if not isinstance(a, BaseException))
    print(json.dumps({"role": role, "ok": ok, "errors": errors}), flush=True)
    return 0 if not errors else 1


if __name__ == "__main__":
    role, realm_id, start, calls = sys.argv[1:5]
    try:
        sys.exit(asyncio.run(main(role, realm_id, Path(start), int(calls))))
    except QBOError as exc:  # pragma: no cover - reported by the test through the exit code
        print(json.dumps({"role": role, "ok": 0, "errors": [str(exc)]}), flush=True)
        sys.exit(1)
