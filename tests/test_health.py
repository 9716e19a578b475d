"""`/healthz` and `/readyz` on the real API: ready when Temporal and the store answer, 503 naming
the one that does not (a store or a Temporal nobody listens for)."""

from __future__ import annotations

import httpx
from cryptography.fernet import Fernet
from temporalio.client import Client

from config import Settings
from store import Store, TokenCipher
from temporal_platform.converter import data_converter
from temporal_platform.keys import new_key_line, parse_payload_keys
from tests.processes import free_port, serve


async def test_ready_when_temporal_and_the_store_answer(api: str, http: httpx.AsyncClient) -> None:
    assert (await http.get(f"{api}/healthz")).json() == {"status": "ok"}
    ready = await http.get(f"{api}/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "ready", "checks": {"temporal": "ok", "store": "ok"}}


async def test_not_ready_names_the_store_when_its_database_does_not_answer(
    settings: Settings, temporal_client: Client, http: httpx.AsyncClient
) -> None:
    nobody = f"postgresql+psycopg://skimmer:secret@127.0.0.1:{free_port()}/skimmer"
    gone = Store(nobody, TokenCipher(Fernet.generate_key().decode()))
    async for api in serve(settings, temporal_client, gone):
        reply = await http.get(f"{api}/readyz")
        assert reply.status_code == 503
        checks = reply.json()["checks"]
        assert checks["temporal"] == "ok"
        assert checks["store"] == "unreachable (OperationalError)"
        assert "secret" not in reply.text  # never the connection string
        assert (await http.get(f"{api}/healthz")).status_code == 200  # up, just not ready


async def test_not_ready_names_temporal_when_it_does_not_answer(
    settings: Settings, store: Store, http: httpx.AsyncClient
) -> None:
    away = await Client.connect(
        f"127.0.0.1:{free_port()}",
        data_converter=data_converter(parse_payload_keys(new_key_line())),
        lazy=True,
    )
    async for api in serve(settings, away, store):
        reply = await http.get(f"{api}/readyz")
        assert reply.status_code == 503
        assert reply.json()["status"] == "not ready"
        checks = reply.json()["checks"]
        assert checks["store"] == "ok"
        assert checks["temporal"].startswith("unreachable (")
