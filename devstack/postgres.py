"""PostgreSQL from Debian's `postgresql` binaries, as a child process: a durable one in a data
directory for `make up-cluster`, or a throwaway one for tests. Installed with apt when missing."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import signal
import subprocess
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from devstack.gobuild import Progress, stderr_progress

INSTALL_HINT = (
    "PostgreSQL is not installed: `apt-get install postgresql` (Debian/Ubuntu; as root) "
    "provides initdb and postgres"
)


def postgres_bin_dir() -> Path | None:
    """Where `initdb` and `postgres` live: PATH first, then Debian's versioned directories."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("postgres"):
        return Path(on_path).resolve().parent
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if (Path(candidate) / "initdb").exists() and (Path(candidate) / "postgres").exists():
            return Path(candidate)
    return None


def install_postgres(progress: Progress = stderr_progress) -> Path | None:
    """The binaries' directory, installing Debian's `postgresql` with apt when we may (root)."""
    found = postgres_bin_dir()
    if found is not None or os.geteuid() != 0 or shutil.which("apt-get") is None:
        return found
    progress("Installing PostgreSQL: apt-get install postgresql (once)...")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update", "-qq"],
        ["apt-get", "install", "-y", "-qq", "postgresql"],
    ):
        if subprocess.run(command, env=env, check=False).returncode != 0:
            progress(f"`{' '.join(command)}` failed")
            return None
    return postgres_bin_dir()


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


def _check_enterable(directory: Path, user: str) -> None:
    """As root the server runs as `user`, who must be able to pass through every parent."""
    for folder in (directory, *directory.parents):
        if not folder.stat().st_mode & 0o001:
            raise RuntimeError(
                f"PostgreSQL runs as user {user!r} here (not as root) and cannot enter {folder}: "
                f"choose a data directory outside it, or `chmod o+x {folder}`"
            )


@dataclass
class PostgresServer:
    """One PostgreSQL server on 127.0.0.1:`port` whose cluster lives in `base / "data"`.

    `durable=False` turns fsync off (throwaway test servers); a stack's server keeps it on, so a
    crash of the machine loses nothing Temporal was told is written.
    """

    bin_dir: Path
    base: Path
    port: int
    durable: bool = True
    max_connections: int = 300
    process: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    @property
    def data_dir(self) -> Path:
        return self.base / "data"

    @property
    def log_path(self) -> Path:
        return self.base / "server.log"

    def start(self, timeout: float = 60.0) -> None:
        user = _unprivileged_user()
        self.base.mkdir(parents=True, exist_ok=True)
        if user is not None:
            _check_enterable(self.base.parent.resolve(), user.pw_name)
        env = {**os.environ, "LC_ALL": "C", "HOME": str(self.base)}
        if user is not None:  # the server user must enter its directories
            os.chown(self.base, user.pw_uid, user.pw_gid)
        if not (self.data_dir / "PG_VERSION").exists():
            shutil.rmtree(self.data_dir, ignore_errors=True)
            self.data_dir.mkdir()
            if user is not None:
                os.chown(self.data_dir, user.pw_uid, user.pw_gid)
            subprocess.run(
                [
                    str(self.bin_dir / "initdb"), "-D", str(self.data_dir), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8",
                ],
                check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                env=env, cwd=self.base, **_as_user(user),
            )  # fmt: skip
        (self.data_dir / "postmaster.pid").unlink(missing_ok=True)  # a SIGKILLed run's leftover
        settings = ["-c", f"max_connections={self.max_connections}"]
        if not self.durable:
            # A throwaway cluster: durability costs time and buys nothing here.
            for option in ("fsync=off", "synchronous_commit=off", "full_page_writes=off"):
                settings += ["-c", option]
        self.process = subprocess.Popen(
            [
                str(self.bin_dir / "postgres"), "-D", str(self.data_dir), "-p", str(self.port),
                "-h", "127.0.0.1", "-k", str(self.base), *settings,
            ],
            stdout=subprocess.DEVNULL, stderr=self.log_path.open("ab"),
            env=env, cwd=self.base, start_new_session=True, **_as_user(user),
        )  # fmt: skip
        self._wait_ready(timeout)

    def _wait_ready(self, timeout: float) -> None:
        import psycopg

        assert self.process is not None
        conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_path.read_text(errors="replace")[-3000:]
                raise RuntimeError(f"postgres exited with code {self.process.returncode}:\n{log}")
            try:
                with psycopg.connect(conninfo, connect_timeout=1):
                    return
            except psycopg.OperationalError:
                time.sleep(0.1)
        raise TimeoutError(f"postgres did not accept connections within {timeout:.0f} s")

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: roll back and stop now
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def ensure_database(self, name: str) -> str:
        """Create database `name` unless it exists; returns its URL."""
        import psycopg

        conninfo = self.url.replace("postgresql+psycopg://", "postgresql://")
        with psycopg.connect(conninfo, autocommit=True) as conn:
            exists = conn.execute(
                "SELECT 1 FROM pg_database WHERE datname = %s", (name,)
            ).fetchone()
            if exists is None:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url.rsplit("/", 1)[0] + f"/{name}"

    def new_database(self) -> str:
        """A fresh, empty database on the server (one per test keeps tests apart)."""
        return self.ensure_database(f"t_{uuid.uuid4().hex[:16]}")
