"""The replay corpus: histories recorded by earlier releases replay on the current code, so a
change that would break running workflows fails here (docs/DEPLOYS.md).

The corpus is append-only: `tests/histories/MANIFEST.json` holds the hash of every stored
history, and a stored history is never edited or removed. The scenarios below run on the real
dev server in every test run and replay what they produced; `RECORD_HISTORIES=1` also adds their
histories to the corpus (new files only, named `<date>.<scenario>.<workflow type>.json`).
"""

from __future__ import annotations

import datetime
import hashlib
import json
import os
from pathlib import Path
from typing import Any

import httpx
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowHandle, WorkflowHistory
from temporalio.converter import DataConverter
from temporalio.worker import Replayer

from config import Settings
from starter.dispatch import EventDispatcher
from starter.reconcile import reconcile_now
from store import Store
from temporal_platform.converter import data_converter
from temporal_platform.history import decoded_history
from temporal_platform.keys import parse_payload_keys
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
from tests.payout_helpers import payout_paid, turn_on_payout_sync
from worker import SANDBOX, WORKFLOWS
from workflows.lane import RecordLane
from workflows.models import LaneEvent, LaneInput

HISTORIES = Path(__file__).parent / "histories"
MANIFEST = HISTORIES / "MANIFEST.json"

pytestmark = pytest.mark.usefixtures("worker")


_recorded: set[tuple[str, str]] = set()


def stored_histories() -> list[Path]:
    return sorted(p for p in HISTORIES.glob("*.json") if p != MANIFEST)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def manifest() -> dict[str, str]:
    loaded: dict[str, str] = json.loads(MANIFEST.read_text())
    return loaded


def replayer(converter: DataConverter) -> Replayer:
    """The worker's workflows with the service's converter, payload codec included."""
    return Replayer(workflows=WORKFLOWS, data_converter=converter, workflow_runner=SANDBOX)


@pytest.mark.parametrize(
    "document", [pytest.param(json.loads(p.read_text()), id=p.stem) for p in stored_histories()]
)
async def test_stored_history_replays_on_current_code(
    document: dict[str, Any], payload_encryption_keys: str
) -> None:
    """Stored histories are unencrypted (recorded before encryption, or decoded when kept): the
    codec passes them through."""
    history = WorkflowHistory.from_json(document["workflow_id"], document["history"])
    converter = data_converter(parse_payload_keys(payload_encryption_keys))
    result = await replayer(converter).replay_workflow(history, raise_on_replay_failure=False)
    assert result.replay_failure is None, f"{document['workflow_id']}: {result.replay_failure}"


def test_the_corpus_is_append_only() -> None:
    """A stored history is never edited or removed; a new one is listed in the manifest."""
    listed = manifest()
    missing = sorted(name for name in listed if not (HISTORIES / name).exists())
    changed = sorted(
        name
        for name, sha in listed.items()
        if (HISTORIES / name).exists() and digest(HISTORIES / name) != sha
    )
    unlisted = sorted(p.name for p in stored_histories() if p.name not in listed)
    assert (missing, changed, unlisted) == ([], [], []), (
        "histories in tests/histories are append-only: restore the removed or edited ones; "
        "add new ones with RECORD_HISTORIES=1 (which also lists them in MANIFEST.json)"
    )


def test_the_corpus_covers_every_workflow_and_the_paths_that_matter() -> None:
    documents = [json.loads(p.read_text()) for p in stored_histories()]
    assert {d["workflow_type"] for d in documents} >= {w.__name__ for w in WORKFLOWS}

    def has(event_type: str, workflow_type: str | None = None) -> bool:
        return any(
            event["eventType"] == f"EVENT_TYPE_{event_type}"
            for d in documents
            if workflow_type in (None, d["workflow_type"])
            for event in d["history"]["events"]
        )

    assert has("WORKFLOW_EXECUTION_CONTINUED_AS_NEW", "RecordLane")
    assert has("WORKFLOW_EXECUTION_SIGNALED", "RecordLane")
    assert has("WORKFLOW_EXECUTION_FAILED", "RecordPayment")  # an event that failed for good
    assert has("WORKFLOW_EXECUTION_SIGNALED", "RecordPayment")  # woken by a reconnect
    compensations = [
        d
        for d in documents
        if "delete_transaction" in json.dumps(d["history"])
        and d["workflow_type"] == "RecordPayment"
    ]
    assert compensations, "no history of a saga undoing what a failed run changed"


