"""The platform layer every process shares: Temporal runtime and metrics, JSON logs, health.

Product rooms record through `telemetry.metrics`; nothing here knows about billing.
"""
