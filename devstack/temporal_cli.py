"""Find (or build) the Temporal CLI that runs the local dev server.

Order: $TEMPORAL_CLI → `temporal` on PATH → a cached build in the user cache dir →
`go install github.com/temporalio/cli/cmd/temporal@v1.5.1` into that cache → the SDK's own download.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from devstack.gobuild import GoBuildFailed, Progress, go_install, stderr_progress, user_cache
from devstack.versions import TEMPORAL_CLI_VERSION

CLI_VERSION = f"v{TEMPORAL_CLI_VERSION}"  # pinned in devstack/versions.py
CLI_MODULE = "github.com/temporalio/cli/cmd/temporal"
_stderr = stderr_progress


class TemporalCliNotFound(RuntimeError):
    pass


HOW_TO_FIX = f"""No Temporal CLI could be found or built. Any one of these fixes it:
  1. set TEMPORAL_CLI=/path/to/temporal (a CLI binary you already have);
  2. put `temporal` on PATH (brew install temporal, or the archive from temporal.io);
  3. install Go (https://go.dev/dl) and run again: the CLI is built once with
     `go install {CLI_MODULE}@{CLI_VERSION}` into the user cache dir;
  4. allow internet access so the Temporal SDK can download the dev server itself."""


@dataclass(frozen=True)
class TemporalCli:
    """A resolved CLI. `path` is None when the SDK should download the dev server itself."""

    path: Path | None
    source: str


def cache_dir() -> Path:
    return user_cache() / f"temporal-{CLI_VERSION}"


def cached_binary() -> Path:
    return cache_dir() / ("temporal.exe" if os.name == "nt" else "temporal")


def _is_executable(path: Path) -> bool:
    return path.is_file() and os.access(path, os.X_OK)


def build_with_go(go: str, progress: Progress = _stderr) -> Path:
    """`go install` the pinned CLI into the cache dir, printing progress; returns the binary."""
    try:
        return go_install(
            go,
            CLI_MODULE,
            CLI_VERSION,
            cached_binary(),
            label="the Temporal CLI",
            progress=progress,
        )
    except GoBuildFailed as exc:
        raise TemporalCliNotFound(f"{exc}\n\n{HOW_TO_FIX}") from exc


def resolve_temporal_cli(
    *, allow_build: bool = True, allow_sdk_download: bool = True, progress: Progress = _stderr
) -> TemporalCli:
    explicit = os.environ.get("TEMPORAL_CLI", "").strip()
    if explicit:
        path = Path(explicit).expanduser()
        if not _is_executable(path):
            raise TemporalCliNotFound(f"TEMPORAL_CLI={explicit} is not an executable file")
        return TemporalCli(path, "TEMPORAL_CLI")
    on_path = shutil.which("temporal")
    if on_path:
        return TemporalCli(Path(on_path), "PATH")
    cached = cached_binary()
    if _is_executable(cached):
        return TemporalCli(cached, "cache")
    go = shutil.which("go")
    if allow_build and go:
        return TemporalCli(build_with_go(go, progress), "go build")
    if allow_sdk_download:
        progress("No Temporal CLI found and no Go: the Temporal SDK will try to download one.")
        return TemporalCli(None, "sdk download")
    raise TemporalCliNotFound(HOW_TO_FIX)


def main() -> int:
    """`python -m devstack.temporal_cli`: print the resolved binary (building it if needed)."""
    try:
        cli = resolve_temporal_cli()
    except TemporalCliNotFound as exc:
        _stderr(str(exc))
        return 1
    print(cli.path or "(the Temporal SDK will download the dev server)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