async def replay_and_keep(client: Client, handle: WorkflowHandle[Any, Any], scenario: str) -> None:
    """Replay the history `handle` just made (encrypted, as it is stored); with
    RECORD_HISTORIES=1, add it to the corpus decrypted, so it replays whatever the keys."""
    history = await handle.fetch_history()
    await replayer(client.data_converter).replay_workflow(history)
    if os.environ.get("RECORD_HISTORIES") != "1":
        return
    assert client.data_converter.payload_codec is not None
    history = await decoded_history(history, client.data_converter.payload_codec)
    kind = (await handle.describe()).workflow_type
    if (scenario, kind) in _recorded:
        return  # one history of each workflow type per scenario and run
    _recorded.add((scenario, kind))
    day = datetime.date.today().isoformat()
    name = f"{day}.{scenario}.{kind}.json"
    for n in range(2, 100):  # recorded again the same day: "<date>-2", never an overwrite
        if not (HISTORIES / name).exists():
            break
        name = f"{day}-{n}.{scenario}.{kind}.json"
    path = HISTORIES / name
    document = {"workflow_id": handle.id, "workflow_type": kind, "history": history.to_json_dict()}
    path.write_text(json.dumps(document, indent=1))
    listed = manifest()
    listed[name] = digest(path)
    MANIFEST.write_text(json.dumps(dict(sorted(listed.items())), indent=1) + "\n")


async def test_every_workflow_type_runs_is_searchable_and_replays(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    company: Company,
    http: httpx.AsyncClient,
    sandbox_url: str,
    store: Store,
    settings: Settings,
) -> None:
    co = company.company_id
    cid, pid, pid2, iid, iid2, crid, iid3 = (
        new_id(p) for p in ("cust", "prod", "pay", "inv", "inv", "cr", "inv")
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
        billing_event(co, "payment.recorded", {"payment": payment(new_id("pay"), iid3, cid, "120.00"), "invoice": invoice(iid3, cid), "customer": customer(cid)}),
        billing_event(co, "invoice.voided", {"invoice_id": iid3}),
        billing_event(co, "invoice.deleted", {"invoice_id": iid2}),
    ]  # fmt: skip
    # A payout sent before its card payment: it waits for the payment, then deposits it.
    await turn_on_payout_sync(http, sandbox_url, store, company)
    card, card_invoice = new_id("pay"), new_id("inv")
    events += [
        payout_paid(company, new_id("po"), [card], "45.00", "1.60", "43.40"),
        billing_event(co, "payment.recorded", {"payment": payment(card, card_invoice, cid, "45.00"), "invoice": invoice(card_invoice, cid, lines=[("prod_chlorine", "1", "45.00")]), "customer": customer(cid)}),
    ]  # fmt: skip
    ids = [(await dispatcher.submit(e)).workflow_id for e in events]
    for event in events:
        status = await wait_done(dispatcher, event.event_id)
        assert status.status == "completed", (event.type, status.message)

    query = f'CompanyId = "{co}" AND BillingEvent = "payment.recorded"'
    assert {w.id async for w in temporal_client.list_workflows(query)} == {ids[2], ids[10], ids[-1]}
    record = [
        w.id async for w in temporal_client.list_workflows(f'SkimmerRecord = "product:{pid}"')
    ]
    assert set(record) == {ids[1], f"lane/{co}/product/{pid}"}

    # The company's books reconciled with QBO afterwards (a first run: the linked records read).
    reconciled = await reconcile_now(temporal_client, co, settings.task_queue)
    await temporal_client.get_workflow_handle(reconciled).result()
    ids.append(reconciled)

    for workflow_id in [*ids, f"lane/{co}/customer/{cid}", f"lane/{co}/product/{pid}"]:
        await replay_and_keep(
            temporal_client, temporal_client.get_workflow_handle(workflow_id), "walkthrough"
        )


