"""The dev stack (`make up`) points its Web UI at its codec server, so operators read payloads
decrypted there while Temporal stores them encrypted."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from temporalio.api.common.v1 import Payload

from devstack.stack import Ports, Stack
from devstack.temporal_cli import resolve_temporal_cli
from temporal_platform.converter import payload_codec
from temporal_platform.keys import new_key_line


@pytest.fixture
async def stack(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Stack]:
    cli = resolve_temporal_cli()
    if cli.path is None:
        pytest.skip("needs a Temporal CLI binary (the SDK's download has no --ui-codec-endpoint)")
    monkeypatch.setenv("PAYLOAD_ENCRYPTION_KEYS", new_key_line("stack"))
    monkeypatch.setenv("ADMIN_API_KEY", "the API's own key")  # the dev codec server goes without
    the_stack = Stack(data_dir=tmp_path / "stack", ports=Ports.free(), say=lambda _: None)
    try:
        await the_stack.start(cli)
        yield the_stack
    finally:
        await the_stack.stop()


async def test_the_dev_web_ui_decrypts_payloads_through_the_stack_codec_server(
    stack: Stack,
) -> None:
    (sealed,) = await payload_codec(stack.settings).encode(
        [Payload(metadata={"encoding": b"json/plain"}, data=b'"Jane Smith"')]
    )
    body = {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in sealed.metadata.items()},
                "data": base64.b64encode(sealed.data).decode(),
            }
        ]
    }
    ui = stack.temporal_ui_url
    async with httpx.AsyncClient(timeout=10) as http:
        settings = (await http.get(f"{ui}/api/v1/settings")).json()
        preflight = await http.options(
            f"{stack.codec_url}/decode",
            headers={
                "Origin": ui,
                "Access-Control-Request-Method": "POST",
                "Access-Control-Request-Headers": "content-type,x-namespace",
            },
        )
        # As the browser sends it: the dev UI has no login, so no token comes with it.
        decoded = await http.post(
            f"{stack.codec_url}/decode", json=body, headers={"Origin": ui, "X-Namespace": "default"}
        )
    assert settings["Codec"]["Endpoint"] == stack.codec_url
    assert preflight.status_code == 200
    assert preflight.headers["access-control-allow-origin"] == ui
    assert decoded.status_code == 200, decoded.text
    (payload,) = decoded.json()["payloads"]
    assert base64.b64decode(payload["data"]) == b'"Jane Smith"'
