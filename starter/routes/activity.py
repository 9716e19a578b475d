"""The company's activity log: JSON for programs, a page for office staff."""

from __future__ import annotations

import html
from datetime import datetime

from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse
from pydantic import BaseModel

from starter.routes.deps import ServicesDep

router = APIRouter(tags=["activity"])


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


@router.get("/companies/{company_id}/activity", response_model=None)
async def activity(
    request: Request,
    company_id: str,
    services: ServicesDep,
    limit: int = Query(50, ge=1, le=500),
    before: datetime | None = None,
) -> list[ActivityOut] | HTMLResponse:
    rows = await services.store.list_activity(company_id, limit, before)
    entries = [ActivityOut.model_validate(row, from_attributes=True) for row in rows]
    if "text/html" in request.headers.get("accept", ""):
        return HTMLResponse(activity_page(company_id, entries))
    return entries


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
