"""What every route may depend on: the process's services, the caller's API key (docs/API.md,
"Access"), and the company's connection."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from fastapi.security import APIKeyCookie, HTTPAuthorizationCredentials, HTTPBearer

from config import Settings
from qbo import OAuthClient, QBOClient
from starter.dispatch import EventDispatcher
from store import Connection, Store
from store.api_keys import KeyHolder, holder_of_key, key_hash
from telemetry.runtime import Telemetry

SESSION_COOKIE = "skimmer_session"


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


@dataclass(frozen=True)
class Caller(KeyHolder):
    """Who holds the key a request came with: an admin (`company_id` None) or one company."""

    by_session: bool = False  # signed in on the sign-in page, not a bearer header

    @property
    def label(self) -> str:
        """E.g. "key key_1a2b3c (front office), company co_42": what a signed-in page shows."""
        named = f" ({self.name})" if self.name else ""
        reach = "admin" if self.company_id is None else f"company {self.company_id}"
        return f"key {self.key_id}{named}, {reach}"

    def require(self, company_id: str) -> None:
        """403 unless the key reaches `company_id`."""
        if self.company_id is not None and self.company_id != company_id:
            raise HTTPException(
                403,
                f"API key {self.key_id} is for company {self.company_id}, not {company_id}",
            )


class NotSignedIn(HTTPException):
    """401 with the challenge; browsers asking for a page are sent to the sign-in page instead."""

    def __init__(self, detail: str, error: str | None = None) -> None:
        challenge = f'Bearer realm="skimmer-qbo", error="{error}"' if error else "Bearer"
        super().__init__(401, detail, headers={"WWW-Authenticate": challenge})


bearer = HTTPBearer(
    auto_error=False, scheme_name="ApiKey", description="An API key (`skimmer-qbo keys create`)."
)
session_cookie = APIKeyCookie(
    name=SESSION_COOKIE,
    scheme_name="SessionCookie",
    auto_error=False,
    description="Set by the sign-in page (`/sign-in`).",
)


async def key_holder(services: Services, hashed: str, by_session: bool = False) -> Caller | None:
    """The caller a key's hash stands for: ADMIN_API_KEY, or a live stored key; None otherwise."""
    found = await holder_of_key(services.store.keys, services.settings.admin_api_key, hashed)
    if found is None:
        return None
    return Caller(found.key_id, found.company_id, found.name, by_session)


def same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    return origin is None or origin == f"{request.url.scheme}://{request.url.netloc}"


async def caller(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    session: Annotated[str | None, Depends(session_cookie)],
) -> Caller:
    """The caller of a protected route, by `Authorization: Bearer <key>` or the sign-in cookie."""
    if credentials is not None:
        found = await key_holder(services, key_hash(credentials.credentials))
        if found is None:
            raise NotSignedIn("the API key is unknown or revoked", error="invalid_token")
        return found
    if session:
        hashed = await services.store.keys.session_key_hash(session)
        found = await key_holder(services, hashed, by_session=True) if hashed else None
        if found is None:
            raise NotSignedIn("signed out, expired, or its key was revoked: sign in again")
        # SameSite=Strict keeps other sites' requests cookieless; a sibling subdomain's form
        # would still carry it, so a change made with the cookie must come from our own pages.
        if request.method not in ("GET", "HEAD") and not same_origin(request):
            raise HTTPException(403, "a signed-in change must come from this site's own pages")
        return found
    raise NotSignedIn("an API key is needed: send Authorization: Bearer <key>")


CallerDep = Annotated[Caller, Depends(caller)]


async def company_caller(company_id: str, caller: CallerDep) -> Caller:
    """The caller, if its key reaches the company of the path (401, 403 otherwise)."""
    caller.require(company_id)
    return caller


CompanyCallerDep = Annotated[Caller, Depends(company_caller)]
# For `dependencies=[...]` of a router or route whose path names the company.
company_access = Depends(company_caller)


async def connection(company_id: str, services: ServicesDep) -> Connection:
    """The company's QuickBooks connection; 404 when it never connected."""
    conn = await services.store.get_connection(company_id)
    if conn is None:
        raise HTTPException(404, f"company {company_id} has not connected QuickBooks")
    return conn


ConnectionDep = Annotated[Connection, Depends(connection)]
