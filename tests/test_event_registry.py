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


def test_a_contract_event_type_without_a_workflow_is_refused_by_name() -> None:
    unsynced = contract_event_types() - set(EVENT_KINDS)
    assert unsynced == {"payout.paid"}  # until RecordPayout exists
    with pytest.raises(UnsupportedEvent, match=r"payout\.paid events are not synced yet"):
        kind_of("payout.paid")


def payout_event(company_id: str) -> BillingEvent:
    payout = {
        "id": new_id("po"),
        "arrived_on": "2026-11-27",
        "gross": "100.00",
        "fees": "3.20",
        "net": "96.80",
        "payment_ids": [],
    }
    return billing_event(company_id, "payout.paid", {"payout": payout})


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
    unknown = payout_event(company.company_id)
    unknown_workflow_id = f"{company.company_id}/customer/{cid}/payout.paid/{unknown.event_id}"
    handle = await temporal_client.start_workflow(
        RecordLane.run,
        LaneInput(company_id=company.company_id, record_kind="customer", record_id=cid),
        id=f"lane/{company.company_id}/customer/{cid}",
        task_queue=settings.task_queue,
        start_signal="enqueue",
        start_signal_args=[
            LaneEvent(
                event_id=unknown.event_id,
                event_type=unknown.type,
                workflow_id=unknown_workflow_id,
                input=unknown.model_dump(mode="json"),
            )
        ],
    )
    saved = billing_event(company.company_id, "customer.saved", {"customer": customer(cid)})
    await dispatcher.submit(saved)  # the same lane: it must not be wedged by the first event

    status = await wait_done(dispatcher, saved.event_id, timeout=60)
    assert status.status == "completed", status.message
    (line,) = await store.activity_for_workflow(unknown_workflow_id)
    assert line.outcome == "failed"
    assert line.event_id == unknown.event_id
    assert "payout.paid events are not synced yet" in line.message
    await handle.result()  # the lane drained both and finished cleanly
