"""`make up`: the local stack, left running until Ctrl-C, with a dev company connected."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from config import DEFAULT_DATA_DIR
from devstack.seed import choose_accounts_and_sync, connect_company
from devstack.stack import DataDirBusy, Ports, Stack
from devstack.temporal_cli import TemporalCliNotFound
from devstack.temporal_server import TemporalServerNotFound

if TYPE_CHECKING:
    from devstack.cluster import ClusterPorts

DEV_COMPANY = os.environ.get("DEV_COMPANY_ID", "co_dev")


def ports_from_env() -> Ports:
    d = Ports()
    return Ports(
        temporal=int(os.environ.get("TEMPORAL_PORT", d.temporal)),
        temporal_ui=int(os.environ.get("TEMPORAL_UI_PORT", d.temporal_ui)),
        sandbox=int(os.environ.get("QBO_SANDBOX_PORT", d.sandbox)),
        api=int(os.environ.get("API_PORT", d.api)),
        codec=int(os.environ.get("CODEC_SERVER_PORT", d.codec)),
    )


def more_apis(stack: Stack) -> str:
    """The cluster's other API processes, one line each (the dev stack has one)."""
    others = stack.api_urls[1:]
    return "".join(f"\n  Ingress API       {url}" for url in others)


def data_dir_from_env() -> Path:
    return Path(os.environ.get("STACK_DATA_DIR") or DEFAULT_DATA_DIR / "stack")


async def main() -> int:
    ports = ports_from_env()
    return await run_until_stopped(Stack(data_dir=data_dir_from_env(), ports=ports), ports)


async def run_until_stopped(stack: Stack, ports: Ports | ClusterPorts) -> int:
    """Start `stack`, connect the dev company, print the way in, and run until Ctrl-C."""
    try:
        # The data directory first: a second stack on other ports must not share its files.
        stack.lock()
        ports.check_free()
    except DataDirBusy as exc:
        print(f"Cannot start: {exc} (STACK_DATA_DIR)", file=sys.stderr)
        return 1
    except RuntimeError as exc:
        await stack.stop()
        print(f"Cannot start: {exc}", file=sys.stderr)
        return 1
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    try:
        try:
            await stack.start()
        except (RuntimeError, TemporalCliNotFound, TemporalServerNotFound) as exc:
            print(f"The stack did not start: {exc}", file=sys.stderr)
            return 1
        async with stack.client(timeout=30) as http:
            company = await connect_company(http, stack.api_url, DEV_COMPANY)
            await choose_accounts_and_sync(http, stack.api_url, company)
        print(
            f"""
The stack is up. Company {DEV_COMPANY} is connected to QBO sandbox realm {company.realm_id}, sync on.
  Temporal Web UI   {stack.temporal_ui_url}   (payloads decrypted by the codec server {stack.codec_url})
  Ingress API       {stack.api_url}/docs   (OpenAPI: {stack.api_url}/openapi.json){more_apis(stack)}
  Activity log      {stack.api_url}/companies/{DEV_COMPANY}/activity (sign in with the admin key)
  Admin API key     {stack.admin_api_key}
  Connect another   {stack.api_url}/companies/<company id>/quickbooks/connect (in a browser)
  QBO sandbox       {stack.sandbox_url}/__sandbox/realms/{company.realm_id}
Try:
  curl -s -X POST {stack.api_url}/events -H 'content-type: application/json' -d '{{"event_id":"evt_1",
    "type":"customer.saved","company_id":"{DEV_COMPANY}","occurred_at":"2026-11-26T10:00:00Z",
    "data":{{"customer":{{"id":"c1","first_name":"Jane","last_name":"Smith","active":true}}}}}}'
  curl -s {stack.api_url}/events/evt_1 -H 'Authorization: Bearer {stack.admin_api_key}'
Ctrl-C stops everything.""",
            flush=True,
        )
        while not stop.is_set():
            dead = stack.dead()
            if dead:
                for proc in dead:
                    print(
                        f"{proc.name} exited ({proc.process.returncode}):\n{proc.tail()}",
                        file=sys.stderr,
                    )
                return 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=1)
        return 0
    finally:
        print("Stopping the stack...", flush=True)
        await stack.stop()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
