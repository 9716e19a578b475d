"""Stored histories of every workflow type replay on the current code (a non-deterministic change
fails here), and the search attributes operators filter on are set on real workflows."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHistory
from temporalio.worker import Replayer

from starter.dispatch import EventDispatcher
from tests.conftest import Company
from tests.events import (
    billing_event,
    credit,
    customer,
    customer_saved,
    invoice,
    item,
    item_saved,
    new_id,
    payment,
    refund,
    wait_done,
)
from worker import SANDBOX, WORKFLOWS
from workflows.converter import DATA_CONVERTER

HISTORIES = Path(__file__).parent / "histories"


def stored_histories() -> list[Path]:
    return sorted(HISTORIES.glob("*.json"))


def replayer() -> Replayer:
    return Replayer(workflows=WORKFLOWS, data_converter=DATA_CONVERTER, workflow_runner=SANDBOX)


@pytest.mark.parametrize(
    "document",
    [json.loads(p.read_text()) for p in stored_histories()],
    ids=lambda d: d["workflow_type"],
)
async def test_stored_history_replays_on_current_code(document: dict[str, Any]) -> None:
    history = WorkflowHistory.from_json(document["workflow_id"], document["history"])
    result = await replayer().replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{document['workflow_id']}: {result.replay_failure}"


def test_every_workflow_type_has_a_stored_history() -> None:
    stored = {json.loads(p.read_text())["workflow_type"] for p in stored_histories()}
    assert stored >= {w.__name__ for w in WORKFLOWS}


@pytest.mark.usefixtures("worker")
async def test_every_workflow_type_runs_is_searchable_and_replays(
    dispatcher: EventDispatcher, temporal_client: Client, company: Company
) -> None:
    co = company.company_id
    cid, pid, pid2, iid, iid2, crid = (
        new_id(p) for p in ("cust", "prod", "pay", "inv", "inv", "cr")
    )
    events = [
        customer_saved(co, customer(cid)),
        item_saved(co, "product.saved", item(pid)),
        billing_event(co, "payment.recorded", {"payment": payment(pid2, iid, cid, "120.00"), "invoice": invoice(iid, cid), "customer": customer(cid)}),
        billing_event(co, "invoice.saved", {"invoice": invoice(iid, cid, lines=[("prod_chlorine", "3", "30.00"), ("wot_weekly", "1", "60.00")], amount_due="30.00")}),
        billing_event(co, "payment.refunded", {"payment_id": pid2, "refund": refund(new_id("ref"), "10.00")}),
        billing_event(co, "payment.voided", {"payment_id": pid2, "invoice_id": iid}),
        billing_event(co, "payment.deleted", {"payment_id": pid2, "invoice_id": iid}),
        billing_event(co, "credit.recorded", {"credit": credit(crid, cid, "50.00"), "customer": customer(cid)}),
        billing_event(co, "credit.applied", {"credit_id": crid, "invoice": invoice(iid2, cid, lines=[("prod_net", "1", "20.00")]), "customer": customer(cid), "amount": "20.00"}),
        billing_event(co, "credit.refunded", {"credit_id": crid, "refund": refund(new_id("ref"), "30.00")}),
    ]  # fmt: skip
    ids = [(await dispatcher.submit(e)).workflow_id for e in events]
    for event in events:
        status = await wait_done(dispatcher, event.event_id)
        assert status.status == "completed", (event.type, status.message)

    query = f'CompanyId = "{co}" AND BillingEvent = "payment.recorded"'
    assert [w.id async for w in temporal_client.list_workflows(query)] == [ids[2]]
    record = [
        w.id async for w in temporal_client.list_workflows(f'SkimmerRecord = "product:{pid}"')
    ]
    assert set(record) == {ids[1], f"lane/{co}/product/{pid}"}

    # Every history replays on the current code; RECORD_HISTORIES=1 stores one of each type.
    lanes = [f"lane/{co}/customer/{cid}", f"lane/{co}/product/{pid}"]
    seen: set[str] = set()
    for workflow_id in [*ids, *lanes]:
        handle = temporal_client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        await replayer().replay_workflow(history)
        kind = (await handle.describe()).workflow_type
        if os.environ.get("RECORD_HISTORIES") == "1" and kind not in seen:
            seen.add(kind)
            document = {
                "workflow_id": workflow_id,
                "workflow_type": kind,
                "history": history.to_json_dict(),
            }
            (HISTORIES / f"{kind}.json").write_text(json.dumps(document, indent=1))
