"""Connecting a company to QuickBooks (OAuth), its chart of accounts, and its sync settings."""

from __future__ import annotations

import json
import logging
import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlencode

import httpx
from fastapi import APIRouter, HTTPException
from fastapi.responses import RedirectResponse
from pydantic import BaseModel, field_validator
from temporalio.service import RPCError

from qbo import QBOError
from qbo import models as q
from starter.api_models import STATE_MAX_AGE_SECONDS
from starter.reconcile import (
    delete_reconciliation,
    pause_reconciliation,
    schedule_reconciliation,
)
from starter.routes.answers import error_answers
from starter.routes.deps import ConnectionDep, ServicesDep, company_access
from store import Connection

log = logging.getLogger(__name__)

# Every route of a company needs a key that reaches it (connecting included: a key of another
# company must not re-point this one's QuickBooks); the OAuth callback is bound by `state`.
router = APIRouter(tags=["quickbooks"], dependencies=[company_access])
callback_router = APIRouter(tags=["quickbooks"])

QBO_SCOPE = "com.intuit.quickbooks.accounting"
COMPANY_ID = re.compile(r"[A-Za-z0-9_.\-]{1,100}")


class AccountOut(BaseModel):
    id: str
    name: str
    type: str | None
    sub_type: str | None


class SettingsIn(BaseModel):
    """A missing (null) account leaves the stored choice as it is."""

    income_account_id: str | None = None
    deposit_account_id: str | None = None
    refund_account_id: str | None = None
    payouts_account_id: str | None = None
    fees_account_id: str | None = None
    inventory_asset_account_id: str | None = None
    cogs_account_id: str | None = None
    sync_enabled: bool
    # IANA name (e.g. "America/Phoenix"); None keeps the stored one.
    timezone: str | None = None

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, name: str | None) -> str | None:
        if name is not None and name not in zoneinfo.available_timezones():
            raise ValueError(f"unknown time zone {name!r}: use an IANA name like America/Phoenix")
        return name


@dataclass(frozen=True)
class AccountKind:
    """One kind of QBO account a setting may point at: its AccountType, and its sub-type if
    only one fits (Undeposited Funds is an Other Current Asset of sub-type UndepositedFunds)."""

    name: str
    account_type: str
    sub_type: str | None = None

    def fits(self, account: q.Account) -> bool:
        return account.AccountType == self.account_type and (
            self.sub_type is None or account.AccountSubType == self.sub_type
        )


BANK = AccountKind("Bank", "Bank")
# Each account setting → the kinds of account that fit it (API.md, "Connecting a company").
FITTING_ACCOUNTS: dict[str, tuple[AccountKind, ...]] = {
    "income_account_id": (AccountKind("Income", "Income"),),
    "deposit_account_id": (
        AccountKind("Undeposited Funds", "Other Current Asset", "UndepositedFunds"),
        BANK,
    ),
    "refund_account_id": (BANK, AccountKind("Credit Card", "Credit Card")),
    "payouts_account_id": (BANK,),
    "fees_account_id": (
        AccountKind("Expense", "Expense"),
        AccountKind("Other Expense", "Other Expense"),
    ),
    "inventory_asset_account_id": (AccountKind("Other Current Asset", "Other Current Asset"),),
    "cogs_account_id": (AccountKind("Cost of Goods Sold", "Cost of Goods Sold"),),
}
# What sync posts to on every payment, credit and refund: it cannot be on without them.
NEEDED_FOR_SYNC = ("income_account_id", "deposit_account_id", "refund_account_id")
# Optional parts of the sync, each on only when all of its accounts are chosen: payouts move
# money to the bank and book the fees; inventory items need an asset and a cost-of-goods account.
SETTINGS_PAIRS = (
    ("payouts_account_id", "fees_account_id"),
    ("inventory_asset_account_id", "cogs_account_id"),
)


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
        inventory_asset_account_id=conn.inventory_asset_account_id,
        cogs_account_id=conn.cogs_account_id,
        sync_enabled=conn.sync_enabled,
        realm_id=conn.realm_id,
        connection_status=conn.status,
        sync_started_at=conn.sync_started_at,
        timezone=conn.timezone,
    )


