"""The Temporal worker: registers every workflow and activity, runs until SIGTERM/SIGINT."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from datetime import timedelta
from typing import Any, Literal

from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from activities.activity_log import ActivityLogActivities, RetryingLineInterceptor
from activities.common import Deps
from activities.credits import CreditActivities
from activities.customers import CustomerActivities
from activities.heartbeat import HeartbeatInterceptor
from activities.invoice_removal import InvoiceRemovalActivities
from activities.invoices import InvoiceActivities
from activities.items import ItemActivities
from activities.kept_reads import KeptReadsInterceptor
from activities.paid_invoices import PaidInvoiceActivities
from activities.payments import PaymentActivities
from activities.payouts import PayoutActivities
from activities.reconcile import ReconcileActivities
from activities.synced import SyncedActivities
from config import Settings, service_settings
from services import build_deps, http_client, open_store
from starter.temporal import connect
from store import Store
from telemetry.logs import configure_logging
from telemetry.runtime import process_telemetry
from telemetry.server import metrics_server
from workflows.lane import RecordLane
from workflows.reconcile import Reconcile
from workflows.registry import EVENT_WORKFLOWS

# The lane, every workflow an event type runs (workflows/registry.py), and the per-company
# reconciliation (not an event: its schedule or an operator starts it).
WORKFLOWS: list[type[Any]] = [RecordLane, *EVENT_WORKFLOWS, Reconcile]

# Pydantic loads these lazily while validating payloads (EmailStr); they are deterministic.
STRICT = SandboxRestrictions.default.with_passthrough_modules("email_validator", "idna")

# The replayer's sandbox (tests/test_replay.py): every workflow module is loaded afresh into each
# replayed run, so a non-deterministic call anywhere in a recorded shape fails the replay in CI.
SANDBOX = SandboxedWorkflowRunner(restrictions=STRICT)

# The worker's: our workflow modules are loaded once and shared by every run (they hold no
# state between runs), instead of being imported again for each event's workflow, which cost
# 10–40 ms of CPU per run (bench: the child's first workflow task). The replay corpus above
# keeps checking that code under the strict sandbox.
WORKER_SANDBOX = SandboxedWorkflowRunner(restrictions=STRICT.with_passthrough_modules("workflows"))

log = logging.getLogger("worker")


def make_worker(
    client: Client,
    deps: Deps,
    task_queue: str,
    *,
    runs: Literal["everything", "workflows", "activities"] = "everything",
) -> Worker:
    """The worker for `task_queue`. It runs everything unless told `runs="workflows"` (workflow
    tasks and their local activities only) or `runs="activities"` (activity tasks only)."""
    customers = CustomerActivities(deps)
    items = ItemActivities(deps)
    invoices = InvoiceActivities(deps)
    payments = PaymentActivities(deps)
    invoice_removal = InvoiceRemovalActivities(deps)
    credits = CreditActivities(deps)
    payouts = PayoutActivities(deps)
    reconcile = ReconcileActivities(deps)
    activity_log = ActivityLogActivities(deps.store)
    synced = SyncedActivities(deps)
    paid_invoices = PaidInvoiceActivities(deps)
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[] if runs == "activities" else WORKFLOWS,
        no_remote_activities=runs == "workflows",
        workflow_runner=WORKER_SANDBOX,
        activities=[
            synced.look_up_synced,
            paid_invoices.sync_paid_invoice,
            customers.ensure_customer,
            items.ensure_item,
            invoices.upsert_invoice,
            invoices.find_link,
            invoices.restore_invoice_lines,
            invoices.delete_transaction,
            invoice_removal.invoice_payments,
            invoice_removal.remove_invoice_payment,
            invoice_removal.remove_invoice,
            payments.apply_payment,
            payments.delete_payment,
            payments.void_payment,
            payments.refund_payment,
            credits.record_credit,
            credits.apply_credit,
            credits.create_refund_journal_entry,
            credits.consume_credit,
            payouts.payout_readiness,
            payouts.deposit_payout,
            reconcile.find_differences,
            reconcile.check_balances,
            reconcile.mark_reconciled,
            activity_log.record_activity,
            activity_log.connection_state,
        ],
        interceptors=[
            HeartbeatInterceptor(),
            RetryingLineInterceptor(deps.store),
            KeptReadsInterceptor(deps.store),
        ],
        # Activities are coroutines that mostly wait (on QBO, or on a company's QBO budget): a slot
        # costs little, and a busy company's waiting activities must not take every slot.
        max_concurrent_activities=200,
        # Every activity goes through the task queue, where fairness orders companies: an eager
        # activity would take a freed slot straight from the busy company's workflow task.
        disable_eager_activity_execution=True,
        # A workflow whose worker died moves to another worker after this, not the default 10 s.
        sticky_queue_schedule_to_start_timeout=timedelta(seconds=4),
        graceful_shutdown_timeout=timedelta(seconds=20),
    )


async def main() -> None:
    settings = service_settings()
    configure_logging(settings.log_format, service="worker")
    telemetry = process_telemetry()
    client = await connect(settings, runtime=telemetry.runtime)
    store = open_store(settings)
    with contextlib.ExitStack() as serving:
        if settings.metrics_address:
            serving.enter_context(metrics_server(telemetry, settings.metrics_address))
        await run_worker(settings, client, store)


async def run_worker(settings: Settings, client: Client, store: Store) -> None:
    async with http_client() as http:
        deps = build_deps(settings, store, http)
        worker = make_worker(client, deps, settings.task_queue)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "worker polling task queue %r on %s", settings.task_queue, settings.temporal_address
        )
        async with worker:
            await stop.wait()
            log.info("shutting down")
        await deps.qbo.settled()  # QBO request slots given back, not left to their lease


if __name__ == "__main__":
    asyncio.run(main())
