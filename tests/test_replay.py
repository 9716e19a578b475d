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
from tests.events import customer, customer_saved, item, item_saved, new_id, wait_done
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
async def test_search_attributes_find_a_companys_workflows_and_histories_replay(
    dispatcher: EventDispatcher, temporal_client: Client, company: Company
) -> None:
    cid, pid = new_id("cust"), new_id("prod")
    events = [
        customer_saved(company.company_id, customer(cid)),
        item_saved(company.company_id, "product.saved", item(pid)),
    ]
    ids = [(await dispatcher.submit(e)).workflow_id for e in events]
    for event in events:
        assert (await wait_done(dispatcher, event.event_id)).status == "completed"

    query = f'CompanyId = "{company.company_id}" AND BillingEvent = "customer.saved"'
    found = [w.id async for w in temporal_client.list_workflows(query)]
    assert found == [ids[0]]
    record = [
        w.id async for w in temporal_client.list_workflows(f'SkimmerRecord = "product:{pid}"')
    ]
    assert set(record) == {ids[1], f"lane/{company.company_id}/product/{pid}"}

    # The same histories replay on the current code; RECORD_HISTORIES=1 stores them for later runs.
    lane_ids = [
        f"lane/{company.company_id}/customer/{cid}",
        f"lane/{company.company_id}/product/{pid}",
    ]
    for workflow_id in [*ids, *lane_ids]:
        handle = temporal_client.get_workflow_handle(workflow_id)
        history = await handle.fetch_history()
        await replayer().replay_workflow(history)
        if os.environ.get("RECORD_HISTORIES") == "1":
            kind = (await handle.describe()).workflow_type
            document = {
                "workflow_id": workflow_id,
                "workflow_type": kind,
                "history": history.to_json_dict(),
            }
            (
                HISTORIES / f"{kind}-{workflow_id.removeprefix('lane/').split('/')[1]}.json"
            ).write_text(json.dumps(document, indent=1))