def reconnect_quickbooks(conn: Connection) -> HTTPException:
    return HTTPException(
        409, f"company {conn.company_id} is not connected to QuickBooks: reconnect QuickBooks"
    )


async def chart_of_accounts(services: ServicesDep, conn: Connection) -> list[q.Account]:
    if conn.status != "connected":
        # A disconnected company has no tokens; a refused login would only be refused again.
        raise reconnect_quickbooks(conn)
    try:
        return await services.qbo.query(
            conn.realm_id, q.Account, "SELECT * FROM Account MAXRESULTS 1000"
        )
    except QBOError as exc:
        raise HTTPException(502, f"QuickBooks did not list the accounts: {exc}") from exc


# Where the company's QuickBooks connection is missing (404) or unusable (409), in its words.
NOT_CONNECTED = {404: "The company never connected QuickBooks."}
RECONNECT = {409: "The company is not connected to QuickBooks now: reconnect QuickBooks."}
QBO_REFUSED = {502: "QuickBooks did not list the chart of accounts; its error is quoted."}
LOCATION = {"description": "Where the browser goes next.", "schema": {"type": "string"}}


@router.get(
    "/companies/{company_id}/quickbooks/connect",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {
            "description": "To Intuit's authorize page (or the sandbox's), `state` bound to the "
            "company.",
            "headers": {"Location": LOCATION},
        },
        **error_answers(422, described={422: "The company id is not one the service keeps."}),
    },
)
async def connect_quickbooks(company_id: str, services: ServicesDep) -> RedirectResponse:
    """Send the browser to Intuit (or the sandbox) to pick and approve a QBO company."""
    if not COMPANY_ID.fullmatch(company_id):
        msg = f"bad company id {company_id!r}: up to 100 letters, digits, '_', '.' or '-'"
        raise HTTPException(422, [{"loc": ["path", "company_id"], "msg": msg}])
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


@callback_router.get(
    "/quickbooks/callback",
    status_code=302,
    response_class=RedirectResponse,
    responses={
        302: {
            "description": "Connected: on to the settings page (CONNECTED_REDIRECT_URL).",
            "headers": {"Location": LOCATION},
        },
        **error_answers(
            400,
            422,
            502,
            503,
            described={
                400: "An unknown or expired `state`, or QuickBooks did not approve: connect again.",
                422: "No `state` in the query.",
                502: "QuickBooks refused the code (e.g. used already); its error is quoted.",
            },
        ),
    },
)
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


@router.delete(
    "/companies/{company_id}/quickbooks/connection",
    response_model=SettingsOut,
    responses=error_answers(
        404,
        409,
        503,
        described={
            **NOT_CONNECTED,
            409: "Disconnected already.",
            503: "Disconnected, but Temporal did not remove the reconciliation schedule: try again.",
        },
    ),
)
async def disconnect_quickbooks(
    company_id: str, conn: ConnectionDep, services: ServicesDep
) -> SettingsOut:
    """Revoke the tokens at Intuit, stop syncing; the links and the activity log stay."""
    if conn.status == "disconnected":
        raise reconnect_quickbooks(conn)
    try:
        tokens = await services.store.load_tokens(conn.realm_id)
        await services.oauth.revoke(tokens.refresh_token)
    except (QBOError, httpx.TransportError, ValueError) as exc:
        # The tokens are forgotten below either way; Intuit expires them in time.
        log.warning("revoking the QuickBooks token of %s failed: %s", company_id, exc)
    disconnected = await services.store.disconnect(company_id)
    try:
        await delete_reconciliation(services.dispatcher.client, company_id)
    except RPCError as exc:
        raise HTTPException(
            503, "disconnected, but the reconciliation schedule could not be removed: try again"
        ) from exc
    return settings_out(disconnected)


@router.get(
    "/companies/{company_id}/quickbooks/accounts",
    response_model=list[AccountOut],
    responses=error_answers(
        404, 409, 502, 503, described={**NOT_CONNECTED, **RECONNECT, **QBO_REFUSED}
    ),
)
async def accounts(conn: ConnectionDep, services: ServicesDep) -> list[AccountOut]:
    """The QBO chart of accounts, for the settings' dropdowns."""
    rows = await chart_of_accounts(services, conn)
    return [
        AccountOut(id=a.Id, name=a.Name, type=a.AccountType, sub_type=a.AccountSubType)
        for a in rows
    ]


