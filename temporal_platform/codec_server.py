"""The codec server the Temporal Web UI and CLI decrypt payloads with: `POST /encode` and
`POST /decode` on `{"payloads": [...]}`, CORS for the UI's origin, and callers' bearer keys
checked (ADMIN_API_KEY or an admin key of the store) when either exists, else loopback only."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated
from urllib.parse import urlsplit

import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException, Request, Response
from fastapi.middleware.cors import CORSMiddleware
from google.protobuf import json_format
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.converter import PayloadCodec

from config import Settings
from services import open_store
from temporal_platform.access import (
    BearerCheck,
    NotAnOperator,
    operator_check,
    require_protected_unless_loopback,
)
from temporal_platform.codec import PayloadKeyError
from temporal_platform.converter import payload_codec


def ui_origins(settings: Settings) -> list[str]:
    """CODEC_CORS_ORIGINS, else the origin of TEMPORAL_UI_URL."""
    if settings.codec_cors_origins.strip():
        return [o.strip().rstrip("/") for o in settings.codec_cors_origins.split(",") if o.strip()]
    url = urlsplit(settings.temporal_ui_url)
    return [f"{url.scheme}://{url.netloc}"]


def create_codec_app(
    codec: PayloadCodec, *, origins: Sequence[str], check: BearerCheck | None
) -> FastAPI:
    """The app; `check` None lets every caller in (a loopback-only dev stack)."""
    app = FastAPI(title="Temporal codec server", docs_url=None, redoc_url=None, openapi_url=None)
    app.add_middleware(
        CORSMiddleware,
        allow_origins=list(origins),
        allow_methods=["POST"],
        # The UI sends X-Namespace, and Authorization when it passes the user's access token.
        allow_headers=["Authorization", "Content-Type", "X-Namespace"],
        allow_credentials=True,
    )

    async def caller(authorization: Annotated[str | None, Header()] = None) -> None:
        if check is None:
            return
        scheme, _, token = (authorization or "").partition(" ")
        try:
            who = await check(token.strip()) if scheme.lower() == "bearer" else None
        except NotAnOperator as exc:
            raise HTTPException(403, str(exc)) from None
        if who is None:
            raise HTTPException(
                401,
                "send Authorization: Bearer <key> to encode or decode payloads, the key "
                "ADMIN_API_KEY or a live admin key (skimmer-qbo keys create --admin)",
                headers={"WWW-Authenticate": "Bearer"},
            )

    async def payloads_of(request: Request) -> Payloads:
        try:
            return json_format.Parse(await request.body(), Payloads())
        except json_format.ParseError as exc:
            raise HTTPException(400, f'the body is not {{"payloads": [...]}}: {exc}') from None

    def reply(payloads: Sequence[Payload]) -> Response:
        body = json_format.MessageToJson(Payloads(payloads=payloads))
        return Response(body, media_type="application/json")

    @app.post("/encode", dependencies=[Depends(caller)])
    async def encode(request: Request) -> Response:
        return reply(await codec.encode((await payloads_of(request)).payloads))

    @app.post("/decode", dependencies=[Depends(caller)])
    async def decode(request: Request) -> Response:
        try:
            return reply(await codec.decode((await payloads_of(request)).payloads))
        except PayloadKeyError as exc:
            raise HTTPException(422, str(exc)) from None

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> None:
    settings = Settings.from_env()
    # The API's store: its admin keys open the codec server too.
    check = asyncio.run(operator_check(settings, open_store(settings).keys))
    require_protected_unless_loopback(check, settings.codec_server_host)
    uvicorn.run(
        create_codec_app(payload_codec(settings), origins=ui_origins(settings), check=check),
        host=settings.codec_server_host,
        port=settings.codec_server_port,
    )


if __name__ == "__main__":
    main()
