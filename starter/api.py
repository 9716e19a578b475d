"""The HTTP ingress (see docs/API.md): the app, its lifespan and its routers.

Routers by concern live in `starter/routes/`: events, QuickBooks connection and settings, the
activity log, signing in. They share the process's services and the caller's API key check
(docs/API.md, "Access") through `starter.routes.deps`.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

import httpx
import uvicorn
from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi_offline import FastAPIOffline
from temporalio.client import Client

from config import Settings, service_settings
from services import http_client, oauth_client, open_store, qbo_client
from starter.dispatch import EventDispatcher
from starter.fairness import FairnessWeights
from starter.openapi import publish_contract
from starter.routes import activity, events, health, quickbooks, reconcile, sign_in
from starter.routes.deps import NotSignedIn, Services
from starter.temporal import connect
from store import Store
from telemetry.logs import configure_logging
from telemetry.metrics import EventMetrics
from telemetry.runtime import Telemetry, process_telemetry

DOCS_URL = "/docs"
DOCS_ASSETS_URL = "/docs/assets"
DESCRIPTION = (
    "Skimmer's billing events in, QuickBooks Online kept in step: the billing backend posts "
    "events (`POST /events`), operators follow and retry them, office staff connect QuickBooks "
    "and choose its accounts. Money is a decimal string with two places; times are RFC 3339 UTC."
)


def create_app(
    settings: Settings,
    client: Client | None = None,
    store: Store | None = None,
    telemetry: Telemetry | None = None,
) -> FastAPI:
    """The API; `client` and `store` are made from `settings` when not given (tests give them).
    Metrics go to `telemetry`, by default the process's."""
    the_telemetry = telemetry or process_telemetry()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        the_store = store or open_store(settings)
        the_client = client or await connect(settings, runtime=the_telemetry.runtime)
        async with http_client() as http:
            dispatcher = EventDispatcher(
                the_client,
                the_store,
                settings.task_queue,
                settings.temporal_ui_url,
                FairnessWeights.parse(settings.fairness_weights),
                EventMetrics(the_telemetry.meter),
            )
            app.state.services = Services(
                settings=settings,
                store=the_store,
                qbo=qbo_client(settings, the_store, http),
                oauth=oauth_client(settings, http),
                dispatcher=dispatcher,
                telemetry=the_telemetry,
            )
            # Accepted events that never reached Temporal (a crash, an outage) are sent now.
            sweeper = asyncio.create_task(
                dispatcher.sweep_forever(timedelta(seconds=settings.outbox_sweep_seconds))
            )
            try:
                yield
            finally:
                sweeper.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await sweeper

    # Swagger UI at DOCS_URL from the assets the fastapi-offline package installs: no CDN.
    app = FastAPIOffline(
        docs_url=DOCS_URL,
        redoc_url=None,
        static_url=DOCS_ASSETS_URL,
        title="Skimmer → QuickBooks Online sync",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    publish_contract(app)
    app.include_router(events.router)
    app.include_router(quickbooks.router)
    app.include_router(quickbooks.callback_router)
    app.include_router(activity.router)
    app.include_router(reconcile.router)
    app.include_router(sign_in.router)
    app.add_exception_handler(NotSignedIn, sign_in.send_browsers_to_sign_in)
    app.include_router(health.router)

    @app.exception_handler(httpx.TransportError)
    async def transport_error(_: Request, exc: httpx.TransportError) -> JSONResponse:
        return JSONResponse({"detail": f"upstream unreachable: {type(exc).__name__}"}, 503)

    return app


def main() -> None:
    settings = service_settings()
    configure_logging(settings.log_format, service="api")
    # log_config=None: uvicorn keeps its loggers as configured above (JSON, redacted).
    uvicorn.run(
        create_app(settings), host=settings.api_host, port=settings.api_port, log_config=None
    )


if __name__ == "__main__":
    main()
