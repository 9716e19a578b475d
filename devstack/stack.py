"""The local stack as child processes: Temporal dev server (+ Web UI), QBO sandbox, worker, API.

No Docker. Each process logs to `<data dir>/logs/<name>.log`; a process that dies is reported
with the tail of its log. A stack holds its data directory locked (`DataDirLock`) while it runs.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import (
    AddSearchAttributesRequest,
    ListSearchAttributesRequest,
)
from temporalio.client import Client
from temporalio.common import SearchAttributeKey
from temporalio.testing import WorkflowEnvironment

from config import REPO_ROOT, Settings
from devstack.api_access import carry_key
from devstack.temporal_cli import (
    HOW_TO_FIX,
    TemporalCli,
    TemporalCliNotFound,
    cache_dir,
    resolve_temporal_cli,
)
from store.api_keys import new_api_key
from temporal_platform.converter import data_converter_for
from workflows.search import ALL_KEYS, dev_server_args

Say = Callable[[str], None]


async def register_search_attributes(
    client: Client, keys: Sequence[SearchAttributeKey[Any]] = ALL_KEYS
) -> list[str]:
    """Add the search attributes the server does not know yet; returns their names.

    A dev server started on an existing SQLite file ignores `--search-attribute` flags it did
    not have the first time, so a data dir from an older release would lack newer attributes
    (and every event workflow setting one would fail to start).
    """
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    missing = {
        key.name: IndexedValueType.ValueType(key.indexed_value_type)
        for key in keys
        if key.name not in known.custom_attributes
    }
    if missing:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(namespace=client.namespace, search_attributes=missing)
        )
    return sorted(missing)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        # As the servers do: a socket of a previous run lingering in TIME_WAIT is no obstacle.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


LOCK_FILE = "stack.lock"


class DataDirBusy(RuntimeError):
    """Another stack uses the data directory (its Temporal and store files)."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class DataDirLock:
    """An exclusive `flock` on `<data dir>/stack.lock` for as long as one stack uses the directory.

    The file names the holder's pid (first line) and the processes it started; they inherit the
    lock, so it is free again only once all of them are gone, however they end (the kernel drops
    a lock with the last open descriptor: SIGKILL included).
    """

    def __init__(self, data_dir: Path) -> None:
        self.data_dir = data_dir
        self.path = data_dir / LOCK_FILE
        self.fd: int | None = None

    def acquire(self) -> None:
        if self.fd is not None:
            return
        self.data_dir.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holders = self._holders(fd)
            os.close(fd)
            raise DataDirBusy(
                f"another stack uses {self.data_dir}{holders}: stop it first "
                "(Ctrl-C in its terminal), or give this one another data directory"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()} {' '.join(sys.argv)[:200]}\n".encode())
        self.fd = fd

    def note_child(self, name: str, pid: int) -> None:
        """Name a process that inherits the lock, so a refusal can say who still holds it."""
        if self.fd is not None:
            os.write(self.fd, f"{pid} {name}\n".encode())

    def release(self) -> None:
        if self.fd is None:
            return
        with contextlib.suppress(OSError):
            os.ftruncate(self.fd, 0)
        os.close(self.fd)  # the flock goes with the last descriptor (children's too)
        self.fd = None

    @staticmethod
    def _holders(fd: int) -> str:
        """ ", held by pid 123 (python -m devstack.up); also pids 124 (temporal), …" from the file."""
        text = os.pread(fd, 4096, 0).decode(errors="replace")
        rows = [line.split(" ", 1) for line in text.splitlines() if line.strip()]
        pids = [(int(row[0]), row[1] if len(row) > 1 else "") for row in rows if row[0].isdigit()]
        if not pids:
            return ""
        (pid, what), *children = pids
        said = f", held by pid {pid}" + (f" ({what})" if what else "")
        if not _alive(pid):
            said += " (gone, but processes it started are still running)"
        running = [f"{child} ({name})" for child, name in children if _alive(child)]
        if running:
            said += f"; its processes still running: pids {', '.join(running)}"
        return said


@dataclass(frozen=True)
class Ports:
    temporal: int = 7233
    temporal_ui: int = 8233
    sandbox: int = 8765
    api: int = 8000
    codec: int = 8234

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), free_port(), free_port(), free_port())

    def check_free(self) -> None:
        busy = [f"{name} {port}" for name, port in self.__dict__.items() if not port_is_free(port)]
        if busy:
            raise RuntimeError(
                f"ports in use: {', '.join(busy)} (is another stack running? stop it, or set "
                "TEMPORAL_PORT / TEMPORAL_UI_PORT / QBO_SANDBOX_PORT / API_PORT / CODEC_SERVER_PORT)"
            )


