"""The sign-in page: office staff paste an API key once and the browser keeps a session cookie
(HttpOnly, SameSite=Strict) standing for it, so keys never go into URLs; and signing out."""

from __future__ import annotations

from html import escape
from urllib.parse import parse_qs, urlencode

from fastapi import APIRouter, HTTPException, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from starter.routes.activity_page import STYLE
from starter.routes.deps import SESSION_COOKIE, Caller, ServicesDep, key_holder, same_origin
from store.api_keys import SESSION_LIFETIME, key_hash

router = APIRouter(tags=["sign-in"], include_in_schema=False)


def safe_next(target: str | None) -> str | None:
    """A path of this site to go back to, or None: never a redirect to another site."""
    if target and target.startswith("/") and not target.startswith(("//", "/\\")):
        return target
    return None


def page(title: str, body: str) -> str:
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{escape(title)}</title><style>{STYLE}{SIGN_IN_STYLE}</style></head>"
        f"<body><main class='sign-in'><h1>{escape(title)}</h1>{body}</main></body></html>"
    )


def sign_in_form(target: str | None, problem: str | None = None) -> str:
    said = f"<p class='problem' role='alert'>{escape(problem)}</p>" if problem else ""
    back = f"<input type='hidden' name='next' value='{escape(target)}'>" if target else ""
    return page(
        "Sign in to QuickBooks activity",
        f"{said}<form method='post' action='/sign-in'>"
        "<label for='key'>API key</label>"
        "<input id='key' name='key' type='password' autocomplete='current-password' required "
        "autofocus placeholder='skq_…'>"
        f"{back}<button type='submit'>Sign in</button></form>"
        "<p class='hint'>Ask whoever runs the QuickBooks sync for your company's key.</p>",
    )


def signed_in_page(holder: Caller) -> str:
    return page(
        "Signed in",
        f"<p>Signed in with {escape(holder.label)}. Open a company's log at "
        "<code>/companies/&lt;company id&gt;/activity</code>.</p>"
        "<form method='post' action='/sign-out'><button type='submit'>Sign out</button></form>",
    )


@router.get("/sign-in", response_class=HTMLResponse)
async def sign_in_page(next: str | None = None) -> HTMLResponse:
    return HTMLResponse(sign_in_form(safe_next(next)))


@router.post("/sign-in")
async def sign_in(request: Request, services: ServicesDep) -> Response:
    """Check the key, start a session, and go back to the page that asked (303)."""
    if not same_origin(request):
        raise HTTPException(403, "sign in on this site's own sign-in page")
    form = parse_qs((await request.body()).decode(errors="replace"), max_num_fields=10)
    key = (form.get("key") or [""])[0].strip()
    target = safe_next((form.get("next") or [""])[0])
    holder = await key_holder(services, key_hash(key)) if key else None
    if holder is None:
        problem = "That key is not valid: it is unknown or was revoked."
        return HTMLResponse(sign_in_form(target, problem), status_code=401)
    if target is None and holder.company_id is not None:
        target = f"/companies/{holder.company_id}/activity"
    reply: Response = (
        RedirectResponse(target, status_code=303)
        if target
        else HTMLResponse(signed_in_page(holder))
    )
    reply.set_cookie(
        SESSION_COOKIE,
        await services.store.keys.start_session(key),
        max_age=int(SESSION_LIFETIME.total_seconds()),
        path="/",
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return reply


@router.post("/sign-out")
async def sign_out(request: Request, services: ServicesDep) -> RedirectResponse:
    """End the browser's session (in the store, not only the cookie) and show the sign-in page."""
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        await services.store.keys.end_session(token)
    reply = RedirectResponse("/sign-in", status_code=303)
    reply.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="strict")
    return reply


async def send_browsers_to_sign_in(request: Request, exc: Exception) -> Response:
    """A page asked for without a valid key goes to the sign-in page; programs get the 401."""
    assert isinstance(exc, HTTPException)
    wants_page = "text/html" in request.headers.get("accept", "")
    if request.method == "GET" and wants_page:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/sign-in?{urlencode({'next': here})}", status_code=303)
    return await http_exception_handler(request, exc)


SIGN_IN_STYLE = """
main.sign-in{max-width:26rem;margin:4rem auto}
main.sign-in label{display:block;font-weight:600;margin:.8rem 0 .3rem}
main.sign-in input{font:inherit;width:100%;box-sizing:border-box;padding:.4rem .5rem;
border:1px solid #b8c1cc;border-radius:.3rem;margin-bottom:.8rem}
.problem{background:#fde7e7;color:#a11d1d;padding:.6rem .8rem;border-radius:.3rem}
.hint{color:#5b6775;font-size:.9rem}
"""
