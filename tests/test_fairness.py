"""Fair to every company: each company's workflows (the lane, the event's own workflow and so
their activities) carry the company as Temporal's fairness key, weighted by FAIRNESS_WEIGHTS."""

from __future__ import annotations

import pytest
from temporalio.client import Client

from config import Settings
from starter.dispatch import EventDispatcher
from starter.fairness import FairnessWeights, InvalidFairnessWeights
from store import Store
from tests.conftest import Company
from tests.events import customer, customer_saved, new_id, wait_done
from workflows.routing import Route, lane_workflow_id


def test_weights_name_companies_and_every_other_company_weighs_one() -> None:
    weights = FairnessWeights.parse(" co_big=3, co_trial=0.5 ,")
    assert weights.weight("co_big") == 3.0
    assert weights.weight("co_trial") == 0.5
    assert weights.weight("co_other") == 1.0
    priority = weights.priority("co_big")
    assert (priority.fairness_key, priority.fairness_weight) == ("co_big", 3.0)


@pytest.mark.parametrize(
    "text", ["co_a", "co_a=", "=2", "co_a=zero", "co_a=0", "co_a=-1", "co_a=inf"]
)
def test_a_weight_that_is_not_a_positive_number_is_refused_naming_the_entry(text: str) -> None:
    with pytest.raises(InvalidFairnessWeights, match="FAIRNESS_WEIGHTS entry"):
        FairnessWeights.parse(f"co_ok=2,{text}")


@pytest.mark.usefixtures("worker")
async def test_a_companys_lane_and_event_workflow_carry_its_fairness_key_and_weight(
    temporal_client: Client, store: Store, settings: Settings, company: Company
) -> None:
    dispatcher = EventDispatcher(
        temporal_client,
        store,
        settings.task_queue,
        fairness=FairnessWeights.parse(f"{company.company_id}=2.5"),
    )
    customer_id = new_id("cust")
    event = customer_saved(company.company_id, customer(customer_id))
    accepted = await dispatcher.submit(event)
    done = await wait_done(dispatcher, event.event_id)
    assert done.status == "completed", done

    lane_id = lane_workflow_id(company.company_id, Route("customer", customer_id))
    for workflow_id in (lane_id, accepted.workflow_id):
        described = await temporal_client.get_workflow_handle(workflow_id).describe()
        priority = described.raw_description.workflow_execution_info.priority
        assert priority.fairness_key == company.company_id, workflow_id
        assert priority.fairness_weight == pytest.approx(2.5), workflow_id
