"""Operators find every sync of an invoice, payment or credit in the Temporal UI with the query
`SkimmerTouches = "invoice:<id>"`, whichever event and lane ran it."""

from __future__ import annotations

import asyncio
import time

import pytest
from temporalio.client import Client

from starter.dispatch import EventDispatcher
from tests.billing_helpers import run_event
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, new_id, payment_recorded

pytestmark = pytest.mark.usefixtures("worker")


async def workflows_found(
    client: Client, company: Company, query: str, expected: set[str]
) -> set[str]:
    """The workflow ids `query` lists for the company, once visibility has caught up (≤ 10 s)."""
    deadline = time.monotonic() + 10
    while True:
        found = {
            wf.id
            async for wf in client.list_workflows(f'CompanyId = "{company.company_id}" AND {query}')
        }
        if found == expected or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.2)


async def test_every_sync_of_a_payment_its_invoice_and_a_credit_is_found_by_its_id(
    dispatcher: EventDispatcher, temporal_client: Client, company: Company
) -> None:
    cid, iid, pid, crid = new_id("cust"), new_id("inv"), new_id("pay"), new_id("cr")
    recorded = await run_event(
        dispatcher, payment_recorded(company.company_id, cid, iid, pid, "120.00")
    )
    deleted = await run_event(
        dispatcher,
        billing_event(
            company.company_id, "payment.deleted", {"payment_id": pid, "invoice_id": iid}
        ),
    )
    credited = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.recorded",
            {"credit": credit(crid, cid, "50.00"), "customer": customer(cid)},
        ),
    )
    applied = await run_event(
        dispatcher,
        billing_event(
            company.company_id,
            "credit.applied",
            {
                "credit_id": crid,
                "invoice": invoice(iid, cid, amount_due="70.00"),
                "customer": customer(cid),
                "amount": "50.00",
            },
        ),
    )

    async def syncs_of(condition: str, expected: set[str]) -> set[str]:
        return await workflows_found(temporal_client, company, condition, expected)

    payment_syncs = {recorded.workflow_id, deleted.workflow_id}
    invoice_syncs = {recorded.workflow_id, deleted.workflow_id, applied.workflow_id}
    credit_syncs = {credited.workflow_id, applied.workflow_id}
    assert await syncs_of(f'SkimmerTouches = "payment:{pid}"', payment_syncs) == payment_syncs
    assert await syncs_of(f'SkimmerTouches = "invoice:{iid}"', invoice_syncs) == invoice_syncs
    assert await syncs_of(f'SkimmerTouches = "credit:{crid}"', credit_syncs) == credit_syncs
    both = f'SkimmerTouches IN ("invoice:{iid}", "credit:{crid}")'
    assert await syncs_of(both, invoice_syncs | credit_syncs) == invoice_syncs | credit_syncs
