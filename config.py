"""Service configuration (pydantic-settings): `Settings.from_env()` reads the environment variables
the README documents; no `.env` file is read."""

from __future__ import annotations

import re
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, AliasGenerator, BeforeValidator, Field, ValidationError
from pydantic_core import ErrorDetails
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

REPO_ROOT = Path(__file__).resolve().parent
DEFAULT_DATA_DIR = REPO_ROOT / ".data"

# The client secret the local QBO sandbox accepts: never Intuit's.
DEV_CLIENT_SECRET = "skimmer-dev-secret"
INTUIT_DOMAIN = "intuit.com"
MAKE_FERNET_KEY = (
    "python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())'"
)


class SettingsError(ValueError):
    """The configuration cannot be used; the message names every variable at fault."""


DURATION = re.compile(r"(\d+(?:\.\d+)?)\s*(s|m|h|d)?")
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> timedelta:
    """ "24h", "30m", "90s", "1d" or plain seconds → a timedelta."""
    found = DURATION.fullmatch(text.strip().lower())
    if found is None:
        raise ValueError("not a duration (use e.g. 24h, 30m, 1d)")
    return timedelta(seconds=float(found[1]) * UNIT_SECONDS[found[2] or "s"])


def _duration_text(value: Any) -> Any:
    return parse_duration(value) if isinstance(value, str) else value


def _at_least_a_minute(every: timedelta) -> timedelta:
    if every < timedelta(minutes=1):
        raise ValueError("too often: reconcile at most once a minute")
    return every


def _positive(count: int) -> int:
    if count < 1:
        raise ValueError("must be a positive whole number")
    return count


ReconcileInterval = Annotated[
    timedelta, BeforeValidator(_duration_text), AfterValidator(_at_least_a_minute)
]
PositiveCount = Annotated[int, AfterValidator(_positive)]


# The settings naming a QBO endpoint; one on Intuit's hosts means real companies and tokens.
QBO_ENDPOINTS = ("qbo_base_url", "qbo_token_url", "qbo_authorize_url", "qbo_revoke_url")


