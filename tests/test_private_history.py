"""No customer's name, email or address is readable in Temporal: events run through the real
stack (API door aside: dispatcher, dev server, worker, sandbox), then their histories are read
raw, by a client without the payload codec, as anyone with access to the cluster could."""

from __future__ import annotations

from typing import Any

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client

from activities.naming import candidate_names
from config import Settings
from qbo import QBOClient
from qbo import models as q
from starter.dispatch import EventDispatcher
from starter.reconcile import reconcile_now
from temporal_platform.codec import ENCODING
from temporal_platform.history import decoded_history
from tests.conftest import Company
from tests.events import (
    billing_event,
    customer,
    customer_saved,
    invoice,
    new_id,
    payment,
    wait_done,
)

pytestmark = pytest.mark.usefixtures("worker")

NAME = ("Zelphine", "Quorrington")
EMAIL = "zelphine.quorrington@vireo.example.com"
STREET, CITY = "771 Vireo Cul-de-sac", "Quillmoor"
PERSONAL = [*NAME, EMAIL, STREET, CITY]


def zelphine(customer_id: str) -> dict[str, Any]:
    return customer(
        customer_id,
        first=NAME[0],
        last=NAME[1],
        email=EMAIL,
        billing_address={"line1": STREET, "city": CITY, "state": "AZ", "postal_code": "85001"},
    )


async def test_no_name_email_or_address_is_readable_in_any_raw_history(
    dispatcher: EventDispatcher, temporal_client: Client, settings: Settings, company: Company
) -> None:
    co, cid = company.company_id, new_id("cust")
    paid, too_much = new_id("inv"), new_id("inv")
    events = [
        customer_saved(co, zelphine(cid)),
        billing_event(co, "payment.recorded", {"payment": payment(new_id("pay"), paid, cid, "120.00"), "invoice": invoice(paid, cid), "customer": zelphine(cid)}),
        # Fails for good (more than the invoice): a failure recorded in the histories.
        billing_event(co, "payment.recorded", {"payment": payment(new_id("pay"), too_much, cid, "999.00"), "invoice": invoice(too_much, cid), "customer": zelphine(cid)}),
    ]  # fmt: skip
    for event in events:
        await dispatcher.submit(event)
    outcomes = [(await wait_done(dispatcher, e.event_id)).status for e in events]
    assert outcomes == ["completed", "completed", "failed"]
    failed = await dispatcher.status(events[2].event_id)
    assert failed is not None and "more than invoice" in (failed.message or "")  # still read
    reconciled = await reconcile_now(temporal_client, co, settings.task_queue)
    await temporal_client.get_workflow_handle(reconciled).result()

    raw = await Client.connect(
        temporal_client.service_client.config.target_host, namespace=temporal_client.namespace
    )
    runs = [w async for w in raw.list_workflows(f'CompanyId = "{co}"')]
    kinds = {w.workflow_type for w in runs}
    assert {"RecordLane", "SyncCustomer", "RecordPayment", "Reconcile"} <= kinds, kinds
    failures = 0
    for run in runs:
        handle = raw.get_workflow_handle(run.id, run_id=run.run_id)
        history = await handle.fetch_history()
        stored = b"".join(e.SerializeToString() for e in history.events)
        stored += (await handle.describe()).raw_description.SerializeToString()
        for text in PERSONAL:
            assert text.encode() not in stored, f"{text!r} readable in {run.id} ({run.run_id})"
        for recorded in history.events:
            if recorded.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_FAILED:
                failure = recorded.workflow_execution_failed_event_attributes.failure
                # The message and stack trace travel encrypted; the UI decodes them.
                assert failure.message == "Encoded failure"
                assert failure.encoded_attributes.metadata["encoding"] == ENCODING
                failures += 1
        # The histories do hold the customer, encrypted: the codec opens them again.
        if run.workflow_type == "SyncCustomer":
            codec = temporal_client.data_converter.payload_codec
            assert codec is not None
            opened = await decoded_history(history, codec)
            plain = b"".join(e.SerializeToString() for e in opened.events)
            assert all(text.encode() in plain for text in PERSONAL)
    assert failures == 1


async def test_a_customer_whose_every_name_is_taken_fails_naming_its_id_not_its_name(
    dispatcher: EventDispatcher, qbo: QBOClient, company: Company
) -> None:
    """QBO refuses each of the names tried (6240): the failure, in the activity log and the
    event's status, names the Skimmer record; the names stay out of it."""
    for n, taken in enumerate(candidate_names(f"{NAME[0]} {NAME[1]}")):
        await qbo.create(
            company.realm_id, q.Customer(DisplayName=taken), f"taken-{n}-{new_id('r')}"
        )
    cid = new_id("cust")
    event = customer_saved(company.company_id, zelphine(cid))
    await dispatcher.submit(event)
    status = await wait_done(dispatcher, event.event_id)
    assert status.status == "failed"
    message = status.message or ""
    assert message.startswith(f"customer {cid}: ") and "all 19 names tried are taken" in message
    assert not any(text in message for text in PERSONAL), message
