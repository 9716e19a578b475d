"""The codec server as the Temporal Web UI uses it: its own process, real HTTP, CORS for the UI's
origin, `Authorization: Bearer <key>` required: ADMIN_API_KEY or an admin key of the store."""

from __future__ import annotations

import asyncio
import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.fernet import Fernet
from temporalio.api.common.v1 import Payload

from store import Store, TokenCipher
from temporal_platform.codec import PayloadEncryptionCodec
from temporal_platform.keys import new_key_line, parse_payload_keys
from tests.processes import REPO_ROOT, free_port, wait_http_ok

UI = "http://localhost:8233"
ADMIN_KEY = "admin-key-for-this-test"
JANE = b'{"display_name":"Jane Smith","email":"jane.smith@example.com"}'


@dataclass
class CodecServer:
    url: str
    keys: str  # its PAYLOAD_ENCRYPTION_KEYS
    store: Store  # the service store whose API keys it reads


def new_store(directory: Path) -> Store:
    """A service store of its own (SQLite), as `skimmer-qbo keys` would fill it."""
    store = Store(
        f"sqlite:///{directory / 'store.db'}", TokenCipher(Fernet.generate_key().decode())
    )
    store.create_all()
    return store


def codec_env(keys: str, store: Store, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PAYLOAD_ENCRYPTION_KEYS": keys,
        "TEMPORAL_UI_URL": f"{UI}/namespaces/default/workflows",
        "DATABASE_URL": store.engine.url.render_as_string(hide_password=False),
        "TOKEN_ENCRYPTION_KEY": Fernet.generate_key().decode(),
        **more,
    }


@contextmanager
def running_codec_server(env: dict[str, str]) -> Iterator[str]:
    """`python -m temporal_platform.codec_server` with `env`; yields its loopback URL."""
    port = env["CODEC_SERVER_PORT"]
    process = subprocess.Popen(
        [sys.executable, "-m", "temporal_platform.codec_server"], cwd=REPO_ROOT, env=env
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", process, timeout=30)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture(scope="module")
def codec_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[CodecServer]:
    """The codec server configured as a deployment would be: ADMIN_API_KEY and the store."""
    keys, store = (
        f"{new_key_line('k2')},{new_key_line('k1')}",
        new_store(tmp_path_factory.mktemp("codec")),
    )
    env = codec_env(keys, store, ADMIN_API_KEY=ADMIN_KEY, CODEC_SERVER_PORT=str(free_port()))
    with running_codec_server(env) as url:
        yield CodecServer(url, keys, store)


def as_json(*payloads: Payload) -> dict[str, Any]:
    """The protocol's body: protobuf JSON, bytes in base64."""
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in p.metadata.items()},
                "data": base64.b64encode(p.data).decode(),
            }
            for p in payloads
        ]
    }


def from_json(body: dict[str, Any]) -> list[Payload]:
    return [
        Payload(
            metadata={k: base64.b64decode(v) for k, v in p.get("metadata", {}).items()},
            data=base64.b64decode(p.get("data", "")),
        )
        for p in body["payloads"]
    ]


PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=JANE)


def headers_with(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}", "X-Namespace": "default", "Origin": UI}


BEARER = headers_with(ADMIN_KEY)


async def test_the_ui_reads_decrypted_what_the_worker_encrypted(codec_server: CodecServer) -> None:
    worker_codec = PayloadEncryptionCodec(parse_payload_keys(codec_server.keys))
    sealed = await worker_codec.encode([PLAIN])
    async with httpx.AsyncClient() as http:
        answer = await http.post(
            f"{codec_server.url}/decode", json=as_json(*sealed), headers=BEARER
        )
    assert answer.status_code == 200, answer.text
    assert from_json(answer.json()) == [PLAIN]
    assert answer.headers["access-control-allow-origin"] == UI


async def test_what_the_codec_server_encrypts_the_worker_reads(codec_server: CodecServer) -> None:
    async with httpx.AsyncClient() as http:
        answer = await http.post(f"{codec_server.url}/encode", json=as_json(PLAIN), headers=BEARER)
    assert answer.status_code == 200, answer.text
    (sealed,) = from_json(answer.json())
    assert b"Jane" not in sealed.data and sealed.metadata["encryption-key-id"] == b"k2"
    worker_codec = PayloadEncryptionCodec(parse_payload_keys(codec_server.keys))
    assert await worker_codec.decode([sealed]) == [PLAIN]


async def test_the_browser_preflight_is_answered_for_the_ui_origin_only(
    codec_server: CodecServer,
) -> None:
    asks = {
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "authorization,content-type,x-namespace",
    }
    async with httpx.AsyncClient() as http:
        ui = await http.options(f"{codec_server.url}/decode", headers={"Origin": UI, **asks})
        other = await http.options(
            f"{codec_server.url}/decode", headers={"Origin": "http://evil.example", **asks}
        )
    assert ui.status_code == 200
    assert ui.headers["access-control-allow-origin"] == UI
    assert ui.headers["access-control-allow-credentials"] == "true"
    assert "POST" in ui.headers["access-control-allow-methods"]
    assert {"authorization", "content-type", "x-namespace"} <= {
        h.strip().lower() for h in ui.headers["access-control-allow-headers"].split(",")
    }
    assert other.status_code == 400
    assert "access-control-allow-origin" not in other.headers


