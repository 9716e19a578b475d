"""Service configuration, read once from environment variables (documented in the README)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Literal

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = REPO_ROOT / ".data"


def _env(name: str, default: str) -> str:
    value = os.environ.get(name, "").strip()
    return value or default


def _positive_int(name: str, default: int) -> int:
    value = int(_env(name, str(default)))
    if value < 1:
        raise ValueError(f"{name} must be a positive whole number, not {value}")
    return value


def _log_format(value: str) -> Literal["json", "text"]:
    if value == "json":
        return "json"
    if value == "text":
        return "text"
    raise ValueError(f"LOG_FORMAT must be json or text, not {value!r}")


DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """ "24h", "30m", "90s", "1d" or plain seconds → a timedelta (at least one minute)."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise ValueError(f"not a duration: {text!r} (use e.g. 24h, 30m, 1d)")
    every = timedelta(seconds=float(found[1]) * UNIT_SECONDS[found[2] or "s"])
    if every < timedelta(minutes=1):
        raise ValueError(f"{text!r} is too often: reconcile at most once a minute")
    return every


@dataclass(frozen=True)
class Settings:
    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = "qbo-sync"
    temporal_ui_url: str = "http://localhost:8233"
    database_url: str = f"sqlite:///{DEFAULT_DATA_DIR / 'skimmer_qbo.db'}"
    qbo_base_url: str = "http://127.0.0.1:8765"
    qbo_token_url: str = "http://127.0.0.1:8765/oauth2/v1/tokens/bearer"
    qbo_authorize_url: str = "http://127.0.0.1:8765/connect/oauth2"
    qbo_revoke_url: str = "http://127.0.0.1:8765/v2/oauth2/tokens/revoke"
    qbo_redirect_uri: str = "http://127.0.0.1:8000/quickbooks/callback"
    # Where the browser lands after connecting ({company_id} is filled in).
    connected_redirect_url: str = "/companies/{company_id}/quickbooks/settings"
    qbo_client_id: str = "skimmer-dev"
    qbo_client_secret: str = field(default="skimmer-dev-secret", repr=False)
    token_encryption_key: str = field(default="", repr=False)
    events_signing_secret: str = field(default="", repr=False)
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # How often the API hands accepted events that never reached Temporal to their lanes.
    outbox_sweep_seconds: float = 5.0
    # How often each syncing company's books are reconciled with QBO (its Temporal Schedule).
    reconcile_every: timedelta = timedelta(days=1)
    # Fairness weight per company ("co_a=3,co_b=0.5"); every other company weighs 1.
    fairness_weights: str = ""
    # QBO's limits per realm and app, kept by every process together (qbo/limiter.py); lower
    # them to test against a sandbox whose limits are lowered alike.
    qbo_requests_per_minute: int = 500
    qbo_requests_per_second: int = 10
    qbo_concurrent_requests: int = 10
    qbo_batch_calls_per_minute: int = 40
    qbo_limit_margin_seconds: float = 0.25
    qbo_request_lease_seconds: float = 180.0
    # Log lines as JSON objects (services) or plain text (a developer's terminal).
    log_format: Literal["json", "text"] = "json"
    # Where the worker serves /metrics and /healthz ("0.0.0.0:9464"); empty: not served.
    metrics_address: str = ""

    @classmethod
    def from_env(cls) -> Settings:
        base = cls()
        return cls(
            temporal_address=_env("TEMPORAL_ADDRESS", base.temporal_address),
            temporal_namespace=_env("TEMPORAL_NAMESPACE", base.temporal_namespace),
            task_queue=_env("TEMPORAL_TASK_QUEUE", base.task_queue),
            temporal_ui_url=_env("TEMPORAL_UI_URL", base.temporal_ui_url),
            database_url=_env("DATABASE_URL", base.database_url),
            qbo_base_url=_env("QBO_BASE_URL", base.qbo_base_url),
            qbo_token_url=_env("QBO_TOKEN_URL", base.qbo_token_url),
            qbo_authorize_url=_env("QBO_AUTHORIZE_URL", base.qbo_authorize_url),
            qbo_revoke_url=_env("QBO_REVOKE_URL", base.qbo_revoke_url),
            qbo_redirect_uri=_env("QBO_REDIRECT_URI", base.qbo_redirect_uri),
            connected_redirect_url=_env("CONNECTED_REDIRECT_URL", base.connected_redirect_url),
            qbo_client_id=_env("QBO_CLIENT_ID", base.qbo_client_id),
            qbo_client_secret=_env("QBO_CLIENT_SECRET", base.qbo_client_secret),
            token_encryption_key=_env("TOKEN_ENCRYPTION_KEY", ""),
            events_signing_secret=_env("EVENTS_SIGNING_SECRET", ""),
            api_host=_env("API_HOST", base.api_host),
            api_port=int(_env("API_PORT", str(base.api_port))),
            outbox_sweep_seconds=float(
                _env("OUTBOX_SWEEP_SECONDS", str(base.outbox_sweep_seconds))
            ),
            reconcile_every=parse_duration(_env("RECONCILE_EVERY", "24h")),
            fairness_weights=_env("FAIRNESS_WEIGHTS", ""),
            qbo_requests_per_minute=_positive_int("QBO_REQUESTS_PER_MINUTE", 500),
            qbo_requests_per_second=_positive_int("QBO_REQUESTS_PER_SECOND", 10),
            qbo_concurrent_requests=_positive_int("QBO_CONCURRENT_REQUESTS", 10),
            qbo_batch_calls_per_minute=_positive_int("QBO_BATCH_CALLS_PER_MINUTE", 40),
            qbo_limit_margin_seconds=float(_env("QBO_LIMIT_MARGIN_SECONDS", "0.25")),
            qbo_request_lease_seconds=float(_env("QBO_REQUEST_LEASE_SECONDS", "180")),
            log_format=_log_format(_env("LOG_FORMAT", base.log_format)),
            metrics_address=_env("METRICS_ADDRESS", base.metrics_address),
        )