def _is_intuit(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    return host == INTUIT_DOMAIN or host.endswith(f".{INTUIT_DOMAIN}")


class Settings(BaseSettings):
    """`Settings(...)` holds the defaults and the values given (tests, the local stacks);
    `Settings.from_env()` reads the environment, where an empty variable means the default."""

    # Each field's variable is its name upper-cased (task_queue's is named below). The field's
    # name works too, for Settings(task_queue=...); pydantic-settings then also reads a variable
    # spelled exactly like it (task_queue). Frozen: one configuration per process.
    model_config = SettingsConfigDict(
        alias_generator=AliasGenerator(validation_alias=str.upper),
        case_sensitive=True,
        populate_by_name=True,
        env_ignore_empty=True,
        frozen=True,
    )

    temporal_address: str = "localhost:7233"
    temporal_namespace: str = "default"
    task_queue: str = Field("qbo-sync", validation_alias="TEMPORAL_TASK_QUEUE")
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
    qbo_client_secret: str = Field(DEV_CLIENT_SECRET, repr=False)
    token_encryption_key: str = Field("", repr=False)
    events_signing_secret: str = Field("", repr=False)
    # An admin API key when set (docs/API.md, "Access"); more keys: `skimmer-qbo keys create`.
    admin_api_key: str = Field("", repr=False)
    # "id:base64key,..." AES-GCM keys for Temporal payloads: the first encrypts, all decrypt.
    payload_encryption_keys: str = Field("", repr=False)
    # The codec server the Temporal Web UI decrypts payloads with, and the UI origins it answers.
    codec_server_host: str = "127.0.0.1"
    codec_server_port: int = 8234
    codec_cors_origins: str = ""
    api_host: str = "127.0.0.1"
    api_port: int = 8000
    # How often the API hands accepted events that never reached Temporal to their lanes.
    outbox_sweep_seconds: float = 5.0
    # How often each syncing company's books are reconciled with QBO (its Temporal Schedule).
    reconcile_every: ReconcileInterval = timedelta(days=1)
    # Fairness weight per company ("co_a=3,co_b=0.5"); every other company weighs 1.
    fairness_weights: str = ""
    # QBO's limits per realm and app, kept by every process together (qbo/limiter.py); lower
    # them to test against a sandbox whose limits are lowered alike.
    qbo_requests_per_minute: PositiveCount = 500
    qbo_requests_per_second: PositiveCount = 10
    qbo_concurrent_requests: PositiveCount = 10
    qbo_batch_calls_per_minute: PositiveCount = 40
    qbo_limit_margin_seconds: float = 0.25
    qbo_request_lease_seconds: float = 30.0
    # Log lines as JSON objects (services) or plain text (a developer's terminal).
    log_format: Literal["json", "text"] = "json"
    # Where the worker serves /metrics and /healthz ("0.0.0.0:9464"); empty: not served.
    metrics_address: str = ""

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Only what the caller passes: from_env() passes the environment, tests pass their own.
        return (init_settings,)

    @classmethod
    def from_env(cls) -> Settings:
        """The configuration from the environment; SettingsError names every bad variable."""
        try:
            return cls(**EnvSettingsSource(cls)())
        except ValidationError as error:
            problems = "\n".join(f"  {cls._describe(detail)}" for detail in error.errors())
            raise SettingsError(f"invalid configuration:\n{problems}") from None

    @classmethod
    def env_var(cls, name: str) -> str:
        """The environment variable of the field `name`."""
        alias = cls.model_fields[name].validation_alias
        assert isinstance(alias, str), name
        return alias

    @classmethod
    def _describe(cls, detail: ErrorDetails) -> str:
        key = str(detail["loc"][0]) if detail["loc"] else ""
        name = next(
            (field for field in cls.model_fields if key in (field, cls.env_var(field))), key
        )
        cause = (detail.get("ctx") or {}).get("error")
        reason = str(cause) if isinstance(cause, ValueError) else detail["msg"]
        if not cls.model_fields[name].repr:  # a secret's value stays out of the message
            return f"{cls.env_var(name)}: {reason}"
        return f"{cls.env_var(name)}={detail['input']!r}: {reason}"

    @property
    def intuit_endpoints(self) -> list[str]:
        """The QBO endpoints on Intuit's hosts (production or Intuit's sandbox), as VARIABLE=url."""
        return [
            f"{self.env_var(name)}={getattr(self, name)}"
            for name in QBO_ENDPOINTS
            if _is_intuit(getattr(self, name))
        ]

    def check_production_ready(self) -> None:
        """Against Intuit, refuse the dev client secret and missing secrets, naming them all."""
        endpoints = self.intuit_endpoints
        if not endpoints:
            return
        problems = []
        if self.qbo_client_secret == DEV_CLIENT_SECRET:
            problems.append(
                "QBO_CLIENT_SECRET is the local sandbox's dev secret: set the Intuit app's client secret"
            )
        if not self.token_encryption_key:
            problems.append(
                "TOKEN_ENCRYPTION_KEY is not set: OAuth tokens would be stored under a key "
                f"generated on this machine; make one with {MAKE_FERNET_KEY}"
            )
        if not self.events_signing_secret:
            problems.append(
                "EVENTS_SIGNING_SECRET is not set: POST /events would accept unsigned events; "
                "set the secret the billing backend signs them with"
            )
        if problems:
            listed = "\n".join(f"  - {problem}" for problem in problems)
            raise SettingsError(
                f"refusing to start against Intuit ({', '.join(endpoints)}):\n{listed}"
            )


def service_settings() -> Settings:
    """The settings of an API or worker process, or exit non-zero naming every problem."""
    try:
        settings = Settings.from_env()
        settings.check_production_ready()
    except SettingsError as error:
        raise SystemExit(f"configuration: {error}") from None
    return settings
