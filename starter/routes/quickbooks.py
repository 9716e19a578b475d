"""Connecting a company to QuickBooks (OAuth), its chart of accounts, and its sync settings."""

from __future__ import annotations

import json
import logging
import re
import zoneinfo
from datetime import datetime
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, field_validator

from qbo import QBOError
from qbo import models as q
from starter.routes.deps import ConnectionDep, ServicesDep
from store import Connection

log = logging.getLogger(__name__)

router = APIRouter(tags=["quickbooks"])

QBO_SCOPE = "com.intuit.quickbooks.accounting"
STATE_MAX_AGE_SECONDS = 600
COMPANY_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


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
    # IANA name (e.g. "America/Phoenix"); None keeps the stored one.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str | None) -> str | None:
        if name is not None and name not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {name!r}: use an IANA name like America/Phoenix")
        return name


class SettingsOut(SettingsIn):
    realm_id: str
    connection_status: str
    sync_started_at: datetime | None = None


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
        timezone=conn.timezone,
    )


async def chart_of_accounts(services: ServicesDep, conn: Connection) -> list[q.Account]:
    try:
        return await services.qbo.query(
            conn.realm_id, q.Account, "SELECT * FROM Account MAXRESULTS 1000"
        )
    except QBOError as exc:
        raise HTTPException(502, f"QuickBooks did not list the accounts: {exc}") from exc


@router.get("/companies/{company_id}/quickbooks/connect")
async def connect_quickbooks(company_id: str, services: ServicesDep) -> RedirectResponse:
    """Send the browser to Intuit (or the sandbox) to pick and approve a QBO company."""
    if not COMPANY_ID.fullmatch(company_id):
        raise HTTPException(422, f"bad company id {company_id!r}")
    settings = services.settings
    state = services.store.cipher.encrypt(json.dumps({"company_id": company_id}))
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


@router.get("/quickbooks/callback")
async def quickbooks_callback(
    services: ServicesDep,
    state: str,
    code: str | None = None,
    realmId: str | None = None,
    error: str | None = None,
) -> RedirectResponse:
    try:
        sealed = services.store.cipher.decrypt(state, max_age_seconds=STATE_MAX_AGE_SECONDS)
        company_id = str(json.loads(sealed)["company_id"])
    except (ValueError, KeyError, TypeError) as exc:
        raise HTTPException(400, "unknown or expired state: start connecting again") from exc
    if error or not code or not realmId:
        raise HTTPException(400, f"QuickBooks did not connect: {error or 'no code or realmId'}")
    try:
        tokens = await services.oauth.exchange_code(code, services.settings.qbo_redirect_uri)
    except QBOError as exc:
        raise HTTPException(502, f"QuickBooks refused the connection: {exc}") from exc
    before = await services.store.get_connection(company_id)
    await services.store.save_connection(
        company_id,
        realmId,
        tokens.access_token,
        tokens.refresh_token,
        tokens.expires_in,
        tokens.x_refresh_token_expires_in,
    )
    if before is not None and before.status == "reconnect_required":
        await services.dispatcher.wake_waiting(company_id, same_company=before.realm_id == realmId)
    target = services.settings.connected_redirect_url.format(company_id=company_id)
    return RedirectResponse(target, status_code=302)


@router.delete("/companies/{company_id}/quickbooks/connection", response_model=SettingsOut)
async def disconnect_quickbooks(
    company_id: str, conn: ConnectionDep, services: ServicesDep
) -> SettingsOut:
    """Revoke the tokens at Intuit, stop syncing; the links and the activity log stay."""
    if conn.status != "disconnected":
        tokens = await services.store.load_tokens(conn.realm_id)
        try:
            await services.oauth.revoke(tokens.refresh_token)
        except (QBOError, httpx.TransportError) as exc:
            # The tokens are forgotten below either way; Intuit expires them in time.
            log.warning("revoking the QuickBooks token of %s failed: %s", company_id, exc)
    return settings_out(await services.store.disconnect(company_id))


@router.get("/companies/{company_id}/quickbooks/accounts", response_model=list[AccountOut])
async def accounts(conn: ConnectionDep, services: ServicesDep) -> list[AccountOut]:
    rows = await chart_of_accounts(services, conn)
    return [
        AccountOut(id=a.Id, name=a.Name, type=a.AccountType, sub_type=a.AccountSubType)
        for a in rows
    ]


@router.get("/companies/{company_id}/quickbooks/settings", response_model=SettingsOut)
async def get_settings(conn: ConnectionDep) -> SettingsOut:
    return settings_out(conn)


@router.put("/companies/{company_id}/quickbooks/settings", response_model=SettingsOut)
async def put_settings(
    company_id: str, body: SettingsIn, conn: ConnectionDep, services: ServicesDep
) -> SettingsOut:
    chosen = {k: v for k, v in body.model_dump(exclude={"sync_enabled"}).items() if v is not None}
    timezone = chosen.pop("timezone", None)  # not an account: stored as given
    if chosen:
        known = {a.Id for a in await chart_of_accounts(services, conn)}
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
    if timezone is not None:
        chosen["timezone"] = timezone
    updated = await services.store.update_settings(
        company_id, sync_enabled=body.sync_enabled, **chosen
    )
    return settings_out(updated)