@pytest.mark.parametrize(
    "authorization", [None, "Bearer wrong-key", ADMIN_KEY, f"Basic {ADMIN_KEY}"]
)
async def test_without_the_admin_key_nothing_is_decoded_or_encoded(
    codec_server: CodecServer, authorization: str | None
) -> None:
    headers = {"Origin": UI} | ({"Authorization": authorization} if authorization else {})
    sealed = await PayloadEncryptionCodec(parse_payload_keys(codec_server.keys)).encode([PLAIN])
    async with httpx.AsyncClient() as http:
        for path, body in (("decode", as_json(*sealed)), ("encode", as_json(PLAIN))):
            answer = await http.post(f"{codec_server.url}/{path}", json=body, headers=headers)
            assert answer.status_code == 401, (path, answer.text)
            assert answer.headers["www-authenticate"] == "Bearer"
            assert "Jane" not in answer.text and "ADMIN_API_KEY" in answer.json()["detail"]


async def round_trip(url: str, key: str) -> tuple[httpx.Response, httpx.Response]:
    """Jane's payload encoded, then decoded, by the codec server at `url` with `key`."""
    async with httpx.AsyncClient() as http:
        encoded = await http.post(f"{url}/encode", json=as_json(PLAIN), headers=headers_with(key))
        sealed = from_json(encoded.json()) if encoded.status_code == 200 else [PLAIN]
        decoded = await http.post(f"{url}/decode", json=as_json(*sealed), headers=headers_with(key))
    return encoded, decoded


async def test_a_stored_admin_key_decodes_and_encodes(codec_server: CodecServer) -> None:
    _, key = await codec_server.store.keys.create(None, "ops")
    encoded, decoded = await round_trip(codec_server.url, key)
    assert encoded.status_code == 200, encoded.text
    assert decoded.status_code == 200, decoded.text
    assert from_json(decoded.json()) == [PLAIN]


async def test_a_company_key_is_forbidden_since_it_would_read_every_company(
    codec_server: CodecServer,
) -> None:
    row, key = await codec_server.store.keys.create("co_42", "front office")
    for answer in await round_trip(codec_server.url, key):
        assert answer.status_code == 403, answer.text
        detail = answer.json()["detail"]
        assert row.key_id in detail and "co_42" in detail and "admin key" in detail
        assert "Jane" not in answer.text


async def test_a_revoked_admin_key_is_unknown_to_it(codec_server: CodecServer) -> None:
    row, key = await codec_server.store.keys.create(None, "old laptop")
    assert (await round_trip(codec_server.url, key))[0].status_code == 200
    await codec_server.store.keys.revoke(row.key_id)
    for answer in await round_trip(codec_server.url, key):
        assert answer.status_code == 401, answer.text
        assert answer.headers["www-authenticate"] == "Bearer" and "Jane" not in answer.text


async def test_a_stored_admin_key_alone_lets_it_serve_the_network_with_keys_checked(
    tmp_path: Path,
) -> None:
    store = new_store(tmp_path)
    _, admin = await store.keys.create(None, "ops")
    _, company = await store.keys.create("co_42")
    env = codec_env(
        new_key_line("k1"),
        store,
        ADMIN_API_KEY="",
        CODEC_SERVER_HOST="0.0.0.0",
        CODEC_SERVER_PORT=str(free_port()),
    )
    with running_codec_server(env) as url:
        async with httpx.AsyncClient() as http:
            anyone = await http.post(f"{url}/encode", json=as_json(PLAIN), headers={"Origin": UI})
        by_admin, by_company = await round_trip(url, admin), await round_trip(url, company)
    assert anyone.status_code == 401
    assert [a.status_code for a in by_admin] == [200, 200]
    assert from_json(by_admin[1].json()) == [PLAIN]
    assert [a.status_code for a in by_company] == [403, 403]


async def test_a_payload_of_an_unknown_key_or_a_wrong_body_is_answered_clearly(
    codec_server: CodecServer,
) -> None:
    (retired,) = await PayloadEncryptionCodec(parse_payload_keys(new_key_line("k0"))).encode(
        [PLAIN]
    )
    async with httpx.AsyncClient() as http:
        unknown = await http.post(
            f"{codec_server.url}/decode", json=as_json(retired), headers=BEARER
        )
        wrong = await http.post(f"{codec_server.url}/decode", json={"items": []}, headers=BEARER)
    assert unknown.status_code == 422
    assert "key id 'k0'" in unknown.json()["detail"]
    assert wrong.status_code == 400 and "payloads" in wrong.json()["detail"]


@pytest.mark.parametrize("held", ["nothing", "a company key and a revoked admin key"])
async def test_it_refuses_to_serve_decrypted_payloads_to_the_network_without_a_key(
    tmp_path: Path, held: str
) -> None:
    store = new_store(tmp_path)
    if held != "nothing":
        await store.keys.create("co_42")
        revoked, _ = await store.keys.create(None)
        await store.keys.revoke(revoked.key_id)
    env = codec_env(
        new_key_line("k1"),
        store,
        ADMIN_API_KEY="",
        CODEC_SERVER_HOST="0.0.0.0",
        CODEC_SERVER_PORT=str(free_port()),
    )
    ran = await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "temporal_platform.codec_server"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert "set ADMIN_API_KEY" in ran.stderr and "0.0.0.0" in ran.stderr
