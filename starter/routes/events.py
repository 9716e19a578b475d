"""Billing events: `POST /events` (accept once, hand to the record's lane) and following one."""

from __future__ import annotations

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ValidationError

from billing.events import parse_event
from starter.api_models import EventAccepted, EventState, EventStepOut
from starter.dispatch import NotFailed, NotSyncing
from starter.openapi import EVENT_REQUEST_BODY
from starter.routes.answers import error_answers
from starter.routes.deps import Caller, CallerDep, ServicesDep, company_access
from starter.signing import BadSignature, verify
from starter.steps import workflow_steps
from workflows.registry import UnsupportedEvent

router = APIRouter(tags=["events"])


@router.post(
    "/events",
    status_code=202,
    response_model=EventAccepted,
    responses=error_answers(
        401,
        409,
        422,
        described={
            401: "EVENTS_SIGNING_SECRET is set and the X-Signature header is missing, malformed, "
            "more than 5 minutes from now, or does not match the body.",
            409: "The company never connected QuickBooks, disconnected it, or sync is off: "
            "nothing is queued.",
            422: "A malformed event (unknown type, missing field, bad amount): nothing is queued.",
        },
    ),
    openapi_extra=EVENT_REQUEST_BODY,
)
async def post_event(request: Request, services: ServicesDep) -> EventAccepted:
    """Accept one billing event once (`duplicate` with the same workflow id when repeated) and
    hand it to its record's lane."""
    body = await request.body()
    secret = services.settings.events_signing_secret
    if secret:
        try:
            verify(secret, body, request.headers.get("X-Signature"))
        except BadSignature as exc:
            raise HTTPException(401, str(exc)) from exc
    try:
        event = parse_event(body)
    except ValidationError as exc:
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        raise HTTPException(422, errors) from exc
    try:
        accepted = await services.dispatcher.submit(event)
    except UnsupportedEvent as exc:
        raise HTTPException(422, [{"loc": ["body", "type"], "msg": str(exc)}]) from exc
    except NotSyncing as exc:
        raise HTTPException(409, str(exc)) from exc
    return EventAccepted(**accepted.__dict__)


async def event_caller(event_id: str, caller: CallerDep, services: ServicesDep) -> Caller:
    """An admin key follows and retries any event; a company key only its own company's (the
    company the event named when it was accepted)."""
    if caller.company_id is not None:
        accepted = await services.store.get_event(event_id)
        if accepted is None:
            raise HTTPException(404, f"event {event_id} is unknown")
        caller.require(accepted.company_id)
    return caller


event_access = Depends(event_caller)


@router.get(
    "/events/{event_id}",
    response_model=EventState,
    dependencies=[event_access],
    responses=error_answers(404, described={404: "No event with this id was accepted."}),
)
async def get_event(event_id: str, services: ServicesDep) -> EventState:
    """Where the event stands, read from Temporal."""
    found = await services.dispatcher.status(event_id)
    if found is None:
        raise HTTPException(404, f"event {event_id} is unknown")
    return EventState(**found.__dict__)


@router.get(
    "/events/{event_id}/steps",
    response_model=list[EventStepOut],
    dependencies=[event_access],
    responses=error_answers(404, described={404: "No event with this id was accepted."}),
)
async def get_event_steps(event_id: str, services: ServicesDep) -> list[EventStepOut]:
    """The activities of the event's workflow, in order: attempts, how each ended, the last
    error; empty while the event waits in its record's lane."""
    row = await services.store.get_event(event_id)
    if row is None:
        raise HTTPException(404, f"event {event_id} is unknown")
    steps = await workflow_steps(services.dispatcher.client, row.workflow_id)
    return [EventStepOut(**step.__dict__) for step in steps]


class RetriedCompany(BaseModel):
    retried: list[str]


@router.post(
    "/events/{event_id}/retry",
    status_code=202,
    response_model=EventAccepted,
    dependencies=[event_access],
    responses=error_answers(
        404, 409, described={404: "No event with this id.", 409: "The event has not failed."}
    ),
)
async def retry_event(event_id: str, services: ServicesDep) -> EventAccepted:
    """Run a failed event again, with every later failed event of its record, in order."""
    try:
        retried = await services.dispatcher.retry(event_id)
    except LookupError as exc:
        raise HTTPException(404, str(exc)) from exc
    except NotFailed as exc:
        raise HTTPException(409, str(exc)) from exc
    first = retried[0]
    return EventAccepted(event_id=first.event_id, workflow_id=first.workflow_id, status="accepted")


@router.post(
    "/companies/{company_id}/events/retry",
    status_code=202,
    response_model=RetriedCompany,
    dependencies=[company_access],
)
async def retry_company_events(company_id: str, services: ServicesDep) -> RetriedCompany:
    """Retry every failed event of the company, each record's in their original order."""
    return RetriedCompany(retried=await services.dispatcher.retry_company(company_id))
