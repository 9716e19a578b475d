"""`skimmer-qbo` (or `python -m starter`): what an operator types. `retry` and `reconcile` use
the service's own environment (TEMPORAL_ADDRESS, DATABASE_URL, …); the API commands
(starter/api_commands.py) need only SKIMMER_API_URL and SKIMMER_API_KEY, and load only httpx."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

from starter.api_commands import activity, connect_url, send, status
from starter.keys_cli import keys

if TYPE_CHECKING:
    from config import Settings
    from starter.dispatch import EventDispatcher

# Temporal, the store and the settings load inside `retry` and `reconcile`: two seconds of
# imports the API commands (and --help) do not wait for.


async def _dispatcher(settings: Settings) -> EventDispatcher:
    from services import open_store
    from starter.dispatch import EventDispatcher
    from starter.fairness import FairnessWeights
    from starter.temporal import connect

    client = await connect(settings, wait_seconds=10)
    return EventDispatcher(
        client,
        open_store(settings),
        settings.task_queue,
        settings.temporal_ui_url,
        FairnessWeights.parse(settings.fairness_weights),
    )


@click.group()
def main() -> None:
    """Operate the Skimmer → QuickBooks Online sync."""


@main.command(short_help="Run failed events again (one, or a company's).")
@click.argument("event_id", required=False)
@click.option("--company", "company_id", help="Retry every failed event of this company.")
def retry(event_id: str | None, company_id: str | None) -> None:
    """Run a failed event again (with the later failed events of its record, in order), or
    every failed event of a company."""
    if (event_id is None) == (company_id is None):
        raise click.UsageError("give an EVENT_ID or --company, not both")
    from config import Settings
    from starter.dispatch import NotFailed

    async def run() -> int:
        dispatcher = await _dispatcher(Settings.from_env())
        if company_id is not None:
            retried = await dispatcher.retry_company(company_id)
            click.echo(f"{len(retried)} failed event(s) of {company_id} sent again")
            for retried_id in retried:
                click.echo(f"  {retried_id}")
            return 0
        assert event_id is not None
        try:
            accepted = await dispatcher.retry(event_id)
        except (LookupError, NotFailed) as exc:
            click.echo(f"not retried: {exc}", err=True)
            return 1
        for one in accepted:
            click.echo(f"{one.event_id}: sent again as {one.workflow_id}")
        return 0

    sys.exit(asyncio.run(run()))


@main.command(short_help="Compare a company's QBO books with ours, now.")
@click.argument("company_id")
def reconcile(company_id: str) -> None:
    """Compare a company's QuickBooks books with what the service wrote there, now: each
    difference is a line in its activity log; payments deleted by hand are recreated."""
    from config import Settings
    from services import open_store
    from starter.reconcile import reconcile_now
    from starter.temporal import connect

    async def run() -> int:
        settings = Settings.from_env()
        conn = await open_store(settings).get_connection(company_id)
        if conn is None or conn.status == "disconnected":
            click.echo(
                f"not started: company {company_id} is not connected to QuickBooks", err=True
            )
            return 1
        client = await connect(settings, wait_seconds=10)
        workflow_id = await reconcile_now(client, company_id, settings.task_queue)
        click.echo(f"reconciliation of {company_id} started: {workflow_id}")
        return 0

    sys.exit(asyncio.run(run()))


main.add_command(keys)
for command in (send, status, activity, connect_url):
    main.add_command(command)


if __name__ == "__main__":
    main()
