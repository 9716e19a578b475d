"""Fake programs for the resolver tests: shell scripts standing in for `go` and built binaries,
on a PATH that holds only them and a few basic tools."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path


def script(path: Path, body: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"#!/bin/sh\n{body}\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


def bare_bin_dir(bin_dir: Path, tools: Iterable[str]) -> Path:
    """`bin_dir` with links to these system tools only (for a PATH without `go` or `temporal`)."""
    bin_dir.mkdir(parents=True, exist_ok=True)
    for tool in tools:
        found = next(
            (Path(d) / tool for d in ("/bin", "/usr/bin") if (Path(d) / tool).exists()), None
        )
        if found:
            os.symlink(found, bin_dir / tool)
    return bin_dir
