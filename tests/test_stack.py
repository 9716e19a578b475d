"""The local stack's last resort, the SDK's own download, fails with every way out named."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.stack import Ports, Stack
from devstack.temporal_cli import TemporalCli, TemporalCliNotFound


async def test_sdk_download_failure_names_every_way_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_CLI_CACHE_DIR", str(tmp_path / "cache"))
    # An unroutable download address stands for a machine without internet access.
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:9")
    stack = Stack(data_dir=tmp_path / "stack", ports=Ports.free(), say=lambda _: None)
    with pytest.raises(TemporalCliNotFound) as err:
        await stack.start(TemporalCli(None, "sdk download"))
    await stack.stop()
    message = str(err.value)
    assert "the SDK download failed" in message
    assert "TEMPORAL_CLI=" in message and "go install" in message
    assert stack.procs == []
