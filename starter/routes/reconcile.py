"""`POST /companies/{id}/reconcile`: compare the company's QBO books with what the service wrote,
now (the schedule does it daily while sync is on)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel
from temporalio.service import RPCError

from starter.reconcile import reconcile_now
from starter.routes.answers import error_answers
from starter.routes.deps import ConnectionDep, ServicesDep, company_access
from starter.routes.quickbooks import reconnect_quickbooks

router = APIRouter(tags=["reconcile"], dependencies=[company_access])


class ReconcileStarted(BaseModel):
    workflow_id: str


@router.post(
    "/companies/{company_id}/reconcile",
    status_code=202,
    response_model=ReconcileStarted,
    responses=error_answers(
        404,
        409,
        503,
        described={
            404: "The company never connected QuickBooks.",
            409: "The company disconnected QuickBooks: reconnect QuickBooks.",
        },
    ),
)
async def reconcile(
    company_id: str, conn: ConnectionDep, services: ServicesDep
) -> ReconcileStarted:
    """Start a reconciliation (or answer with the one running); its lines go to the activity log."""
    if conn.status == "disconnected":
        raise reconnect_quickbooks(conn)
    try:
        workflow_id = await reconcile_now(
            services.dispatcher.client, company_id, services.settings.task_queue
        )
    except RPCError as exc:
        raise HTTPException(503, "Temporal did not answer: try again") from exc
    return ReconcileStarted(workflow_id=workflow_id)
