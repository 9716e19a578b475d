"""`skimmer-qbo keys …`: create, list and revoke API keys in the service store (DATABASE_URL).
A new key is printed once, alone on stdout (`KEY=$(skimmer-qbo keys create --company co_42)`)."""

from __future__ import annotations

import asyncio
import sys
from typing import TYPE_CHECKING

import click

if TYPE_CHECKING:
    from store import ApiKeys


def _keys() -> ApiKeys:
    # Loaded here, not above: the store's imports would slow every other command's start.
    from config import Settings
    from services import open_store

    return open_store(Settings.from_env()).keys


@click.group()
def keys() -> None:
    """API keys: admin keys reach every company, a company key only its own."""


@keys.command()
@click.option("--admin", is_flag=True, help="A key that reaches every company.")
@click.option("--company", "company_id", help="The one company the key reaches.")
@click.option("--name", help="Who or what holds it, e.g. 'billing backend'.")
def create(admin: bool, company_id: str | None, name: str | None) -> None:
    """Create a key and print it, once: the store keeps only its hash."""
    if admin == (company_id is not None):
        raise click.UsageError("give --admin or --company CO (one of them)")
    from starter.routes.quickbooks import COMPANY_ID

    if company_id is not None and not COMPANY_ID.fullmatch(company_id):
        raise click.BadParameter(f"{company_id!r} is not a company id", param_hint="--company")
    row, secret = asyncio.run(_keys().create(company_id, name))
    click.echo(f"created {row.key_id} ({row.scope}); the key, shown only this once:", err=True)
    click.echo(secret)


@keys.command(name="list")
def list_keys() -> None:
    """Every key: id, scope, name, created, revoked (never the key itself)."""
    rows = asyncio.run(_keys().list())
    if not rows:
        click.echo("no API keys yet: skimmer-qbo keys create --admin | --company CO", err=True)
        return
    click.echo(f"{'id':<18} {'scope':<28} {'name':<24} {'created':<20} revoked")
    for row in rows:
        revoked = f"{row.revoked_at:%Y-%m-%d %H:%M:%S}" if row.revoked_at else "-"
        click.echo(
            f"{row.key_id:<18} {row.scope:<28} {row.name or '-':<24} "
            f"{row.created_at:%Y-%m-%d %H:%M:%S}  {revoked}"
        )


@keys.command()
@click.argument("key_id")
def revoke(key_id: str) -> None:
    """Revoke a key at once; browsers signed in with it are signed out."""
    from store import KeyNotFound

    try:
        row = asyncio.run(_keys().revoke(key_id))
    except KeyNotFound as exc:
        click.echo(f"not revoked: {exc}", err=True)
        sys.exit(1)
    assert row.revoked_at is not None
    click.echo(f"revoked {row.key_id} ({row.scope}) at {row.revoked_at:%Y-%m-%d %H:%M:%S} UTC")
