"""The HTTP ingress: billing events, QuickBooks settings, the activity log (see docs/API.md)."""

from __future__ import annotations

import asyncio
import contextlib
import html
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode

import httpx
import uvicorn
from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from pydantic import BaseModel, ValidationError
from temporalio.client import Client

from billing.events import parse_event
from config import Settings
from qbo import OAuthClient, QBOClient, QBOError
from qbo import models as q
from services import http_client, oauth_client, open_store, qbo_client
from starter.dispatch import EventDispatcher, NotSyncing
from starter.signing import BadSignature, verify
from starter.temporal import connect
from store import Connection, Store
from workflows.routing import UnsupportedEvent

log = logging.getLogger(__name__)

QBO_SCOPE = "com.intuit.quickbooks.accounting"
STATE_MAX_AGE_SECONDS = 600
COMPANY_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


class EventAccepted(BaseModel):
    event_id: str
    workflow_id: str
    status: Literal["accepted", "duplicate"]


class EventState(BaseModel):
    event_id: str
    workflow_id: str
    status: Literal["running", "completed", "failed"]
    message: str | None = None
    temporal_ui_url: str


class AccountOut(BaseModel):
    id: str
    name: str
    type: str | None
    sub_type: str | None


class SettingsIn(BaseModel):
    income_account_id: str | None = None
    deposit_account_id: str | None = None
    refund_account_id: str | None = None
    payouts_account_id: str | None = None
    fees_account_id: str | None = None
    sync_enabled: bool


class SettingsOut(SettingsIn):
    realm_id: str
    connection_status: str
    sync_started_at: datetime | None = None


class ActivityOut(BaseModel):
    at: datetime
    record_type: str
    record_id: str
    action: str
    outcome: str
    message: str
    qbo_type: str | None = None
    qbo_id: str | None = None
    workflow_id: str


def settings_out(conn: Connection) -> SettingsOut:
    return SettingsOut(
        income_account_id=conn.income_account_id,
        deposit_account_id=conn.deposit_account_id,
        refund_account_id=conn.refund_account_id,
        payouts_account_id=conn.payouts_account_id,
        fees_account_id=conn.fees_account_id,
        sync_enabled=conn.sync_enabled,
        realm_id=conn.realm_id,
        connection_status=conn.status,
        sync_started_at=conn.sync_started_at,
    )


