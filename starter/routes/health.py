"""What a platform watches: `/healthz` (up), `/readyz` (Temporal and the store answer), `/metrics`."""

from __future__ import annotations

import logging
from typing import Literal

from fastapi import APIRouter
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from starter.routes.deps import ServicesDep
from telemetry.health import readiness, temporal_check
from telemetry.metrics import WaitingLanes
from telemetry.runtime import METRICS_CONTENT_TYPE

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    return {"status": "ok"}


class Readiness(BaseModel):
    """Each dependency's check ("ok", or why it failed: an error type, never a secret)."""

    status: Literal["ready", "not ready"]
    checks: dict[str, str]


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "A dependency did not answer."}},
)
async def readyz(services: ServicesDep) -> JSONResponse:
    """200 when Temporal and the store answer; 503 naming the one that did not."""
    found = await readiness(
        {"temporal": temporal_check(services.dispatcher.client), "store": services.store.ping}
    )
    if found.ready:
        return JSONResponse({"status": "ready", "checks": found.checks})
    log.warning("not ready: %s", ", ".join(found.failing), extra={"checks": found.checks})
    return JSONResponse({"status": "not ready", "checks": found.checks}, status_code=503)


@router.get("/metrics", response_class=Response)
async def metrics(services: ServicesDep) -> Response:
    """Prometheus text: the Temporal SDK's metrics and the service's (docs/OPERATIONS.md)."""
    try:
        WaitingLanes(services.telemetry.meter).set(await services.dispatcher.count_waiting())
    except Exception as exc:  # Temporal away: the rest of the page still tells a lot
        log.warning("lanes waiting for reconnect not counted: %s", type(exc).__name__)
    return Response(services.telemetry.render(), media_type=METRICS_CONTENT_TYPE)
