"""Helpers that run the project's servers as real child processes on free loopback ports."""

from __future__ import annotations

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from temporalio.client import Client
from temporalio.common import SearchAttributeKey

from config import Settings
from starter.api import create_app
from store import Store

REPO_ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_http_ok(url: str, process: subprocess.Popen[bytes], timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"process for {url} exited early with code {process.returncode}")
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer 200 within {timeout}s")


@contextmanager
def running_sandbox(
    extra_args: Sequence[str] = (), env: dict[str, str] | None = None
) -> Iterator[str]:
    """Start `python -m qbo_sandbox` on a free port and yield its base URL."""
    port = free_port()
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qbo_sandbox",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            *extra_args,
        ],
        cwd=REPO_ROOT,
        env={**os.environ, **(env or {})},
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        wait_http_ok(f"{base_url}/__sandbox/health", process)
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


class DevServer:
    """A Temporal dev server of one test's own, whose SQLite file survives stop/start, and
    which can be paused (SIGSTOP) to make calls to it hang as a stuck server does."""

    def __init__(self, cli_path: Path, db_file: Path) -> None:
        self.cli_path = cli_path
        self.db_file = db_file
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(
        self, timeout: float = 60.0, keys: Sequence[SearchAttributeKey[Any]] | None = None
    ) -> None:
        """Start it, registering `keys` (default: all the service's search attributes)."""
        from workflows.search import ALL_KEYS, dev_server_args

        attributes = dev_server_args(ALL_KEYS if keys is None else keys)
        self.process = subprocess.Popen(
            [
                str(self.cli_path), "server", "start-dev", "--headless",
                "--ip", "127.0.0.1", "--port", str(self.port),
                "--db-filename", str(self.db_file), "--log-level", "error",
                *attributes,
            ],
        )  # fmt: skip
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"the Temporal dev server exited ({self.process.returncode})")
            with socket.socket() as sock:
                if sock.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise TimeoutError(f"the Temporal dev server did not listen within {timeout}s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGCONT)  # a paused server cannot stop
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def pause(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGSTOP)

    def resume(self) -> None:
        assert self.process is not None
        self.process.send_signal(signal.SIGCONT)


def service_env(settings: Settings, temporal_address: str) -> dict[str, str]:
    """The environment of a worker or API process configured like `settings`."""
    return {
        **os.environ,
        "PYTHONUNBUFFERED": "1",
        "TEMPORAL_ADDRESS": temporal_address,
        "TEMPORAL_TASK_QUEUE": settings.task_queue,
        "DATABASE_URL": settings.database_url,
        "QBO_BASE_URL": settings.qbo_base_url,
        "QBO_TOKEN_URL": settings.qbo_token_url,
        "TOKEN_ENCRYPTION_KEY": settings.token_encryption_key,
        "PAYLOAD_ENCRYPTION_KEYS": settings.payload_encryption_keys,
        "API_HOST": "127.0.0.1",
        "API_PORT": str(settings.api_port),
        "OUTBOX_SWEEP_SECONDS": str(settings.outbox_sweep_seconds),
        "ADMIN_API_KEY": settings.admin_api_key,
    }


def start_api(settings: Settings, temporal_address: str) -> subprocess.Popen[bytes]:
    """`python -m starter.api` as its own process; returns once /healthz answers."""
    process = subprocess.Popen(
        [sys.executable, "-m", "starter.api"],
        cwd=REPO_ROOT,
        env=service_env(settings, temporal_address),
    )
    wait_http_ok(f"http://127.0.0.1:{settings.api_port}/healthz", process, timeout=30)
    return process


# The secret the signed-API fixture's API checks `POST /events` against (tests/conftest.py).
SIGNING_SECRET = "whsec_test_only"


async def serve(settings: Settings, client: Client, store: Store) -> AsyncIterator[str]:
    """The real API app in this process (uvicorn on a free port), with a test's client and store."""
    port = free_port()
    settings = settings.model_copy(
        update={"qbo_redirect_uri": f"http://127.0.0.1:{port}/quickbooks/callback"}
    )
    config = uvicorn.Config(
        create_app(settings, client=client, store=store),
        host="127.0.0.1",
        port=port,
        log_level="warning",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        await asyncio.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