async def test_failed_and_compensated_runs_replay(
    dispatcher: EventDispatcher, temporal_client: Client, store: Store, company: Company
) -> None:
    co, cid = company.company_id, new_id("cust")
    iid, pid = new_id("inv"), new_id("pay")
    too_much = billing_event(co, "payment.recorded", {"payment": payment(pid, iid, cid, "999.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
    submitted = await dispatcher.submit(too_much)
    assert (await wait_done(dispatcher, too_much.event_id)).status == "failed"
    await replay_and_keep(
        temporal_client, temporal_client.get_workflow_handle(submitted.workflow_id), "bad-input"
    )

    await store.update_settings(co, deposit_account_id=None)  # fails after the invoice is created
    iid = new_id("inv")
    undone = billing_event(co, "payment.recorded", {"payment": payment(new_id("pay"), iid, cid, "120.00"), "invoice": invoice(iid, cid), "customer": customer(cid)})  # fmt: skip
    submitted = await dispatcher.submit(undone)
    status = await wait_done(dispatcher, undone.event_id)
    assert status.status == "failed" and "removed" in (status.message or ""), status.message
    await replay_and_keep(
        temporal_client, temporal_client.get_workflow_handle(submitted.workflow_id), "compensated"
    )


async def test_a_lane_that_continues_as_new_and_fails_a_poisoned_event_replays(
    dispatcher: EventDispatcher,
    temporal_client: Client,
    settings: Settings,
    store: Store,
    company: Company,
) -> None:
    """Signals arriving while the lane runs, a poisoned event failing alone, continue-as-new."""
    co, cid = company.company_id, new_id("cust")
    lane_id = f"lane/{co}/customer/{cid}"
    saves = [customer_saved(co, customer(cid, first=f"Jane{n}")) for n in range(8)]
    # An input the door would refuse today but an older release stored: out-of-range numbers.
    poisoned_invoice = invoice(new_id("inv"), cid, lines=[("prod_chlorine", "1", "30.00")])
    poisoned_invoice["lines"][0]["quantity"] = "1e999999"
    poisoned = {
        "payment": payment(new_id("pay"), poisoned_invoice["id"], cid, "10.00"),
        "invoice": poisoned_invoice,
        "customer": customer(cid),
    }
    poisoned_id = new_id("evt")
    await temporal_client.start_workflow(
        RecordLane.run,
        LaneInput(company_id=co, record_kind="customer", record_id=cid),
        id=lane_id,
        task_queue=settings.task_queue,
        start_signal="enqueue",
        start_signal_args=[
            LaneEvent(
                event_id=poisoned_id,
                event_type="payment.recorded",
                workflow_id=f"{co}/customer/{cid}/payment.recorded/{poisoned_id}",
                input={"company_id": co, "event_id": poisoned_id, **poisoned},
            )
        ],
    )
    for save in saves:
        await dispatcher.submit(save)
    for save in saves:
        status = await wait_done(dispatcher, save.event_id)
        assert status.status == "completed", status.message

    runs = [w async for w in temporal_client.list_workflows(f'WorkflowId = "{lane_id}"')]
    continued = [w for w in runs if w.status == WorkflowExecutionStatus.CONTINUED_AS_NEW]
    assert continued, "the lane never continued as new"
    first = min(continued, key=lambda w: w.start_time)
    await replay_and_keep(
        temporal_client, temporal_client.get_workflow_handle(lane_id, run_id=first.run_id), "lane"
    )
    poisoned_run = temporal_client.get_workflow_handle(
        f"{co}/customer/{cid}/payment.recorded/{poisoned_id}"
    )
    assert (await poisoned_run.describe()).status == WorkflowExecutionStatus.FAILED
    (line,) = await store.activity_for_workflow(poisoned_run.id)
    assert "a number in the event is out of range" in line.message, line.message
    await replay_and_keep(temporal_client, poisoned_run, "poisoned")
