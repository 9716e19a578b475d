"""The service's settings: read from the environment by their documented names, validated with
messages naming the variable, secrets out of repr, and the refusal to start against Intuit
without production secrets (on the settings, and from the API's and the worker's entry points)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from config import DEV_CLIENT_SECRET, Settings, SettingsError

REPO_ROOT = Path(__file__).resolve().parent.parent
ENV_EXAMPLE = REPO_ROOT / ".env.example"
README = REPO_ROOT / "README.md"

ENV_VARS = {Settings.env_var(name): name for name in Settings.model_fields}
INTUIT_API = "https://quickbooks.api.intuit.com"
PRODUCTION_SECRETS: dict[str, Any] = {
    "qbo_client_secret": "the-intuit-apps-secret",
    "token_encryption_key": "a-fernet-key-from-the-vault",
    "events_signing_secret": "the-billing-backends-signing-secret",
}


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    """The environment without any of the service's variables (the developer's shell aside)."""
    for variable in ENV_VARS:
        monkeypatch.delenv(variable, raising=False)
    return monkeypatch


def env_example() -> dict[str, str]:
    """The variables .env.example sets (commented-out examples aside)."""
    found = (
        re.match(r"([A-Z][A-Z0-9_]*)=(.*)$", line) for line in ENV_EXAMPLE.read_text().splitlines()
    )
    return {match[1]: match[2] for match in found if match}


def readme_configuration_table() -> list[str]:
    """The variables named in the first table of the README's Configuration section."""
    section = README.read_text().split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    lines = section.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| variable |"))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(line.split("|")[1])
    return [name for cell in rows for name in re.findall(r"`([A-Z][A-Z0-9_]*)`", cell)]


# --- documentation agrees with the settings class ---------------------------------------------


def test_settings_env_example_and_readme_table_name_the_same_variables() -> None:
    documented = readme_configuration_table()
    assert len(documented) == len(set(documented)), "a variable appears twice in the README table"
    assert sorted(documented) == sorted(ENV_VARS), (
        f"README table: missing {sorted(set(ENV_VARS) - set(documented))}, "
        f"not a setting {sorted(set(documented) - set(ENV_VARS))}"
    )
    example = env_example()
    assert sorted(example) == sorted(ENV_VARS), (
        f".env.example: missing {sorted(set(ENV_VARS) - set(example))}, "
        f"not a setting {sorted(set(example) - set(ENV_VARS))}"
    )


def test_env_example_as_it_stands_is_the_defaults(clean_env: pytest.MonkeyPatch) -> None:
    for variable, value in env_example().items():
        clean_env.setenv(variable, value)
    loaded, defaults = Settings.from_env(), Settings()
    for name in Settings.model_fields:
        if (
            name == "database_url"
        ):  # the example's path is relative to the repo, the default absolute
            assert loaded.database_url.endswith(".data/skimmer_qbo.db")
            continue
        assert getattr(loaded, name) == getattr(defaults, name), Settings.env_var(name)


# --- reading the environment ------------------------------------------------------------------


