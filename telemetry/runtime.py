"""The process's Temporal runtime: its metric buffer holds the SDK's metrics and ours, and its
Core logs go to Python logging (so they come out as JSON like every other line)."""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field
from functools import cache

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4
from temporalio.common import MetricMeter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    MetricBuffer,
    MetricBufferDurationFormat,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)

from telemetry.metrics import BUCKETS
from telemetry.prometheus import BufferedMetrics

log = logging.getLogger(__name__)

# Updates held between drains; the SDK drops (and logs) what does not fit.
BUFFER_SIZE = 200_000
# How often the buffer is drained between scrapes.
DRAIN_SECONDS = 1.0
# The classic text format every Prometheus reads (our names need none of 1.0.0's escaping).
METRICS_CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4


@dataclass(frozen=True)
class Telemetry:
    """One per process: clients and workers made with `runtime` report into `render()`."""

    runtime: Runtime
    buffer: MetricBuffer
    metrics: BufferedMetrics
    registry: CollectorRegistry
    # One drain at a time: a gauge's values must be folded in the order they were set.
    draining: threading.Lock = field(default_factory=threading.Lock, compare=False)

    @property
    def meter(self) -> MetricMeter:
        """Where code outside workflows records (workflows use `workflow.metric_meter()`)."""
        return self.runtime.metric_meter

    def drain(self) -> None:
        with self.draining:
            self.metrics.add(self.buffer.retrieve_updates())

    def render(self) -> bytes:
        """Prometheus text of everything recorded until now."""
        self.drain()
        return generate_latest(self.registry)


def new_telemetry() -> Telemetry:
    buffer = MetricBuffer(BUFFER_SIZE, MetricBufferDurationFormat.SECONDS)
    runtime = Runtime(
        telemetry=TelemetryConfig(
            metrics=buffer,
            # A label of one constant value says nothing; Prometheus's `job` names the process.
            attach_service_name=False,
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=logging.getLogger("temporalio.core")),
            ),
        )
    )
    metrics = BufferedMetrics(BUCKETS)
    registry = CollectorRegistry(auto_describe=True)
    registry.register(metrics)
    # The process's CPU, memory, file descriptors and GC, as the Python client reports them.
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    telemetry = Telemetry(runtime, buffer, metrics, registry)
    threading.Thread(
        target=_drain_forever, args=(telemetry,), name="metrics-drain", daemon=True
    ).start()
    return telemetry


def _drain_forever(telemetry: Telemetry) -> None:
    while True:
        time.sleep(DRAIN_SECONDS)
        try:
            telemetry.drain()
        except Exception:  # never let the drain thread die: the buffer would fill and drop
            log.exception("draining the metric buffer failed")


@cache
def process_telemetry() -> Telemetry:
    """The process's one runtime with metrics (made on first use)."""
    return new_telemetry()