@router.get(
    "/companies/{company_id}/quickbooks/settings",
    response_model=SettingsOut,
    responses=error_answers(404, described=NOT_CONNECTED),
)
async def get_settings(conn: ConnectionDep) -> SettingsOut:
    return settings_out(conn)


@router.put(
    "/companies/{company_id}/quickbooks/settings",
    response_model=SettingsOut,
    responses=error_answers(
        404,
        409,
        422,
        502,
        503,
        described={
            **NOT_CONNECTED,
            **RECONNECT,
            **QBO_REFUSED,
            422: "An account that is not in the QBO company or not of a fitting type, sync "
            "switched on while an account it needs is missing, or an unknown time zone; each "
            "named by its field.",
            503: "QuickBooks did not answer; or the settings are saved but Temporal did not set "
            "or pause the reconciliation schedule: save again.",
        },
    ),
)
async def put_settings(
    company_id: str, body: SettingsIn, conn: ConnectionDep, services: ServicesDep
) -> SettingsOut:
    chosen = {k: v for k, v in body.model_dump(exclude={"sync_enabled"}).items() if v is not None}
    timezone = chosen.pop("timezone", None)  # not an account: stored as given
    if conn.status != "connected" and (chosen or body.sync_enabled):
        raise reconnect_quickbooks(conn)
    if chosen:
        chart = {a.Id: a for a in await chart_of_accounts(services, conn)}
        unfit = [
            {"loc": ["body", field], "msg": msg}
            for field, account_id in chosen.items()
            if (msg := account_misfit(field, chart.get(account_id), account_id))
        ]
        if unfit:
            raise HTTPException(422, unfit)
    if body.sync_enabled:
        mapped = {f: chosen.get(f) or getattr(conn, f) for f in FITTING_ACCOUNTS}
        missing = [
            {"loc": ["body", f], "msg": f"choose the {setting_words(f)} before switching sync on"}
            for f in NEEDED_FOR_SYNC
            if not mapped[f]
        ] + [
            {
                "loc": ["body", f],
                "msg": f"choose the {setting_words(f)} too: "
                f"the {setting_words(other)} is only used together with it",
            }
            for pair in SETTINGS_PAIRS
            for f, other in (pair, pair[::-1])
            if mapped[other] and not mapped[f]
        ]
        if missing:
            raise HTTPException(422, missing)
    if timezone is not None:
        chosen["timezone"] = timezone
    updated = await services.store.update_settings(
        company_id, sync_enabled=body.sync_enabled, **chosen
    )
    await follow_sync_switch(services, company_id, updated.sync_enabled)
    return settings_out(updated)


async def follow_sync_switch(services: ServicesDep, company_id: str, sync_enabled: bool) -> None:
    """The reconciliation schedule runs while sync is on, and is paused while it is off."""
    client = services.dispatcher.client
    try:
        if sync_enabled:
            every = services.settings.reconcile_every
            await schedule_reconciliation(client, company_id, services.settings.task_queue, every)
        else:
            await pause_reconciliation(client, company_id)
    except RPCError as exc:
        raise HTTPException(
            503,
            "the settings are saved, but the reconciliation schedule could not be "
            f"{'set' if sync_enabled else 'paused'} (Temporal did not answer): save them again",
        ) from exc


def setting_words(field: str) -> str:
    """ "deposit_account_id" → "deposit account"."""
    return field.removesuffix("_id").replace("_", " ")


def account_misfit(field: str, account: q.Account | None, account_id: str) -> str | None:
    """Why `account` cannot be the `field` setting, in words naming the kinds that fit; None if it can."""
    kinds = FITTING_ACCOUNTS[field]
    fitting = " or ".join(kind.name for kind in kinds)
    if account is None:
        return f"account {account_id} is not in this QuickBooks company; choose {fitting}"
    if any(kind.fits(account) for kind in kinds):
        return None
    sort = account.AccountType or "an unknown type"
    if account.AccountSubType and account.AccountType == "Other Current Asset":
        sort = f"{sort} ({account.AccountSubType})"
    return (
        f"account {account_id} ({account.Name}) is {sort}; "
        f"the {setting_words(field)} must be {fitting}"
    )
