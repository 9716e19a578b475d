"""A throwaway PostgreSQL server in a temporary directory (Debian's `postgresql` binaries), so the
store's tests run against a real Postgres as well as SQLite."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from tests.processes import free_port

INSTALL_HINT = "PostgreSQL is not installed: `apt-get install postgresql` to run the Postgres tests"


def postgres_bin_dir() -> Path | None:
    """Where `initdb` and `postgres` live: PATH first, then Debian's versioned directories."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    return None


def _unprivileged_user() -> pwd.struct_passwd | None:
    """PostgreSQL refuses to run as root: as root, run it as `postgres` (Debian) or `nobody`."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name)
        except KeyError:
            continue
    raise RuntimeError("running as root and neither a `postgres` nor a `nobody` user exists")


def _as_user(user: pwd.struct_passwd | None) -> dict[str, Any]:
    if user is None:
        return {}
    return {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}


@contextmanager
def running_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a PostgreSQL server on a free 127.0.0.1 port; yield its `postgresql+psycopg://` URL."""
    user = _unprivileged_user()
    # Not under pytest's tmp dirs: those are private to root and the server user must enter.
    base = Path(tempfile.mkdtemp(prefix="skimmer-pg-"))
    data_dir = base / "data"
    data_dir.mkdir()
    if user is not None:
        os.chown(base, user.pw_uid, user.pw_gid)
        os.chown(data_dir, user.pw_uid, user.pw_gid)
    env = {**os.environ, "LC_ALL": "C", "HOME": str(base)}
    subprocess.run(
        [
            str(bin_dir / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            "postgres",
            "--auth=trust",
            "-E",
            "UTF8",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env=env,
        cwd=base,
        **_as_user(user),
    )
    port = free_port()
    server = subprocess.Popen(
        [
            str(bin_dir / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-h",
            "127.0.0.1",
            "-k",
            str(base),
            # A throwaway cluster: durability costs time and buys nothing here.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
        ],
        stdout=subprocess.DEVNULL,
        stderr=(base / "server.log").open("wb"),
        env=env,
        cwd=base,
        **_as_user(user),
    )
    url = f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    try:
        _wait_ready(url, server, base)
        yield url
    finally:
        server.send_signal(signal.SIGINT)  # "fast" shutdown: roll back and stop now
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        shutil.rmtree(base, ignore_errors=True)


def _wait_ready(url: str, server: subprocess.Popen[bytes], base: Path) -> None:
    import psycopg

    conninfo = url.replace("postgresql+psycopg://", "postgresql://")
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            log = (base / "server.log").read_text(errors="replace")
            raise RuntimeError(f"postgres exited with code {server.returncode}:\n{log}")
        try:
            with psycopg.connect(conninfo, connect_timeout=1):
                return
        except psycopg.OperationalError:
            time.sleep(0.1)
    raise TimeoutError("postgres did not accept connections within 30 s")


def new_database(server_url: str) -> str:
    """A fresh, empty database on the server (one per test keeps tests apart)."""
    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
