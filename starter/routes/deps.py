"""What every route may depend on: the process's services, and the company's connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request

from config import Settings
from qbo import OAuthClient, QBOClient
from starter.dispatch import EventDispatcher
from store import Connection, Store
from telemetry.runtime import Telemetry


@dataclass(frozen=True)
class Services:
    """Built once per process by the app's lifespan."""

    settings: Settings
    store: Store
    qbo: QBOClient
    oauth: OAuthClient
    dispatcher: EventDispatcher
    telemetry: Telemetry


def services(request: Request) -> Services:
    found: Services = request.app.state.services
    return found


ServicesDep = Annotated[Services, Depends(services)]


async def connection(company_id: str, services: ServicesDep) -> Connection:
    """The company's QuickBooks connection; 404 when it never connected."""
    conn = await services.store.get_connection(company_id)
    if conn is None:
        raise HTTPException(404, f"company {company_id} has not connected QuickBooks")
    return conn


ConnectionDep = Annotated[Connection, Depends(connection)]