def test_from_env_reads_each_variable_by_its_documented_name(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TEMPORAL_TASK_QUEUE", "qbo-sync-blue")
    clean_env.setenv("QBO_REVOKE_URL", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke")
    clean_env.setenv("CONNECTED_REDIRECT_URL", "https://app.example/co/{company_id}")
    clean_env.setenv("API_PORT", "9001")
    clean_env.setenv("OUTBOX_SWEEP_SECONDS", "0.5")
    clean_env.setenv("QBO_REQUESTS_PER_MINUTE", "20")
    clean_env.setenv("RECONCILE_EVERY", "30m")
    settings = Settings.from_env()
    assert settings.task_queue == "qbo-sync-blue"
    assert settings.qbo_revoke_url == "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"
    assert settings.connected_redirect_url == "https://app.example/co/{company_id}"
    assert (settings.api_port, settings.outbox_sweep_seconds) == (9001, 0.5)
    assert settings.qbo_requests_per_minute == 20
    assert settings.reconcile_every == timedelta(minutes=30)


def test_only_the_documented_names_are_read(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("TASK_QUEUE", "not-ours")  # the field's name, not its variable
    clean_env.setenv("Api_Port", "1")
    settings = Settings.from_env()
    assert (settings.task_queue, settings.api_port) == ("qbo-sync", 8000)


@pytest.mark.parametrize(
    ("text", "every"),
    [
        ("24h", timedelta(hours=24)),
        ("1d", timedelta(days=1)),
        ("30m", timedelta(minutes=30)),
        ("90s", timedelta(seconds=90)),
        ("3600", timedelta(hours=1)),
        (" 6H ", timedelta(hours=6)),
    ],
)
def test_reconcile_every_reads_durations(
    clean_env: pytest.MonkeyPatch, text: str, every: timedelta
) -> None:
    clean_env.setenv("RECONCILE_EVERY", text)
    assert Settings.from_env().reconcile_every == every


def test_empty_variables_mean_the_default(clean_env: pytest.MonkeyPatch) -> None:
    for variable in ENV_VARS:
        clean_env.setenv(variable, "")
    assert Settings.from_env() == Settings()


def test_bad_values_are_refused_together_naming_each_variable(
    clean_env: pytest.MonkeyPatch,
) -> None:
    clean_env.setenv("QBO_REQUESTS_PER_MINUTE", "0")
    clean_env.setenv("QBO_CONCURRENT_REQUESTS", "-3")
    clean_env.setenv("RECONCILE_EVERY", "10s")
    clean_env.setenv("API_PORT", "eighty")
    with pytest.raises(SettingsError) as refused:
        Settings.from_env()
    message = str(refused.value)
    assert "QBO_REQUESTS_PER_MINUTE='0': must be a positive whole number" in message
    assert "QBO_CONCURRENT_REQUESTS='-3': must be a positive whole number" in message
    assert "RECONCILE_EVERY='10s': too often: reconcile at most once a minute" in message
    assert "API_PORT='eighty'" in message


def test_a_duration_it_cannot_read_is_refused_with_examples(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("RECONCILE_EVERY", "weekly")
    with pytest.raises(
        SettingsError, match=r"RECONCILE_EVERY='weekly': not a duration \(use e\.g\. 24h"
    ):
        Settings.from_env()


def test_settings_given_directly_are_validated_too() -> None:
    with pytest.raises(ValidationError, match="must be a positive whole number"):
        Settings(qbo_batch_calls_per_minute=0)
    with pytest.raises(ValidationError, match="at most once a minute"):
        Settings(reconcile_every=timedelta(seconds=5))


def test_secrets_stay_out_of_repr(clean_env: pytest.MonkeyPatch) -> None:
    for name, value in PRODUCTION_SECRETS.items():
        clean_env.setenv(Settings.env_var(name), value)
    settings = Settings.from_env()
    assert settings.qbo_client_secret == PRODUCTION_SECRETS["qbo_client_secret"]
    for shown in (repr(settings), str(settings)):
        for secret in PRODUCTION_SECRETS.values():
            assert secret not in shown
    assert "qbo_client_id='skimmer-dev'" in repr(settings)


def test_settings_are_frozen() -> None:
    with pytest.raises(ValidationError, match="frozen"):
        Settings().api_port = 1  # type: ignore[misc]


# --- the production guard ----------------------------------------------------------------------


def test_against_intuit_every_missing_or_unsafe_secret_is_named_at_once() -> None:
    with pytest.raises(SettingsError) as refused:
        Settings(qbo_base_url=INTUIT_API).check_production_ready()
    message = str(refused.value)
    assert message.startswith(f"refusing to start against Intuit (QBO_BASE_URL={INTUIT_API})")
    for problem in (
        "QBO_CLIENT_SECRET is the local sandbox's dev secret",
        "TOKEN_ENCRYPTION_KEY is not set",
        "EVENTS_SIGNING_SECRET is not set",
    ):
        assert problem in message
    assert DEV_CLIENT_SECRET not in message


@pytest.mark.parametrize(
    ("name", "url"),
    [
        ("qbo_base_url", "https://sandbox-quickbooks.api.intuit.com"),
        ("qbo_token_url", "https://oauth.platform.intuit.com/oauth2/v1/tokens/bearer"),
        ("qbo_authorize_url", "https://appcenter.intuit.com/connect/oauth2"),
        ("qbo_revoke_url", "https://developer.api.intuit.com/v2/oauth2/tokens/revoke"),
    ],
)
def test_any_qbo_endpoint_on_intuit_needs_the_production_secrets(name: str, url: str) -> None:
    endpoint: dict[str, Any] = {name: url}
    with pytest.raises(SettingsError, match=f"{Settings.env_var(name)}={re.escape(url)}"):
        Settings(**endpoint).check_production_ready()
    Settings(**endpoint, **PRODUCTION_SECRETS).check_production_ready()


def test_only_what_is_missing_is_named() -> None:
    settings = Settings(
        qbo_base_url=INTUIT_API, **{**PRODUCTION_SECRETS, "events_signing_secret": ""}
    )
    with pytest.raises(SettingsError) as refused:
        settings.check_production_ready()
    assert "EVENTS_SIGNING_SECRET" in str(refused.value)
    assert "QBO_CLIENT_SECRET" not in str(refused.value)
    assert "TOKEN_ENCRYPTION_KEY" not in str(refused.value)


@pytest.mark.parametrize(
    "url", ["http://127.0.0.1:8765", "http://qbo-sandbox:8765", "https://intuit.com.example.net"]
)
def test_the_local_sandbox_runs_with_dev_values(url: str) -> None:
    Settings(qbo_base_url=url).check_production_ready()


@pytest.mark.parametrize("command", [["-m", "starter.api"], ["worker.py"]], ids=["api", "worker"])
def test_entry_point_refuses_to_start_against_intuit_without_secrets(command: list[str]) -> None:
    env = {key: value for key, value in os.environ.items() if key not in ENV_VARS}
    env["QBO_BASE_URL"] = INTUIT_API
    done = subprocess.run(
        [sys.executable, *command],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1, done.stderr
    assert done.stderr.startswith(
        f"configuration: refusing to start against Intuit (QBO_BASE_URL={INTUIT_API})"
    ), done.stderr
    for variable in ("QBO_CLIENT_SECRET", "TOKEN_ENCRYPTION_KEY", "EVENTS_SIGNING_SECRET"):
        assert variable in done.stderr
    assert "Traceback" not in done.stderr
