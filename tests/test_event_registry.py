"""One registry of event types: the starter, the lane and the worker agree, and a lane given an
event it cannot run fails that event clearly and goes on with the next."""

from __future__ import annotations

import typing

import pytest
from temporalio.client import Client

from billing.events import BillingEvent
from config import Settings
from starter.dispatch import EventDispatcher
from store import Store
from tests.conftest import Company
from tests.events import billing_event, customer, new_id, wait_done
from worker import WORKFLOWS
from workflows.lane import RecordLane
from workflows.models import LaneEvent, LaneInput
from workflows.registry import EVENT_KINDS, UnsupportedEvent, kind_of


def contract_event_types() -> set[str]:
    union = typing.get_args(typing.get_args(BillingEvent)[0])
    return {typing.get_args(model.model_fields["type"].annotation)[0] for model in union}


def test_every_registered_event_type_is_in_the_contract_and_its_workflow_is_on_the_worker() -> None:
    assert set(EVENT_KINDS) <= contract_event_types()
    for kind in EVENT_KINDS.values():
        assert kind.workflow in WORKFLOWS, kind.event_type
        assert kind.model.model_fields["type"].annotation == typing.Literal[kind.event_type]


def test_every_contract_event_type_has_a_workflow_and_others_are_refused_by_name() -> None:
    assert contract_event_types() - set(EVENT_KINDS) == set()
    with pytest.raises(UnsupportedEvent, match=r"estimate\.saved events are not synced yet"):
        kind_of("estimate.saved")


@pytest.mark.usefixtures("worker")
async def test_lane_given_an_event_it_cannot_run_fails_that_event_and_runs_the_next(
    temporal_client: Client,
    settings: Settings,
    store: Store,
    dispatcher: EventDispatcher,
    company: Company,
) -> None:
    # As a starter of a newer release might hand a lane an event type this worker does not know.
    cid = new_id("cust")
    unknown_event_id = new_id("evt")
    unknown_workflow_id = f"{company.company_id}/customer/{cid}/estimate.saved/{unknown_event_id}"
    handle = await temporal_client.start_workflow(
        RecordLane.run,
        LaneInput(company_id=company.company_id, record_kind="customer", record_id=cid),
        id=f"lane/{company.company_id}/customer/{cid}",
        task_queue=settings.task_queue,
        start_signal="enqueue",
        start_signal_args=[
            LaneEvent(
                event_id=unknown_event_id,
                event_type="estimate.saved",
                workflow_id=unknown_workflow_id,
                input={"company_id": company.company_id, "event_id": unknown_event_id},
            )
        ],
    )
    saved = billing_event(company.company_id, "customer.saved", {"customer": customer(cid)})
    await dispatcher.submit(saved)  # the same lane: it must not be wedged by the first event

    status = await wait_done(dispatcher, saved.event_id, timeout=60)
    assert status.status == "completed", status.message
    (line,) = await store.activity_for_workflow(unknown_workflow_id)
    assert line.outcome == "failed"
    assert line.event_id == unknown_event_id
    assert "estimate.saved events are not synced yet" in line.message
    await handle.result()  # the lane drained both and finished cleanly
