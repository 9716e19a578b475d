"""API keys in the service store (SQLite and Postgres): only hashes are kept, revoking ends a key
and its sign-in sessions, and `skimmer-qbo keys` creates, lists and revokes them."""

from __future__ import annotations

import asyncio

import pytest
from click.testing import CliRunner, Result
from cryptography.fernet import Fernet
from sqlalchemy import MetaData, String, Table, inspect, select

from starter.cli import main as cli
from store import Store, TokenCipher
from store.api_keys import KEY_PREFIX, key_hash


@pytest.fixture
def key_store(database_url: str) -> Store:
    store = Store(database_url, TokenCipher(Fernet.generate_key().decode()))
    store.create_all()
    return store


def every_text_value(store: Store) -> list[str]:
    """Every string held in any column of any table of the store."""
    values: list[str] = []
    with store.engine.connect() as connection:
        for table_name in inspect(store.engine).get_table_names():
            table = Table(table_name, MetaData(), autoload_with=connection)
            texts = [c for c in table.columns if isinstance(c.type, String)]
            for row in connection.execute(select(*texts)) if texts else []:
                values.extend(str(v) for v in row if v is not None)
    return values


async def test_the_store_holds_hashes_never_a_key_or_a_session_token(key_store: Store) -> None:
    row, key = await key_store.keys.create("co_42", "front office")
    session = await key_store.keys.start_session(key)
    assert key.startswith(KEY_PREFIX) and len(key) >= len(KEY_PREFIX) + 43  # 256 random bits

    held = every_text_value(key_store)
    assert not [v for v in held if key in v or session in v]
    assert key_hash(key) in held and key_hash(session) in held
    found = await key_store.keys.find(key)
    assert found is not None and (found.key_id, found.company_id) == (row.key_id, "co_42")
    assert await key_store.keys.session_key_hash(session) == key_hash(key)
    assert await key_store.keys.find(key + "x") is None


async def test_a_revoked_key_is_refused_and_its_sessions_end(key_store: Store) -> None:
    row, key = await key_store.keys.create(None, "ops")
    session = await key_store.keys.start_session(key)
    revoked = await key_store.keys.revoke(row.key_id)
    assert revoked.revoked_at is not None
    assert await key_store.keys.find(key) is None
    assert await key_store.keys.session_key_hash(session) is None
    again = await key_store.keys.revoke(row.key_id)  # harmless, keeps the first time
    assert again.revoked_at == revoked.revoked_at
    assert [(k.key_id, k.scope) for k in await key_store.keys.list()] == [(row.key_id, "admin")]


def keys_cli(store_url: str, *args: str) -> Result:
    env = {"DATABASE_URL": store_url, "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode()}
    return CliRunner().invoke(cli, ["keys", *args], env=env)


async def test_the_command_line_creates_lists_and_revokes_keys(
    key_store: Store, database_url: str
) -> None:
    async def run(*args: str) -> Result:
        return await asyncio.to_thread(keys_cli, database_url, *args)

    made = await run("create", "--company", "co_42", "--name", "front office")
    assert made.exit_code == 0, made.output
    key = made.stdout.strip()  # the key alone on stdout, for KEY=$(skimmer-qbo keys create …)
    found = await key_store.keys.find(key)
    assert found is not None and (found.company_id, found.name) == ("co_42", "front office")
    assert f"created {found.key_id} (company co_42)" in made.stderr
    admin = await run("create", "--admin")
    assert admin.exit_code == 0 and (await key_store.keys.find(admin.stdout.strip())) is not None

    listed = await run("list")
    assert listed.exit_code == 0 and key not in listed.output
    lines = listed.stdout.splitlines()
    assert lines[0].split() == ["id", "scope", "name", "created", "revoked"]
    assert found.key_id in lines[1] and "company co_42" in lines[1] and "front office" in lines[1]
    assert lines[1].endswith("-") and "admin" in lines[2]

    revoked = await run("revoke", found.key_id)
    assert revoked.exit_code == 0 and f"revoked {found.key_id}" in revoked.stdout
    assert await key_store.keys.find(key) is None
    assert not (await run("list")).stdout.splitlines()[1].endswith("-")  # the time it was revoked

    unknown = await run("revoke", "key_nobody")
    assert unknown.exit_code == 1 and "no API key key_nobody" in unknown.stderr
    neither = await run("create")
    assert neither.exit_code == 2 and "--admin or --company" in neither.output
    bad_company = await run("create", "--company", "co 42/../x")
    assert bad_company.exit_code == 2 and "not a company id" in bad_company.output
