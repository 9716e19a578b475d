"""RecordLane: the events about one Skimmer record, run one after another, each exactly once.

Events arrive by signal-with-start. Each runs as its own child workflow (SyncCustomer, …) whose id
holds the event id: operators see one workflow per event, and a repeated event is skipped.
A signal that arrives while the lane is finishing is never lost: Temporal refuses to complete
a workflow that has unhandled signals, so the loop sees it.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from activities.models import ActivityLogInput
    from telemetry.metrics import EventMetrics, FinishOutcome
    from workflows.common import log_activity
    from workflows.models import LaneEvent, LaneInput
    from workflows.registry import UnsupportedEvent, kind_of
    from workflows.search import attributes

SEEN_EVENTS_KEPT = 1000


@workflow.defn
class RecordLane:
    @workflow.init
    def __init__(self, input: LaneInput) -> None:
        self._pending: list[LaneEvent] = list(input.pending)
        self._seen: list[str] = list(input.seen_event_ids)
        # Workflow ids, not event ids: an operator's retry of an event is a new run of it.
        self._known = set(self._seen) | {item.workflow_id for item in self._pending}

    @workflow.signal
    def enqueue(self, item: LaneEvent) -> None:
        if item.workflow_id in self._known:
            return  # delivered twice: once is enough
        self._known.add(item.workflow_id)
        self._pending.append(item)

    @workflow.query
    def pending_event_ids(self) -> list[str]:
        return [item.event_id for item in self._pending]

    @workflow.run
    async def run(self, input: LaneInput) -> None:
        # The workflow's meter records nothing while a history replays: each end counts once.
        # Made at the first event's end, not before its child starts (it costs the first task).
        metrics: EventMetrics | None = None
        while True:
            while self._pending:
                if workflow.info().is_continue_as_new_suggested():
                    await workflow.wait_condition(workflow.all_handlers_finished)
                    workflow.continue_as_new(
                        input.model_copy(
                            update={
                                "pending": self._pending,
                                "seen_event_ids": self._seen[-SEEN_EVENTS_KEPT:],
                            }
                        )
                    )
                outcome = await self._run(input, self._pending[0])
                done = self._pending.pop(0)
                metrics = metrics or EventMetrics(workflow.metric_meter())
                metrics.finished(done.event_type, outcome, done.accepted_at, workflow.now())
                self._seen.append(done.workflow_id)
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._pending:
                return

    async def _run(self, input: LaneInput, item: LaneEvent) -> FinishOutcome:
        """Run one event as its child workflow. Nothing here may raise: the lane must go on."""
        record = f"{input.record_kind}:{input.record_id}"
        what = f"{item.event_type} event {item.event_id}"
        try:
            kind = kind_of(item.event_type)
        except UnsupportedEvent as exc:  # a type this worker does not know: fail it, not the lane
            await self._fail_event(input, item, f"{what}: {exc}")
            return "not_run"
        try:
            await workflow.execute_child_workflow(
                kind.workflow_name,
                item.input,
                id=item.workflow_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes(
                    input.company_id, record, item.realm_id, item.event_type, item.touches
                ),
                static_summary=f"{item.event_type} {record} (event {item.event_id})",
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("event %s already ran; skipped", item.event_id)
            return "skipped"
        except ChildWorkflowError as err:
            # It failed for good: its own history and the activity log say why. The lane goes on.
            workflow.logger.warning("event %s failed: %s", item.event_id, err.cause)
            return "failed"
        except Exception as exc:  # the child could not even be started
            await self._fail_event(input, item, f"{what}: {type(exc).__name__}")
            return "not_run"
        return "completed"

    async def _fail_event(self, input: LaneInput, item: LaneEvent, message: str) -> None:
        """Say in the activity log, under the event's own workflow id, why it did not run."""
        workflow.logger.error("event %s not run: %s", item.event_id, message)
        try:
            await log_activity(
                ActivityLogInput(
                    company_id=input.company_id,
                    record_type=input.record_kind,
                    record_id=input.record_id,
                    action=item.event_type,
                    outcome="failed",
                    message=message,
                    event_id=item.event_id,
                    workflow_id=item.workflow_id,
                )
            )
        except Exception as exc:  # the store is down for an hour: the lane still goes on
            workflow.logger.error("event %s: could not log its failure: %s", item.event_id, exc)
