"""Operators find every sync of an invoice, payment or credit in the Temporal UI with the query
`SkimmerTouches = "invoice:<id>"`, whichever event and lane ran it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from pathlib import Path

import pytest
from temporalio.api.operatorservice.v1 import ListSearchAttributesRequest
from temporalio.client import Client

from devstack.stack import register_search_attributes
from devstack.temporal_cli import resolve_temporal_cli
from starter.dispatch import EventDispatcher
from tests.billing_helpers import run_event
from tests.conftest import Company
from tests.events import billing_event, credit, customer, invoice, new_id, payment_recorded
from tests.processes import DevServer
from workflows.search import ALL_KEYS, COMPANY_ID, SKIMMER_TOUCHES


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


@pytest.mark.usefixtures("worker")
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


async def registered(client: Client) -> dict[str, int]:
    known = await client.operator_service.list_search_attributes(
        ListSearchAttributesRequest(namespace=client.namespace)
    )
    return dict(known.custom_attributes)


async def test_a_data_dir_from_before_a_new_search_attribute_gains_it_when_the_stack_starts(
    tmp_path: Path,
) -> None:
    cli = resolve_temporal_cli()
    if cli.path is None:
        pytest.skip("needs a Temporal CLI binary to start a server on an existing data file")
    older = DevServer(cli.path, tmp_path / "temporal.db")
    older.start(keys=[COMPANY_ID])  # as `make up` of a release before SkimmerTouches left it
    older.stop()
    server = DevServer(cli.path, tmp_path / "temporal.db")
    server.start()  # today's flags, on the old file
    try:
        client = None
        for _ in range(100):
            with contextlib.suppress(Exception):
                client = await Client.connect(server.address)
                await client.count_workflows()
                break
            await asyncio.sleep(0.2)
        assert client is not None
        assert SKIMMER_TOUCHES.name not in await registered(client)  # the flags were ignored

        added = await register_search_attributes(client)
        assert set(added) == {key.name for key in ALL_KEYS} - {COMPANY_ID.name}
        now = await registered(client)
        assert {key.name: now.get(key.name) for key in ALL_KEYS} == {
            key.name: int(key.indexed_value_type) for key in ALL_KEYS
        }
        assert await register_search_attributes(client) == []
    finally:
        server.stop()
