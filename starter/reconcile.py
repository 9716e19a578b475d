"""A company's reconciliation with QBO: its Temporal Schedule (on while sync is on) and runs on
demand. Ids carry only the company id."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleAlreadyRunningError,
    ScheduleIntervalSpec,
    ScheduleOverlapPolicy,
    SchedulePolicy,
    ScheduleSpec,
    ScheduleState,
    ScheduleUpdate,
    ScheduleUpdateInput,
)
from temporalio.common import Priority, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.service import RPCError, RPCStatusCode

from workflows.models import ReconcileInput
from workflows.reconcile import Reconcile
from workflows.search import attributes

SYNC_OFF_NOTE = "sync is switched off"


def schedule_id(company_id: str) -> str:
    return f"reconcile/{company_id}"


def on_demand_workflow_id(company_id: str) -> str:
    return f"reconcile/{company_id}"


def _action(company_id: str, task_queue: str) -> ScheduleActionStartWorkflow:
    return ScheduleActionStartWorkflow(
        Reconcile.run,
        ReconcileInput(company_id=company_id),
        # Temporal adds the time of each run to this id.
        id=f"reconcile/{company_id}/scheduled",
        task_queue=task_queue,
        typed_search_attributes=attributes(company_id, f"company:{company_id}"),
        priority=Priority(fairness_key=company_id),  # fair with the company's events
    )


def _schedule(company_id: str, task_queue: str, every: timedelta) -> Schedule:
    return Schedule(
        action=_action(company_id, task_queue),
        spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=every)]),
        # A run still going (waiting for a reconnect, retrying QBO) is not joined by another.
        policy=SchedulePolicy(overlap=ScheduleOverlapPolicy.SKIP),
        state=ScheduleState(note="sync is on"),
    )


async def schedule_reconciliation(
    client: Client, company_id: str, task_queue: str, every: timedelta
) -> None:
    """Create the company's schedule, or update and unpause it (sync switched on again)."""
    wanted = _schedule(company_id, task_queue, every)
    try:
        await client.create_schedule(schedule_id(company_id), wanted)
        return
    except ScheduleAlreadyRunningError:
        pass

    def update(_: ScheduleUpdateInput) -> ScheduleUpdate:
        return ScheduleUpdate(schedule=wanted)

    await client.get_schedule_handle(schedule_id(company_id)).update(update)


async def pause_reconciliation(client: Client, company_id: str) -> None:
    """Sync switched off: the schedule stays, paused (none yet: nothing to do)."""
    try:
        await client.get_schedule_handle(schedule_id(company_id)).pause(note=SYNC_OFF_NOTE)
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def delete_reconciliation(client: Client, company_id: str) -> None:
    """The company disconnected QuickBooks: its schedule is removed."""
    try:
        await client.get_schedule_handle(schedule_id(company_id)).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def reconcile_now(client: Client, company_id: str, task_queue: str) -> str:
    """Start a reconciliation now; one already running for the company is the answer instead."""
    handle = await client.start_workflow(
        Reconcile.run,
        ReconcileInput(company_id=company_id),
        id=on_demand_workflow_id(company_id),
        task_queue=task_queue,
        id_reuse_policy=WorkflowIDReusePolicy.ALLOW_DUPLICATE,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
        search_attributes=attributes(company_id, f"company:{company_id}"),
        priority=Priority(fairness_key=company_id),
    )
    return handle.id
