"""A throwaway PostgreSQL server in a temporary directory (Debian's `postgresql` binaries, see
`devstack.postgres`), so the store's tests run against a real Postgres as well as SQLite."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from devstack.postgres import INSTALL_HINT, PostgresServer, postgres_bin_dir
from tests.processes import free_port

__all__ = ["INSTALL_HINT", "enterable_dir", "new_database", "postgres_bin_dir", "running_postgres"]


@contextmanager
def enterable_dir(prefix: str) -> Iterator[Path]:
    """A temporary directory PostgreSQL's own user may pass through (pytest's are root-only)."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextmanager
def running_postgres(bin_dir: Path) -> Iterator[str]:
    """Start a PostgreSQL server on a free 127.0.0.1 port; yield its `postgresql+psycopg://` URL."""
    # Not under pytest's tmp dirs: those are private to root and the server user must enter.
    base = Path(tempfile.mkdtemp(prefix="skimmer-pg-"))
    server = PostgresServer(bin_dir, base, free_port(), durable=False, max_connections=200)
    try:
        server.start()
        yield server.url
    finally:
        server.stop()
        shutil.rmtree(base, ignore_errors=True)


def new_database(server_url: str) -> str:
    """A fresh, empty database on the server (one per test keeps tests apart)."""
    import uuid

    import psycopg

    name = f"t_{uuid.uuid4().hex[:16]}"
    conninfo = server_url.replace("postgresql+psycopg://", "postgresql://")
    with psycopg.connect(conninfo, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return server_url.rsplit("/", 1)[0] + f"/{name}"