@dataclass
class Proc:
    name: str
    process: subprocess.Popen[bytes]
    log_path: Path

    def tail(self, lines: int = 20) -> str:
        try:
            last = self.log_path.read_text(errors="replace").splitlines()[-lines:]
            # Go servers log stack traces on one line: the message is what helps.
            return "\n".join(line if len(line) < 600 else line[:600] + " …" for line in last)
        except OSError:
            return ""


@dataclass
class Stack:
    data_dir: Path
    ports: Ports = field(default_factory=Ports)
    say: Say = print
    procs: list[Proc] = field(default_factory=list)
    # Set when the Temporal SDK downloaded and runs the dev server (no CLI binary available).
    sdk_server: WorkflowEnvironment | None = None
    sandbox_args: list[str] = field(default_factory=list)  # e.g. ["--seed", "42"]
    cli: TemporalCli | None = None
    temporal: Proc | None = None
    worker: Proc | None = None
    # Start from an empty data directory (the demo and chaos runs), cleared once it is locked.
    fresh: bool = False
    # An existing Temporal server (host:port) to use instead of starting a dev server.
    temporal_address: str | None = None
    data_lock: DataDirLock | None = None
    # The admin API key of every process and client of this stack: ADMIN_API_KEY, or a new one.
    admin_api_key: str = field(default_factory=lambda: Settings.from_env().admin_api_key)
    admin_key_made_here: bool = False

    def __post_init__(self) -> None:
        if not self.admin_api_key:
            self.admin_api_key, self.admin_key_made_here = new_api_key(), True

    def lock(self) -> None:
        """Take the data directory for this stack alone; raises `DataDirBusy` naming who has it.

        Before anything is started, so a second stack never shares the Temporal or store file.
        """
        if self.data_lock is None:
            self.data_lock = DataDirLock(self.data_dir)
        self.data_lock.acquire()
        if self.fresh:
            for entry in self.data_dir.iterdir():
                if entry.name == LOCK_FILE:
                    continue
                if entry.is_dir() and not entry.is_symlink():
                    shutil.rmtree(entry)
                else:
                    entry.unlink()

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.sandbox}"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.api}"

    @property
    def api_urls(self) -> list[str]:
        """Every API process of the stack (the dev stack runs one)."""
        return [self.api_url]

    @property
    def temporal_ui_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.temporal_ui}"

    @property
    def codec_url(self) -> str:
        """The codec server the Web UI decrypts payloads with."""
        return f"http://127.0.0.1:{self.ports.codec}"

    @property
    def settings(self) -> Settings:
        """The service configuration every process of this stack shares."""
        base = Settings.from_env()
        return Settings(
            temporal_address=self.temporal_address or f"127.0.0.1:{self.ports.temporal}",
            temporal_namespace="default",
            task_queue=base.task_queue,
            temporal_ui_url=self.temporal_ui_url,
            database_url=f"sqlite:///{self.data_dir / 'skimmer_qbo.db'}",
            qbo_base_url=self.sandbox_url,
            qbo_token_url=f"{self.sandbox_url}/oauth2/v1/tokens/bearer",
            qbo_authorize_url=f"{self.sandbox_url}/connect/oauth2",
            qbo_revoke_url=f"{self.sandbox_url}/v2/oauth2/tokens/revoke",
            qbo_redirect_uri=f"{self.api_url}/quickbooks/callback",
            qbo_client_id=base.qbo_client_id,
            qbo_client_secret=base.qbo_client_secret,
            token_encryption_key=base.token_encryption_key,
            events_signing_secret=base.events_signing_secret,
            admin_api_key=self.admin_api_key,
            # Unset: every process of the checkout shares the dev key in .data (temporal_platform).
            payload_encryption_keys=base.payload_encryption_keys,
            api_host="127.0.0.1",
            api_port=self.ports.api,
            codec_server_host="127.0.0.1",
            codec_server_port=self.ports.codec,
            # The UI is opened as 127.0.0.1 or as localhost: both are its origin.
            codec_cors_origins=(
                f"{self.temporal_ui_url},http://localhost:{self.ports.temporal_ui}"
            ),
        )

    def _env(self) -> dict[str, str]:
        s = self.settings
        return {
            **os.environ,
            "PYTHONUNBUFFERED": "1",
            "TEMPORAL_ADDRESS": s.temporal_address,
            "TEMPORAL_NAMESPACE": s.temporal_namespace,
            "TEMPORAL_TASK_QUEUE": s.task_queue,
            "TEMPORAL_UI_URL": s.temporal_ui_url,
            "DATABASE_URL": s.database_url,
            "QBO_BASE_URL": s.qbo_base_url,
            "QBO_TOKEN_URL": s.qbo_token_url,
            "QBO_AUTHORIZE_URL": s.qbo_authorize_url,
            "QBO_REVOKE_URL": s.qbo_revoke_url,
            "QBO_REDIRECT_URI": s.qbo_redirect_uri,
            "API_HOST": s.api_host,
            "API_PORT": str(s.api_port),
            "ADMIN_API_KEY": s.admin_api_key,
            "CODEC_SERVER_HOST": s.codec_server_host,
            "CODEC_SERVER_PORT": str(s.codec_server_port),
            "CODEC_CORS_ORIGINS": s.codec_cors_origins,
        }

    def client(self, timeout: float = 30) -> httpx.AsyncClient:
        """An HTTP client that carries the stack's admin key to its APIs (and to nothing else)."""
        return carry_key(httpx.AsyncClient(timeout=timeout), self.api_urls, self.admin_api_key)

    def say_admin_key(self) -> None:
        if self.admin_key_made_here:
            self.say(
                f"Admin API key (made for this run; set ADMIN_API_KEY to keep one): {self.admin_api_key}"
            )
        else:
            self.say("Admin API key: ADMIN_API_KEY from the environment")

    def spawn(self, name: str, args: list[str], extra_env: dict[str, str] | None = None) -> Proc:
        """A child process of this stack, logging to `<data dir>/logs/<name>.log`."""
        logs = self.data_dir / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        log_path = logs / f"{name}.log"
        lock = self.data_lock
        with log_path.open("ab") as log:
            process = subprocess.Popen(
                args,
                cwd=REPO_ROOT,
                env={**self._env(), **(extra_env or {})},
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # Ctrl-C reaches us; we stop the children in order
                # Children hold the data directory too: if we die, it stays taken until they do.
                pass_fds=(lock.fd,) if lock is not None and lock.fd is not None else (),
            )
        if lock is not None:
            lock.note_child(name, process.pid)
        proc = Proc(name, process, log_path)
        self.procs.append(proc)
        return proc

    async def _wait(self, proc: Proc, ready: Callable[[], Awaitable[bool]], timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.process.poll() is not None:
                raise RuntimeError(
                    f"{proc.name} exited with code {proc.process.returncode}; "
                    f"last lines of {proc.log_path}:\n{proc.tail()}"
                )
            if await ready():
                return
            await asyncio.sleep(0.2)
        raise RuntimeError(f"{proc.name} not ready after {timeout:.0f}s; see {proc.log_path}")

    @staticmethod
    def _http_ok(url: str) -> Callable[[], Awaitable[bool]]:
        async def check() -> bool:
            try:
                async with httpx.AsyncClient(timeout=1) as http:
                    return (await http.get(url)).status_code == 200
            except httpx.TransportError:
                return False

        return check

    async def start(self, cli: TemporalCli | None = None) -> None:
        self.lock()
        temporal = None
        if self.temporal_address is None:
            cli = self.cli = cli or resolve_temporal_cli(progress=self.say)
            self.say(f"Temporal CLI: {cli.path or 'downloaded by the Temporal SDK'} ({cli.source})")
            temporal = self.temporal = await self._start_temporal(cli)
        sandbox = self.spawn(
            "qbo-sandbox",
            [
                sys.executable,
                "-m",
                "qbo_sandbox",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.ports.sandbox),
                *self.sandbox_args,
            ],
        )
        if temporal is not None:
            await self._wait(temporal, self._temporal_ready, timeout=60)
        address = self.settings.temporal_address
        added = await register_search_attributes(await Client.connect(address))
        if added:
            self.say(f"Registered search attributes new since this data dir: {', '.join(added)}")
        if self.temporal_address is None:
            self.say(f"Temporal dev server on {address}, Web UI {self.temporal_ui_url}")
        else:
            self.say(f"Temporal server on {address} (not started here)")
        await self._wait(sandbox, self._http_ok(f"{self.sandbox_url}/__sandbox/health"), timeout=30)
        self.say(f"QBO sandbox on {self.sandbox_url}")
        await self.start_codec_server()
        worker = self.start_worker()
        api = self.spawn("api", [sys.executable, "-m", "starter.api"])
        await self._wait(api, self._http_ok(f"{self.api_url}/healthz"), timeout=30)
        await asyncio.sleep(0.5)
        if worker.process.poll() is not None:
            raise RuntimeError(f"worker exited early; last lines of its log:\n{worker.tail()}")
        self.say(f"Worker on task queue {self.settings.task_queue!r}; API on {self.api_url}")
        self.say_admin_key()
        self.say(f"Logs in {self.data_dir / 'logs'}")

    async def start_codec_server(self) -> Proc:
        """The codec server, so the Web UI shows payloads decrypted."""
        codec = self.spawn(
            "codec-server",
            [sys.executable, "-m", "temporal_platform.codec_server"],
            # On 127.0.0.1 and without a key: the dev UI has no login whose token it could pass.
            extra_env={"ADMIN_API_KEY": ""},
        )
        await self._wait(codec, self._http_ok(f"{self.codec_url}/healthz"), timeout=30)
        self.say(f"Codec server on {self.codec_url} (the Web UI decrypts payloads with it)")
        return codec

    def start_worker(self) -> Proc:
        """A fresh worker process (the stack keeps one; see `kill_worker`)."""
        self.worker = self.spawn("worker", [sys.executable, "worker.py"])
        return self.worker

    def kill_worker(self) -> Proc:
        """SIGKILL the worker, as a crash or an OOM kill would, and start a fresh one at once."""
        old = self.worker
        if old is not None:
            if old.process.poll() is None:
                old.process.send_signal(signal.SIGKILL)
            old.process.wait(timeout=10)
            self.procs.remove(old)
        return self.start_worker()

    async def restart_temporal(self, down_for: float = 0.0) -> None:
        """Stop the Temporal dev server and, `down_for` seconds later, start it again on the same
        port and data file."""
        assert self.cli is not None, "start() first"
        if self.sdk_server is not None:
            await self.sdk_server.shutdown()
            self.sdk_server = None
        if self.temporal is not None:
            self.stop_proc(self.temporal, grace=15)
        await asyncio.sleep(down_for)
        self.temporal = await self._start_temporal(self.cli)
        if self.temporal is not None:
            await self._wait(self.temporal, self._temporal_ready, timeout=60)

    def stop_proc(self, proc: Proc, grace: float) -> None:
        """SIGTERM one of the stack's processes, SIGKILL after `grace` seconds, and forget it."""
        proc.process.terminate()
        try:
            proc.process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            proc.process.kill()
            proc.process.wait(timeout=5)
        self.procs.remove(proc)

    async def _start_temporal(self, cli: TemporalCli) -> Proc | None:
        """The dev server as a child process, or (no binary) as the SDK's own download."""
        search_attributes = dev_server_args()
        db_file = str(self.data_dir / "temporal.db")
        if cli.path is None:
            try:
                self.sdk_server = await WorkflowEnvironment.start_local(
                    port=self.ports.temporal,
                    ui=True,
                    ui_port=self.ports.temporal_ui,
                    search_attributes=ALL_KEYS,
                    dev_server_database_filename=db_file,
                    dev_server_extra_args=["--ui-codec-endpoint", self.codec_url],
                    download_dest_dir=str(cache_dir()),
                )
            except Exception as exc:
                raise TemporalCliNotFound(
                    f"{HOW_TO_FIX}\n(the SDK download failed: {exc})"
                ) from exc
            return None
        return self.spawn(
            "temporal",
            [
                str(cli.path), "server", "start-dev",
                "--ip", "127.0.0.1",
                "--port", str(self.ports.temporal),
                "--ui-port", str(self.ports.temporal_ui),
                "--db-filename", db_file,
                # WAL, synced at checkpoints: a killed server loses nothing; only a power cut
                # could lose its last moments, acceptable for a dev stack (production: Postgres).
                "--sqlite-pragma", "journal_mode=wal",
                "--sqlite-pragma", "synchronous=normal",
                "--log-level", "warn",
                # Payloads are encrypted: the UI asks the codec server to show them.
                "--ui-codec-endpoint", self.codec_url,
                *search_attributes,
            ],
        )  # fmt: skip

    async def _temporal_ready(self) -> bool:
        try:
            client = await Client.connect(
                f"127.0.0.1:{self.ports.temporal}", data_converter=data_converter_for(self.settings)
            )
            await client.count_workflows()
            return True
        except Exception:
            return False

    def dead(self) -> list[Proc]:
        return [p for p in self.procs if p.process.poll() is not None]

    async def stop(self) -> None:
        self._stop_processes()
        if self.sdk_server is not None:
            await self.sdk_server.shutdown()
            self.sdk_server = None
        if self.data_lock is not None:
            self.data_lock.release()

    def _stop_processes(self) -> None:
        for proc in reversed(self.procs):
            if proc.process.poll() is None:
                proc.process.terminate()
        deadline = time.monotonic() + 15
        for proc in reversed(self.procs):
            try:
                proc.process.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                proc.process.kill()
                proc.process.wait(timeout=5)
        self.procs.clear()
