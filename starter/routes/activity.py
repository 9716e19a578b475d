"""The company's activity log: JSON for programs, a page for office staff."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse

from starter.api_models import ActivityOut
from starter.routes.activity_page import PageView, activity_page
from starter.routes.answers import error_answers
from starter.routes.deps import CompanyCallerDep, ServicesDep

router = APIRouter(tags=["activity"])


@router.get(
    "/companies/{company_id}/activity",
    response_model=None,
    responses={
        200: {
            "model": list[ActivityOut],
            "description": "The log, newest first; an HTML page when the client asks for "
            "`text/html` (`Accept`).",
            "content": {"text/html": {"schema": {"type": "string"}}},
        },
        **error_answers(422, described={422: "A bad `limit`, `before` or `outcome`."}),
    },
)
async def activity(
    request: Request,
    company_id: str,
    caller: CompanyCallerDep,
    services: ServicesDep,
    limit: int = Query(50, ge=1, le=500),
    before: datetime | None = None,
    outcome: str | None = Query(None, pattern=r"^[a-z_]{0,20}$"),
) -> list[ActivityOut] | HTMLResponse:
    wants_page = "text/html" in request.headers.get("accept", "")
    # The page reads one line more, to know whether an older page exists.
    rows = await services.store.list_activity(
        company_id, limit + 1 if wants_page else limit, before, outcome or None
    )
    entries = [ActivityOut.model_validate(row, from_attributes=True) for row in rows]
    if not wants_page:
        return entries
    conn = await services.store.get_connection(company_id)
    shown = entries[:limit]
    view = PageView(
        company_id=company_id,
        timezone=conn.timezone if conn else "UTC",
        connection_status=conn.status if conn else None,
        lines=list(shown),
        limit=limit,
        outcome=outcome or None,
        before=before,
        older_than=shown[-1].at if len(entries) > limit else None,
        # Only a browser signed in on the sign-in page has a session to end.
        signed_in_as=caller.label if caller.by_session else None,
    )
    return HTMLResponse(activity_page(view))
