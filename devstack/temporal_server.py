"""Find (or build) the production Temporal server, its SQL schema tool and the Web UI server.

`make up-cluster` runs these, not the CLI's dev server: the same server release production runs,
on PostgreSQL. Each is built once with `go install` into `<user cache>/temporal-server-<version>/`
(progress printed; minutes on a cold Go cache). The schema tool carries the server's SQL schemas.
`TEMPORAL_SERVER_DIR` points at a directory holding the three binaries instead.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from devstack.gobuild import (
    GoBuildFailed,
    Progress,
    go_binary,
    go_install,
    stderr_progress,
    user_cache,
)
from devstack.versions import (
    TEMPORAL_SERVER_MODULE as SERVER_MODULE,
)
from devstack.versions import (
    TEMPORAL_SERVER_VERSION,
    TEMPORAL_UI_VERSION,
)
from devstack.versions import (
    TEMPORAL_UI_MODULE as UI_MODULE,
)


@dataclass(frozen=True)
class Program:
    file_name: str
    module: str
    package: str
    version: str
    label: str


def _programs() -> tuple[Program, ...]:
    server, ui = f"v{TEMPORAL_SERVER_VERSION}", f"v{TEMPORAL_UI_VERSION}"
    return (
        Program(
            "temporal-server",
            SERVER_MODULE,
            f"{SERVER_MODULE}/cmd/server",
            server,
            "the Temporal server",
        ),
        Program(
            "temporal-sql-tool",
            SERVER_MODULE,
            f"{SERVER_MODULE}/cmd/tools/sql",
            server,
            "Temporal's SQL schema tool",
        ),
        Program(
            "temporal-ui-server", UI_MODULE, f"{UI_MODULE}/cmd/server", ui, "the Temporal Web UI"
        ),
    )


HOW_TO_FIX = f"""The Temporal server {TEMPORAL_SERVER_VERSION} could not be found or built. Either:
  1. install Go (https://go.dev/dl; the machine's Go must be >= 1.26) and run again: it is built
     once with `go install {SERVER_MODULE}/cmd/server@v{TEMPORAL_SERVER_VERSION}` (and the schema
     tool and Web UI server) into the user cache dir; or
  2. set TEMPORAL_SERVER_DIR to a directory holding temporal-server, temporal-sql-tool and
     temporal-ui-server, built from those modules at those versions."""


class TemporalServerNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class TemporalServerBuild:
    """The programs `make up-cluster` needs, all in one directory."""

    root: Path

    @property
    def server(self) -> Path:
        return self.root / "temporal-server"

    @property
    def sql_tool(self) -> Path:
        return self.root / "temporal-sql-tool"

    @property
    def ui_server(self) -> Path:
        return self.root / "temporal-ui-server"

    def missing(self) -> list[str]:
        wanted = [self.server, self.sql_tool, self.ui_server]
        return [p.name for p in wanted if not (p.is_file() and os.access(p, os.X_OK))]


def cache_dir() -> Path:
    return user_cache() / f"temporal-server-v{TEMPORAL_SERVER_VERSION}"


def resolve_temporal_server(
    *, allow_build: bool = True, progress: Progress = stderr_progress
) -> TemporalServerBuild:
    explicit = os.environ.get("TEMPORAL_SERVER_DIR", "").strip()
    if explicit:
        build = TemporalServerBuild(Path(explicit).expanduser())
        if build.missing():
            raise TemporalServerNotFound(
                f"TEMPORAL_SERVER_DIR={explicit} lacks {', '.join(build.missing())}"
            )
        return build
    build = TemporalServerBuild(cache_dir())
    missing = build.missing()
    if not missing:
        return build
    go = go_binary()
    if not allow_build or go is None:
        raise TemporalServerNotFound(HOW_TO_FIX)
    try:
        for program in _programs():
            target = build.root / program.file_name
            if program.file_name in missing:
                go_install(
                    go, program.package, program.version, target,
                    label=program.label, progress=progress,
                )  # fmt: skip
    except (GoBuildFailed, OSError) as exc:
        raise TemporalServerNotFound(f"{exc}\n\n{HOW_TO_FIX}") from exc
    return build


def main() -> int:
    """`python -m devstack.temporal_server`: print where the build is (building it if needed)."""
    try:
        build = resolve_temporal_server()
    except TemporalServerNotFound as exc:
        stderr_progress(str(exc))
        return 1
    print(build.root)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
