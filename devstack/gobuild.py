"""`go install` a pinned Go program into the user cache dir, printing progress as it goes.

The Temporal CLI (dev server), the Temporal server, its SQL schema tool and the Web UI server are
all built this way: the machine's Go and the Go module proxy are the only sources they need.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from platformdirs import user_cache_dir

APP_NAME = "skimmer-qbo-sync"

Progress = Callable[[str], None]


def stderr_progress(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def user_cache() -> Path:
    """`TEMPORAL_CLI_CACHE_DIR`, else the platform's user cache dir for this app."""
    override = os.environ.get("TEMPORAL_CLI_CACHE_DIR")
    return Path(override) if override else Path(user_cache_dir(APP_NAME))


class GoBuildFailed(RuntimeError):
    pass


def go_binary() -> str | None:
    return shutil.which("go")


def go_install(
    go: str,
    package: str,
    version: str,
    target: Path,
    *,
    label: str,
    progress: Progress = stderr_progress,
    extra_env: dict[str, str] | None = None,
) -> Path:
    """`go install package@version`, then move the binary to `target` (atomically).

    Each build stages into a directory of its own, so two programs that both build to
    `server` never overwrite each other, and a half-built binary never sits at `target`.
    """
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = target.parent / f"build-{target.name}-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    progress(f"Building {label} {version} with Go into {target.parent} (first run only)...")
    started = time.monotonic()
    process = subprocess.Popen(
        [go, "install", f"{package}@{version}"],
        env={**os.environ, **(extra_env or {}), "GOBIN": str(staging)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    done = threading.Event()

    def heartbeat() -> None:
        while not done.wait(20):
            progress(f"  ... still building {label} ({time.monotonic() - started:.0f}s)")

    threading.Thread(target=heartbeat, daemon=True).start()
    output: list[str] = []
    assert process.stdout is not None
    downloads = 0
    for line in process.stdout:
        output.append(line.rstrip())
        if line.startswith("go: downloading"):
            downloads += 1
            if downloads % 25 == 1:
                progress(f"  {line.strip()} (module {downloads})")
        else:
            progress(f"  {line.rstrip()}")
    code = process.wait()
    done.set()
    built = staging / package.rstrip("/").rsplit("/", 1)[-1]  # go names it after the package
    if code != 0 or not built.is_file():
        shutil.rmtree(staging, ignore_errors=True)
        tail = "\n".join(output[-15:])
        raise GoBuildFailed(f"`go install {package}@{version}` failed (exit {code}):\n{tail}")
    os.replace(built, target)
    shutil.rmtree(staging, ignore_errors=True)
    progress(f"Built {target} in {time.monotonic() - started:.0f}s")
    return target
