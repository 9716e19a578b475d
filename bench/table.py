"""The one table `make bench` prints: a figure per row, with its target and whether it is met."""

from __future__ import annotations

import os
import platform
import sys
from dataclasses import dataclass


@dataclass(frozen=True)
class Figure:
    part: str
    name: str
    value: str
    target: str = ""
    met: bool | None = None  # None: a figure shown without a target


def verdict(figure: Figure) -> str:
    if figure.met is None:
        return ""
    return "yes" if figure.met else "NO"


def render(figures: list[Figure]) -> list[str]:
    """Aligned rows: part | figure | value | target | met."""
    header = ("part", "figure", "value", "target", "met")
    rows = [header] + [(f.part, f.name, f.value, f.target, verdict(f)) for f in figures]
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]

    def line(row: tuple[str, ...]) -> str:
        return " | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True))

    return [line(header), "-+-".join("-" * w for w in widths)] + [line(r) for r in rows[1:]]


def missed(figures: list[Figure]) -> list[Figure]:
    return [f for f in figures if f.met is False]


def result_line(figures: list[Figure]) -> str:
    gone = missed(figures)
    return "result: all targets met" if not gone else f"result: {len(gone)} missed"


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {sys.version.split()[0]}"


def pct(values: list[float], q: float) -> float:
    """The q-quantile by nearest rank (q=0.5: the median of an odd count)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]
