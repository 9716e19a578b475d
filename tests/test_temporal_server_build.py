"""The Temporal server build for `make up-cluster`: TEMPORAL_SERVER_DIR → cache → `go install` of
the server, its schema tool and the Web UI server (progress printed), else a message with the way
out."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.temporal_server import (
    TemporalServerNotFound,
    cache_dir,
    resolve_temporal_server,
)
from devstack.versions import TEMPORAL_SERVER_VERSION, TEMPORAL_UI_VERSION
from tests.fake_programs import bare_bin_dir, script


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A PATH with a shell and a fake `go` only, an empty cache dir, no TEMPORAL_SERVER_DIR."""
    bin_dir = bare_bin_dir(tmp_path / "bin", ("sh", "echo", "basename", "chmod", "printf"))
    monkeypatch.delenv("TEMPORAL_SERVER_DIR", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("TEMPORAL_CLI_CACHE_DIR", str(tmp_path / "cache"))
    return bin_dir


FAKE_GO = (
    # `go install <pkg>@<version>`: a binary named after the package, saying what it was built from.
    'echo "go: downloading $2"\n'
    'pkg="${2%@*}"; name=$(basename "$pkg")\n'
    'printf "#!/bin/sh\\necho %s\\n" "$2" > "$GOBIN/$name"; chmod +x "$GOBIN/$name"'
)


def test_the_server_schema_tool_and_web_ui_are_built_once_at_the_pinned_versions(
    isolated: Path,
) -> None:
    script(isolated / "go", FAKE_GO)
    said: list[str] = []
    build = resolve_temporal_server(progress=said.append)
    assert build.root == cache_dir()
    built = {
        path.name: path.read_text() for path in (build.server, build.sql_tool, build.ui_server)
    }
    assert (
        f"go.temporal.io/server/cmd/server@v{TEMPORAL_SERVER_VERSION}" in built["temporal-server"]
    )
    assert f"cmd/tools/sql@v{TEMPORAL_SERVER_VERSION}" in built["temporal-sql-tool"]
    assert f"ui-server/v2/cmd/server@v{TEMPORAL_UI_VERSION}" in built["temporal-ui-server"]
    assert sum("Building" in line for line in said) == 3
    (isolated / "go").unlink()  # built once: no Go needed any more
    assert resolve_temporal_server(progress=said.append).root == build.root


def test_without_go_the_message_names_the_ways_out(isolated: Path) -> None:
    with pytest.raises(TemporalServerNotFound) as err:
        resolve_temporal_server(progress=lambda _: None)
    assert "go install go.temporal.io/server/cmd/server@v" in str(err.value)
    assert "TEMPORAL_SERVER_DIR" in str(err.value)


def test_a_server_dir_lacking_a_program_is_refused_naming_it(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ready = tmp_path / "ready"
    script(ready / "temporal-server", "true")
    script(ready / "temporal-sql-tool", "true")
    monkeypatch.setenv("TEMPORAL_SERVER_DIR", str(ready))
    with pytest.raises(TemporalServerNotFound, match="lacks temporal-ui-server"):
        resolve_temporal_server(progress=lambda _: None)
    script(ready / "temporal-ui-server", "true")
    assert resolve_temporal_server(progress=lambda _: None).root == ready