def create_app(
    settings: Settings, client: Client | None = None, store: Store | None = None
) -> FastAPI:
    state_of: dict[str, Any] = {}

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        the_store = store or open_store(settings)
        the_client = client or await connect(settings)
        async with http_client() as http:
            dispatcher = EventDispatcher(
                the_client, the_store, settings.task_queue, settings.temporal_ui_url
            )
            state_of["store"] = the_store
            state_of["qbo"] = qbo_client(settings, the_store, http)
            state_of["oauth"] = oauth_client(settings, http)
            state_of["dispatcher"] = dispatcher
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

    app = FastAPI(title="Skimmer → QuickBooks Online sync", version="0.1.0", lifespan=lifespan)

    def the_store() -> Store:
        s: Store = state_of["store"]
        return s

    def dispatcher() -> EventDispatcher:
        d: EventDispatcher = state_of["dispatcher"]
        return d

    async def connection(company_id: str) -> Connection:
        conn = await the_store().get_connection(company_id)
        if conn is None:
            raise HTTPException(404, f"company {company_id} has not connected QuickBooks")
        return conn

    async def chart_of_accounts(conn: Connection) -> list[q.Account]:
        client: QBOClient = state_of["qbo"]
        try:
            return await client.query(
                conn.realm_id, q.Account, "SELECT * FROM Account MAXRESULTS 1000"
            )
        except QBOError as exc:
            raise HTTPException(502, f"QuickBooks did not list the accounts: {exc}") from exc

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.post("/events", status_code=202, response_model=EventAccepted)
    async def post_event(request: Request) -> EventAccepted:
        body = await request.body()
        if settings.events_signing_secret:
            try:
                verify(settings.events_signing_secret, body, request.headers.get("X-Signature"))
            except BadSignature as exc:
                raise HTTPException(401, str(exc)) from exc
        try:
            event = parse_event(body)
        except ValidationError as exc:
            errors = exc.errors(include_url=False, include_context=False, include_input=False)
            raise HTTPException(422, errors) from exc
        try:
            accepted = await dispatcher().submit(event)
        except UnsupportedEvent as exc:
            raise HTTPException(422, [{"loc": ["body", "type"], "msg": str(exc)}]) from exc
        except NotSyncing as exc:
            raise HTTPException(409, str(exc)) from exc
        return EventAccepted(**accepted.__dict__)

    @app.get("/events/{event_id}", response_model=EventState)
    async def get_event(event_id: str) -> EventState:
        found = await dispatcher().status(event_id)
        if found is None:
            raise HTTPException(404, f"event {event_id} is unknown")
        return EventState(**found.__dict__)

    @app.get("/companies/{company_id}/quickbooks/connect")
    async def connect_quickbooks(company_id: str) -> RedirectResponse:
        """Send the browser to Intuit (or the sandbox) to pick and approve a QBO company."""
        if not COMPANY_ID.fullmatch(company_id):
            raise HTTPException(422, f"bad company id {company_id!r}")
        state = the_store().cipher.encrypt(json.dumps({"company_id": company_id}))
        query = urlencode(
            {
                "client_id": settings.qbo_client_id,
                "response_type": "code",
                "scope": QBO_SCOPE,
                "redirect_uri": settings.qbo_redirect_uri,
                "state": state,
            }
        )
        return RedirectResponse(f"{settings.qbo_authorize_url}?{query}", status_code=302)

    @app.get("/quickbooks/callback")
    async def quickbooks_callback(
        state: str, code: str | None = None, realmId: str | None = None, error: str | None = None
    ) -> RedirectResponse:
        try:
            sealed = the_store().cipher.decrypt(state, max_age_seconds=STATE_MAX_AGE_SECONDS)
            company_id = str(json.loads(sealed)["company_id"])
        except (ValueError, KeyError, TypeError) as exc:
            raise HTTPException(400, "unknown or expired state: start connecting again") from exc
        if error or not code or not realmId:
            raise HTTPException(400, f"QuickBooks did not connect: {error or 'no code or realmId'}")
        oauth: OAuthClient = state_of["oauth"]
        try:
            tokens = await oauth.exchange_code(code, settings.qbo_redirect_uri)
        except QBOError as exc:
            raise HTTPException(502, f"QuickBooks refused the connection: {exc}") from exc
        await the_store().save_connection(
            company_id,
            realmId,
            tokens.access_token,
            tokens.refresh_token,
            tokens.expires_in,
            tokens.x_refresh_token_expires_in,
        )
        target = settings.connected_redirect_url.format(company_id=company_id)
        return RedirectResponse(target, status_code=302)

    @app.delete("/companies/{company_id}/quickbooks/connection", response_model=SettingsOut)
    async def disconnect_quickbooks(company_id: str) -> SettingsOut:
        """Revoke the tokens at Intuit, stop syncing; the links and the activity log stay."""
        conn = await connection(company_id)
        if conn.status != "disconnected":
            tokens = await the_store().load_tokens(conn.realm_id)
            oauth: OAuthClient = state_of["oauth"]
            try:
                await oauth.revoke(tokens.refresh_token)
            except (QBOError, httpx.TransportError) as exc:
                # The tokens are forgotten below either way; Intuit expires them in time.
                log.warning("revoking the QuickBooks token of %s failed: %s", company_id, exc)
        return settings_out(await the_store().disconnect(company_id))

    @app.get("/companies/{company_id}/quickbooks/accounts", response_model=list[AccountOut])
    async def accounts(company_id: str) -> list[AccountOut]:
        rows = await chart_of_accounts(await connection(company_id))
        return [
            AccountOut(id=a.Id, name=a.Name, type=a.AccountType, sub_type=a.AccountSubType)
            for a in rows
        ]

    @app.get("/companies/{company_id}/quickbooks/settings", response_model=SettingsOut)
    async def get_settings(company_id: str) -> SettingsOut:
        return settings_out(await connection(company_id))

    @app.put("/companies/{company_id}/quickbooks/settings", response_model=SettingsOut)
    async def put_settings(company_id: str, body: SettingsIn) -> SettingsOut:
        conn = await connection(company_id)
        chosen = {
            k: v for k, v in body.model_dump(exclude={"sync_enabled"}).items() if v is not None
        }
        if chosen:
            known = {a.Id for a in await chart_of_accounts(conn)}
            unknown = [
                {"loc": ["body", k], "msg": f"account {v} is not in this QuickBooks company"}
                for k, v in chosen.items()
                if v not in known
            ]
            if unknown:
                raise HTTPException(422, unknown)
        if body.sync_enabled and not (chosen.get("income_account_id") or conn.income_account_id):
            raise HTTPException(
                422,
                [{"loc": ["body", "income_account_id"], "msg": "choose a default income account"}],
            )
        if conn.status != "connected" and body.sync_enabled:
            raise HTTPException(409, f"company {company_id} must reconnect QuickBooks first")
        updated = await the_store().update_settings(
            company_id, sync_enabled=body.sync_enabled, **chosen
        )
        return settings_out(updated)

    @app.get("/companies/{company_id}/activity", response_model=None)
    async def activity(
        request: Request,
        company_id: str,
        limit: int = Query(50, ge=1, le=500),
        before: datetime | None = None,
    ) -> list[ActivityOut] | HTMLResponse:
        rows = await the_store().list_activity(company_id, limit, before)
        entries = [ActivityOut.model_validate(row, from_attributes=True) for row in rows]
        if "text/html" in request.headers.get("accept", ""):
            return HTMLResponse(activity_page(company_id, entries))
        return entries

    @app.exception_handler(httpx.TransportError)
    async def transport_error(_: Request, exc: httpx.TransportError) -> JSONResponse:
        return JSONResponse({"detail": f"upstream unreachable: {type(exc).__name__}"}, 503)

    return app


def activity_page(company_id: str, entries: list[ActivityOut]) -> str:
    rows = "".join(
        "<tr class='{o}'><td>{at}</td><td>{rt} {rid}</td><td>{o}</td><td>{m}</td><td>{qid}</td></tr>".format(
            o=html.escape(e.outcome),
            at=html.escape(e.at.strftime("%Y-%m-%d %H:%M:%S")),
            rt=html.escape(e.record_type),
            rid=html.escape(e.record_id),
            m=html.escape(e.message),
            qid=html.escape(f"{e.qbo_type or ''} {e.qbo_id or ''}".strip()),
        )
        for e in entries
    )
    return f"""<!doctype html><html><head><meta charset="utf-8">
<title>QuickBooks activity log · {html.escape(company_id)}</title>
<style>body{{font-family:sans-serif;margin:2em}}td,th{{padding:4px 10px;text-align:left}}
tr.failed td{{color:#b00}}tr.retrying td{{color:#a60}}</style></head><body>
<h1>Integrations → QuickBooks activity log</h1>
<table><tr><th>When (UTC)</th><th>Record</th><th>Outcome</th><th>What happened</th>
<th>QuickBooks</th></tr>{rows}</table></body></html>"""


def main() -> None:
    settings = Settings.from_env()
    uvicorn.run(create_app(settings), host=settings.api_host, port=settings.api_port)


if __name__ == "__main__":
    main()
