"""Plain-text tables and times for the command line: columns padded to their widest cell, the
last one left free so long messages wrap in the terminal instead of being cut."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime


def render_table(rows: Sequence[Sequence[str]], headers: Sequence[str] = ()) -> str:
    """`headers` (if any) above `rows`; every row has the same number of cells."""
    every = [headers, *rows] if headers else list(rows)
    if not every:
        return ""
    widths = [max(len(cell) for cell in column) for column in zip(*every, strict=True)]
    lines = []
    for row in every:
        cells = [cell.ljust(width) for cell, width in zip(row[:-1], widths, strict=False)]
        lines.append("  ".join([*cells, row[-1]]).rstrip())
    return "\n".join(lines)


def local_time(at: datetime | None) -> str:
    """In the operator's own time zone, named: at 3 a.m. nobody converts from UTC."""
    if at is None:
        return ""
    return at.astimezone().strftime("%Y-%m-%d %H:%M:%S %Z")
