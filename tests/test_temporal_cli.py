"""The Temporal CLI resolver: TEMPORAL_CLI → PATH → cache → go install → SDK download."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from devstack.temporal_cli import (
    CLI_MODULE,
    CLI_VERSION,
    TemporalCliNotFound,
    cached_binary,
    resolve_temporal_cli,
)
from tests.fake_programs import bare_bin_dir, script


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No TEMPORAL_CLI, a PATH with only /bin-like basics, an empty cache dir."""
    bin_dir = bare_bin_dir(tmp_path / "bin", ("sh", "cat", "mkdir", "cp", "chmod"))
    monkeypatch.delenv("TEMPORAL_CLI", raising=False)
    monkeypatch.setenv("PATH", str(bin_dir))
    monkeypatch.setenv("TEMPORAL_CLI_CACHE_DIR", str(tmp_path / "cache"))
    return bin_dir


def test_temporal_cli_variable_wins(
    isolated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    script(isolated / "temporal", "exit 0")
    mine = script(tmp_path / "mine" / "temporal", "exit 0")
    monkeypatch.setenv("TEMPORAL_CLI", str(mine))
    assert resolve_temporal_cli().path == mine
    monkeypatch.setenv("TEMPORAL_CLI", str(tmp_path / "missing"))
    with pytest.raises(TemporalCliNotFound, match="not an executable"):
        resolve_temporal_cli()


def test_path_then_cache(isolated: Path) -> None:
    cached = script(cached_binary(), "exit 0")
    on_path = script(isolated / "temporal", "exit 0")
    assert resolve_temporal_cli().source == "PATH"
    on_path.unlink()
    found = resolve_temporal_cli()
    assert (found.path, found.source) == (cached, "cache")
    assert f"temporal-{CLI_VERSION}" in str(cached)


def test_go_install_builds_into_the_cache_with_progress(isolated: Path) -> None:
    script(
        isolated / "go",
        'echo "go: downloading go.temporal.io/server v1.29.1"\n'
        'echo "$@" > "$GOBIN/args"\n'
        'printf "#!/bin/sh\\necho built\\n" > "$GOBIN/temporal"; chmod +x "$GOBIN/temporal"',
    )
    said: list[str] = []
    found = resolve_temporal_cli(progress=said.append)
    assert (found.path, found.source) == (cached_binary(), "go build")
    assert found.path is not None and os.access(found.path, os.X_OK)
    assert any("Building the Temporal CLI" in line for line in said)
    assert any("go: downloading" in line for line in said)
    assert resolve_temporal_cli().source == "cache"  # built once, reused


def test_failed_go_build_names_every_way_out(isolated: Path) -> None:
    script(isolated / "go", 'echo "go: module lookup disabled"; exit 1')
    with pytest.raises(TemporalCliNotFound) as err:
        resolve_temporal_cli(progress=lambda _: None)
    message = str(err.value)
    assert "module lookup disabled" in message
    for way_out in (
        "TEMPORAL_CLI=",
        "on PATH",
        f"go install {CLI_MODULE}@{CLI_VERSION}",
        "internet",
    ):
        assert way_out in message
    assert not cached_binary().exists()


def test_nothing_available(isolated: Path) -> None:
    assert resolve_temporal_cli(progress=lambda _: None).source == "sdk download"
    with pytest.raises(TemporalCliNotFound, match="Any one of these fixes it"):
        resolve_temporal_cli(allow_sdk_download=False)
