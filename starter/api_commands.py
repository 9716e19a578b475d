"""The commands that talk to the service's HTTP API (`send`, `status`, `activity`, `connect-url`),
so they work from a laptop with nothing but the API's address and a key."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import IO, Any, TypeVar

import click

from starter.api_client import DEFAULT_API_URL, APIError, ServiceAPI
from starter.api_models import (
    IN_PROGRESS,
    STATE_MAX_AGE_SECONDS,
    ActivityOut,
    EventState,
    EventStepOut,
)
from starter.cli_table import local_time, render_table

WAIT_SECONDS = 120  # `send --wait`: a payment takes a second or two; QBO retries take longer
POLL_SECONDS = 0.5
OUTCOMES = ("success", "failed", "retrying", "waiting", "skipped")

Command = TypeVar("Command", bound=Callable[..., Any])


def api_options(command: Command) -> Command:
    """--api-url and --api-key, from SKIMMER_API_URL and SKIMMER_API_KEY when not given."""
    command = click.option(
        "--api-key",
        envvar="SKIMMER_API_KEY",
        show_envvar=True,
        help="API key, sent as Authorization: Bearer.",
    )(command)
    return click.option(
        "--api-url",
        envvar="SKIMMER_API_URL",
        show_envvar=True,
        default=DEFAULT_API_URL,
        show_default=True,
        help="The service's API.",
    )(command)


@contextmanager
def service_api(api_url: str, api_key: str | None) -> Iterator[ServiceAPI]:
    """The API client; its errors become one line on stderr and exit code 1."""
    try:
        with ServiceAPI(api_url, api_key) as api:
            yield api
    except APIError as exc:
        raise click.ClickException(str(exc)) from exc


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2))


@click.command(short_help="Send an event (a file or stdin) to POST /events.")
@click.argument("event_file", type=click.File("rb"), default="-")
@click.option(
    "--signing-secret",
    envvar="EVENTS_SIGNING_SECRET",
    show_envvar=True,
    help="Sign the body (X-Signature) as the billing backend does.",
)
@click.option(
    "--wait", is_flag=True, help=f"Follow the event until it ends (up to {WAIT_SECONDS} s)."
)
@click.option("--json", "as_json", is_flag=True, help="Print the API's answer as JSON.")
@api_options
def send(
    event_file: IO[bytes],
    signing_secret: str | None,
    wait: bool,
    as_json: bool,
    api_url: str,
    api_key: str | None,
) -> None:
    """Send a billing event (JSON from EVENT_FILE, or stdin) to POST /events.

    Exits 1 if the API refuses it, or with --wait if it does not complete."""
    body = event_file.read()
    try:
        json.loads(body)
    except ValueError as exc:
        raise click.BadParameter(f"not JSON ({exc})", param_hint="EVENT_FILE") from exc
    with service_api(api_url, api_key) as api:
        accepted = api.send_event(body, signing_secret)
        if not wait:
            if as_json:
                print_json(accepted.model_dump(mode="json"))
            else:
                click.echo(f"{accepted.event_id} {accepted.status}: {accepted.workflow_id}")
            return
        if not as_json:
            click.echo(f"{accepted.event_id} {accepted.status}, following it…")
        state = follow(api, accepted.event_id)
        report_event(state, api.event_steps(state.event_id), as_json)
    if state.status in IN_PROGRESS:
        raise click.ClickException(not_done(state))
    if state.status == "failed":
        raise SystemExit(1)


def follow(api: ServiceAPI, event_id: str) -> EventState:
    """Poll the event until it completes, fails, waits for a reconnect, or WAIT_SECONDS pass."""
    deadline = time.monotonic() + WAIT_SECONDS
    while True:
        state = api.event(event_id)
        done = state.status not in IN_PROGRESS or state.status == "waiting_for_reconnect"
        if done or time.monotonic() > deadline:
            return state
        time.sleep(POLL_SECONDS)


def not_done(state: EventState) -> str:
    if state.status == "waiting_for_reconnect":
        company = state.workflow_id.split("/", 1)[0]
        return (
            f"{state.event_id} waits for {company} to reconnect QuickBooks "
            f"(skimmer-qbo connect-url {company}); it runs after that"
        )
    return (
        f"{state.event_id} is still {state.status} after {WAIT_SECONDS} s; "
        f"follow it with: skimmer-qbo status {state.event_id}"
    )


@click.command(short_help="An event's state, steps and Temporal UI link.")
@click.argument("event_id")
@click.option("--json", "as_json", is_flag=True, help="The event's state with its steps, as JSON.")
@api_options
def status(event_id: str, as_json: bool, api_url: str, api_key: str | None) -> None:
    """Where an event stands: its state, its workflow's steps and the Temporal UI link.

    Exits 1 if the event failed or is unknown."""
    with service_api(api_url, api_key) as api:
        state = api.event(event_id)
        steps = api.event_steps(event_id)
    report_event(state, steps, as_json)
    if state.status == "failed":
        raise SystemExit(1)


def report_event(state: EventState, steps: list[EventStepOut], as_json: bool) -> None:
    if as_json:
        print_json(
            {**state.model_dump(mode="json"), "steps": [s.model_dump(mode="json") for s in steps]}
        )
        return
    fields = [
        ("event", state.event_id),
        ("status", state.status),
        ("message", state.message or ""),
        ("waiting for", state.waiting_for or ""),
        ("attempt", str(state.attempt or "")),
        ("next retry", local_time(state.next_retry_at)),
        ("workflow", state.workflow_id),
        ("temporal ui", state.temporal_ui_url),
    ]
    click.echo(render_table([(f"{name}:", value) for name, value in fields if value]))
    click.echo()
    if not steps:
        click.echo("no steps yet: its workflow has not started (it waits in its record's lane)")
        return
    rows = [
        (s.name, s.status, str(s.attempt), local_time(s.finished_at), s.message or "")
        for s in steps
    ]
    click.echo(render_table(rows, ["STEP", "STATUS", "ATTEMPT", "FINISHED", "MESSAGE"]))


@click.command(short_help="A company's activity log, newest first.")
@click.argument("company_id")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@click.option("--outcome", type=click.Choice(OUTCOMES), help="Only lines of this outcome.")
@click.option("--before", help="Only lines older than this time (ISO 8601), to page back.")
@click.option("--json", "as_json", is_flag=True, help="The API's lines as JSON.")
@api_options
def activity(
    company_id: str,
    limit: int,
    outcome: str | None,
    before: str | None,
    as_json: bool,
    api_url: str,
    api_key: str | None,
) -> None:
    """A company's activity log, newest first: what was sent to QuickBooks, what failed and why."""
    older_than = None
    if before is not None:
        try:
            older_than = datetime.fromisoformat(before)
        except ValueError as exc:
            raise click.BadParameter(
                f"{before!r} is not an ISO 8601 time", param_hint="--before"
            ) from exc
    with service_api(api_url, api_key) as api:
        lines = api.activity(company_id, limit, outcome, older_than)
    if as_json:
        print_json([line.model_dump(mode="json") for line in lines])
        return
    if not lines:
        which = f" {outcome}" if outcome else ""
        click.echo(f"no{which} activity lines for {company_id}")
        return
    headers = ["AT", "OUTCOME", "RECORD", "ACTION", "QBO", "EVENT", "MESSAGE"]
    click.echo(render_table([activity_row(line) for line in lines], headers))


def activity_row(line: ActivityOut) -> tuple[str, ...]:
    return (
        local_time(line.at),
        f"{line.outcome} (resolved)" if line.resolved else line.outcome,
        f"{line.record_type} {line.record_id}",
        line.action,
        f"{line.qbo_type} {line.qbo_id}" if line.qbo_id else "",
        line.event_id or "",
        line.message,
    )


@click.command("connect-url", short_help="The URL an office user opens to connect QBO.")
@click.argument("company_id")
@api_options
def connect_url(company_id: str, api_url: str, api_key: str | None) -> None:
    """Print the QuickBooks sign-in URL for COMPANY_ID's office user to open.

    It is the Intuit authorize URL the API redirects to, with a state bound to the company, so it
    works in any browser without an API key; the state expires, so send it right away."""
    with service_api(api_url, api_key) as api:
        url = api.connect_url(company_id)
    click.echo(url)
    click.echo(
        f"valid for {STATE_MAX_AGE_SECONDS // 60} minutes: open it in a browser and sign in to "
        f"{company_id}'s QuickBooks; run this again for a fresh one",
        err=True,
    )
