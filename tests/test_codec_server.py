"""The codec server as the Temporal Web UI uses it: its own process, real HTTP, CORS for the UI's
origin, `Authorization: Bearer <ADMIN_API_KEY>` required."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from temporalio.api.common.v1 import Payload

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


def codec_env(keys: str, **more: str) -> dict[str, str]:
    return {
        **os.environ,
        "PAYLOAD_ENCRYPTION_KEYS": keys,
        "TEMPORAL_UI_URL": f"{UI}/namespaces/default/workflows",
        **more,
    }


@pytest.fixture(scope="module")
def codec_server() -> Iterator[CodecServer]:
    """`python -m temporal_platform.codec_server`, configured as a deployment would be."""
    port, keys = free_port(), f"{new_key_line('k2')},{new_key_line('k1')}"
    env = codec_env(keys, ADMIN_API_KEY=ADMIN_KEY, CODEC_SERVER_PORT=str(port))
    process = subprocess.Popen(
        [sys.executable, "-m", "temporal_platform.codec_server"], cwd=REPO_ROOT, env=env
    )
    try:
        wait_http_ok(f"http://127.0.0.1:{port}/healthz", process, timeout=30)
        yield CodecServer(f"http://127.0.0.1:{port}", keys)
    finally:
        process.terminate()
        process.wait(timeout=10)


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


BEARER = {"Authorization": f"Bearer {ADMIN_KEY}", "X-Namespace": "default", "Origin": UI}
PLAIN = Payload(metadata={"encoding": b"json/plain"}, data=JANE)


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


def test_it_refuses_to_serve_decrypted_payloads_to_the_network_without_a_key() -> None:
    env = codec_env(
        new_key_line("k1"),
        ADMIN_API_KEY="",
        CODEC_SERVER_HOST="0.0.0.0",
        CODEC_SERVER_PORT=str(free_port()),
    )
    ran = subprocess.run(
        [sys.executable, "-m", "temporal_platform.codec_server"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert ran.returncode != 0
    assert "set ADMIN_API_KEY" in ran.stderr and "0.0.0.0" in ran.stderr
