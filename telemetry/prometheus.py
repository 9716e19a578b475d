"""Prometheus text from the Temporal SDK's metric buffer: the SDK's own metrics and ours alike.

Counters gain `_total`, durations are seconds (`_seconds`); label sets may differ per sample.
"""

from __future__ import annotations

import bisect
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from temporalio.runtime import (
    BUFFERED_METRIC_KIND_COUNTER,
    BUFFERED_METRIC_KIND_GAUGE,
    BufferedMetricUpdate,
)

# Seconds; QBO calls and Temporal tasks mostly land in the lower half.
DEFAULT_BUCKETS: tuple[float, ...] = (
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0,
)  # fmt: skip
# Units the SDK gives durations (the buffer reports them as seconds).
DURATION_UNITS = frozenset({"s", "ms", "duration", "seconds"})

Labels = tuple[tuple[str, str], ...]


@dataclass
class _Histogram:
    bounds: Sequence[float]
    counts: list[int]
    total: float = 0.0
    count: int = 0

    def observe(self, value: float) -> None:
        index = bisect.bisect_left(self.bounds, value)
        if index < len(self.counts):
            self.counts[index] += 1
        self.total += value
        self.count += 1


@dataclass
class _Family:
    name: str
    kind: str  # "counter" | "gauge" | "histogram"
    documentation: str
    values: dict[Labels, float] = field(default_factory=dict)
    histograms: dict[Labels, _Histogram] = field(default_factory=dict)


def exposed_name(name: str, kind: str, unit: str | None) -> str:
    """The Prometheus name of a buffered metric (without a counter's `_total`)."""
    if kind == "counter":
        return name.removesuffix("_total")
    if kind == "histogram" and unit in DURATION_UNITS and not name.endswith("_seconds"):
        return f"{name}_seconds"
    return name


class BufferedMetrics(Collector):
    """Folds the buffer's updates (counter deltas, gauge values, histogram observations) into
    running totals; thread-safe, since the worker's metrics server answers from its own thread."""

    def __init__(self, buckets: Mapping[str, Sequence[float]] | None = None) -> None:
        self._buckets = dict(buckets or {})
        self._lock = threading.Lock()
        self._families: dict[str, _Family] = {}

    def add(self, updates: Sequence[BufferedMetricUpdate]) -> None:
        with self._lock:
            for update in updates:
                self._add(update)

    def _add(self, update: BufferedMetricUpdate) -> None:
        metric = update.metric
        kind = {BUFFERED_METRIC_KIND_COUNTER: "counter", BUFFERED_METRIC_KIND_GAUGE: "gauge"}.get(
            metric.kind, "histogram"
        )
        name = exposed_name(metric.name, kind, metric.unit)
        family = self._families.get(name)
        if family is None:
            family = self._families[name] = _Family(name, kind, metric.description or name)
        labels: Labels = tuple(sorted((k, str(v)) for k, v in update.attributes.items()))
        value = float(update.value)
        if kind == "counter":
            family.values[labels] = family.values.get(labels, 0.0) + value
        elif kind == "gauge":
            family.values[labels] = value
        else:
            histogram = family.histograms.get(labels)
            if histogram is None:
                bounds = self._buckets.get(name, DEFAULT_BUCKETS)
                histogram = family.histograms[labels] = _Histogram(bounds, [0] * len(bounds))
            histogram.observe(value)

    def collect(self) -> Iterator[Metric]:
        with self._lock:
            for family in sorted(self._families.values(), key=lambda f: f.name):
                yield _exposed(family)


def _exposed(family: _Family) -> Metric:
    metric = Metric(family.name, family.documentation, family.kind)
    if family.kind == "counter":
        for labels, value in family.values.items():
            metric.add_sample(f"{family.name}_total", dict(labels), value)
    elif family.kind == "gauge":
        for labels, value in family.values.items():
            metric.add_sample(family.name, dict(labels), value)
    for labels, histogram in family.histograms.items():
        cumulative = 0
        for bound, count in zip(histogram.bounds, histogram.counts, strict=True):
            cumulative += count
            le = {**dict(labels), "le": _bound(bound)}
            metric.add_sample(f"{family.name}_bucket", le, cumulative)
        inf = {**dict(labels), "le": "+Inf"}
        metric.add_sample(f"{family.name}_bucket", inf, histogram.count)
        metric.add_sample(f"{family.name}_count", dict(labels), histogram.count)
        metric.add_sample(f"{family.name}_sum", dict(labels), histogram.total)
    return metric


def _bound(value: float) -> str:
    return repr(float(value))
