"""RecordLane: the events about one Skimmer record, run one after another, each exactly once.

Events arrive by signal-with-start. Each runs as its own child workflow (SyncCustomer, …) whose id
holds the event id: operators see one workflow per event, and a repeated event is skipped.
A signal that arrives while the lane is finishing is never lost: Temporal refuses to complete
a workflow that has unhandled signals, so the loop sees it.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.common import WorkflowIDReusePolicy
from temporalio.exceptions import ChildWorkflowError, WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from pydantic import BaseModel

    from billing.events import (
        ITEM_TYPE_OF_EVENT,
        BillingEvent,
        CreditApplied,
        CreditRecorded,
        CreditRefunded,
        CustomerSaved,
        DosageSaved,
        InvoiceSaved,
        PaymentDeleted,
        PaymentRecorded,
        PaymentRefunded,
        PaymentVoided,
        ProductSaved,
        WorkOrderTypeSaved,
    )
    from workflows.credits import ApplyCredit, RecordAccountCredit, RefundCredit
    from workflows.invoices import SyncInvoice
    from workflows.models import (
        ApplyCreditInput,
        LaneEvent,
        LaneInput,
        PaymentChangeInput,
        RecordAccountCreditInput,
        RecordPaymentInput,
        RefundCreditInput,
        RefundPaymentInput,
        SyncCustomerInput,
        SyncInvoiceInput,
        SyncItemInput,
    )
    from workflows.payments import DeletePayment, RecordPayment, RefundPayment, VoidPayment
    from workflows.records import SyncCustomer, SyncItem
    from workflows.search import attributes

SEEN_EVENTS_KEPT = 1000


def child_workflow(company_id: str, event: BillingEvent) -> tuple[Any, BaseModel]:
    """The workflow that carries out `event`, and its input."""
    match event:
        case CustomerSaved():
            return SyncCustomer.run, SyncCustomerInput(
                company_id=company_id, event_id=event.event_id, customer=event.data.customer
            )
        case ProductSaved() | WorkOrderTypeSaved() | DosageSaved():
            return SyncItem.run, SyncItemInput(
                company_id=company_id,
                event_id=event.event_id,
                item_type=ITEM_TYPE_OF_EVENT[event.type],
                item=event.data.item,
            )
        case InvoiceSaved():
            return SyncInvoice.run, SyncInvoiceInput(event=event)
        case PaymentRecorded():
            return RecordPayment.run, RecordPaymentInput(event=event)
        case PaymentDeleted():
            return DeletePayment.run, PaymentChangeInput(event=event)
        case PaymentVoided():
            return VoidPayment.run, PaymentChangeInput(event=event)
        case PaymentRefunded():
            return RefundPayment.run, RefundPaymentInput(event=event)
        case CreditRecorded():
            return RecordAccountCredit.run, RecordAccountCreditInput(event=event)
        case CreditApplied():
            return ApplyCredit.run, ApplyCreditInput(event=event)
        case CreditRefunded():
            return RefundCredit.run, RefundCreditInput(event=event)
    raise ValueError(f"no workflow for {event.type}")  # the starter refuses these first


@workflow.defn
class RecordLane:
    @workflow.init
    def __init__(self, input: LaneInput) -> None:
        self._pending: list[LaneEvent] = list(input.pending)
        self._seen: list[str] = list(input.seen_event_ids)
        self._known = set(self._seen) | {item.event.event_id for item in self._pending}

    @workflow.signal
    def enqueue(self, item: LaneEvent) -> None:
        if item.event.event_id in self._known:
            return  # delivered twice: once is enough
        self._known.add(item.event.event_id)
        self._pending.append(item)

    @workflow.query
    def pending_event_ids(self) -> list[str]:
        return [item.event.event_id for item in self._pending]

    @workflow.run
    async def run(self, input: LaneInput) -> None:
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
                await self._run(input, self._pending[0])
                done = self._pending.pop(0)
                self._seen.append(done.event.event_id)
            await workflow.wait_condition(workflow.all_handlers_finished)
            if not self._pending:
                return

    async def _run(self, input: LaneInput, item: LaneEvent) -> None:
        event = item.event
        run, arg = child_workflow(input.company_id, event)
        record = f"{input.record_kind}:{input.record_id}"
        try:
            await workflow.execute_child_workflow(
                run,
                arg,
                id=item.workflow_id,
                id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
                search_attributes=attributes(input.company_id, record, item.realm_id, event.type),
                static_summary=f"{event.type} {record} (event {event.event_id})",
            )
        except WorkflowAlreadyStartedError:
            workflow.logger.info("event %s already ran; skipped", event.event_id)
        except ChildWorkflowError as err:
            # It failed for good: its own history and the activity log say why. The lane goes on.
            workflow.logger.warning("event %s failed: %s", event.event_id, err.cause)
