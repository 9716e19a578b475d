"""RecordPayment, DeletePayment, VoidPayment, RefundPayment: payments on invoices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, TimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.common import STALE_REFERENCE
    from activities.items import invoice_items
    from activities.models import (
        ApplyPaymentInput,
        ClosingLine,
        InvoiceResult,
        PaidInvoiceInput,
        PaymentRefInput,
        SyncOutcome,
    )
    from activities.models import RefundPaymentInput as RefundPaymentActivityInput
    from activities.paid_invoices import PaidInvoiceActivities
    from activities.payments import INVOICE_GONE, PaymentActivities
    from billing.money import format_usd
    from billing.snapshots import Payment
    from workflows.billing_steps import (
        ensure_then_upsert_invoice,
        failed_with,
        undo_on_failure,
        upsert_invoice,
    )
    from workflows.checks import payment_problem
    from workflows.common import bad_input, run_logged
    from workflows.models import PaymentChangeInput, RecordPaymentInput, RefundPaymentInput
    from workflows.quickbooks import CURRENT_EVENT, call_quickbooks
    from workflows.saga import Saga


@workflow.defn
class RecordPayment:
    """Customer ensured; invoice created or updated with its items; the payment linked to it.

    If a later step fails for good, what this run changed in QBO is undone (saga).
    """

    @workflow.run
    async def run(self, input: RecordPaymentInput) -> SyncOutcome:
        return await run_logged(
            self._record(input),
            company_id=input.company_id,
            record_type="payment",
            record_id=input.payment.id,
            action="record",
            event_id=input.event_id,
            customer_name=input.customer.display_name,
        )

    async def _record(self, input: RecordPaymentInput) -> SyncOutcome:
        company, payment, invoice = input.company_id, input.payment, input.invoice
        if problem := payment_problem(payment, invoice, input.customer):
            raise bad_input(problem)
        async with Saga() as saga:
            recheck = False
            if workflow.patched(PAID_INVOICE_IN_ONE_STEP):
                try:
                    done = await in_one_step(input, saga)
                except ActivityError as err:
                    # QBO refused the customer or an item, or the invoice is gone there: the
                    # long way below looks at them (nothing of the payment was written).
                    recheck = failed_with(err, STALE_REFERENCE)
                    if not recheck and not failed_with(err, INVOICE_GONE):
                        raise
                    done = None
                if done is not None:
                    return done
            customer, synced = await ensure_then_upsert_invoice(
                company,
                input.customer,
                invoice,
                f"payment {payment.id}",
                payment.currency,
                saga,
                recheck=recheck,
            )
            if synced.action == "skipped" or synced.qbo_id is None:
                return not_sent(payment, synced)
            try:
                return await apply(company, payment, invoice.number, synced, customer.qbo_id)
            except ActivityError as err:
                if not failed_with(err, INVOICE_GONE):
                    raise
            # Deleted in QBO after its link was kept (the link is gone now): send it again.
            synced = await upsert_invoice(company, invoice, customer.qbo_id, saga)
            assert synced.qbo_id is not None
            return await apply(company, payment, invoice.number, synced, customer.qbo_id)


# Patch (docs/DEPLOYS.md): a payment whose customer and items are in QBO as last written runs as
# one activity (sync_paid_invoice), the long way only when a record must be ensured first.
PAID_INVOICE_IN_ONE_STEP = "paid-invoice-in-one-step"


async def in_one_step(input: RecordPaymentInput, saga: Saga) -> SyncOutcome | None:
    """The invoice and the payment in one activity; None when a record must be ensured first.
    If the payment step fails, what the invoice step did is undone by the saga."""
    company, invoice = input.company_id, input.invoice
    try:
        result = await call_quickbooks(
            PaidInvoiceActivities.sync_paid_invoice,
            PaidInvoiceInput(
                company_id=company,
                customer=input.customer,
                items=invoice_items(company, invoice),
                invoice=invoice,
                payment=input.payment,
                # A payment applied ends the event: the activity writes its closing line.
                closing=closing_line(),
            ),
        )
    except ActivityError as err:
        if (written := invoice_written(err)) is not None:
            undo_on_failure(saga, company, invoice, written)
        raise
    if result.invoice is None:
        return None
    if result.payment is None:
        return not_sent(input.payment, result.invoice)
    return result.payment


def closing_line() -> ClosingLine | None:
    """The running event's closing line, for the activity that ends it to write."""
    event = CURRENT_EVENT.get()
    return None if event is None else event.closing()


def invoice_written(error: ActivityError) -> InvoiceResult | None:
    """What sync_paid_invoice's invoice step did before its payment step failed (carried by the
    failure, or by the last heartbeat when it timed out)."""
    cause = error.cause
    details: Sequence[Any] = ()
    if isinstance(cause, ApplicationError):
        details = cause.details
    elif isinstance(cause, TimeoutError):
        details = cause.last_heartbeat_details
    if not details:
        return None
    return InvoiceResult.model_validate(details[0])


def not_sent(payment: Payment, invoice: InvoiceResult) -> SyncOutcome:
    return SyncOutcome(
        action="skipped",
        qbo_type="Invoice",
        qbo_id="",
        message=f"Payment {format_usd(payment.amount)} not sent: {invoice.message}",
    )


async def apply(
    company: str, payment: Payment, number: str, synced: InvoiceResult, customer_qbo_id: str
) -> SyncOutcome:
    assert synced.qbo_id is not None
    return await call_quickbooks(
        PaymentActivities.apply_payment,
        ApplyPaymentInput(
            company_id=company,
            payment=payment,
            invoice_number=number,
            invoice_qbo_id=synced.qbo_id,
            invoice_balance=synced.balance,
            customer_qbo_id=customer_qbo_id,
            # The payment ends the event: the activity writes its closing line.
            closing=closing_line(),
        ),
    )


@workflow.defn
class DeletePayment:
    """The QBO payment is deleted; its invoice is due again."""

    @workflow.run
    async def run(self, input: PaymentChangeInput) -> SyncOutcome:
        return await _change_payment(input, PaymentActivities.delete_payment, "delete")


@workflow.defn
class VoidPayment:
    """The QBO payment is voided; its invoice is due again."""

    @workflow.run
    async def run(self, input: PaymentChangeInput) -> SyncOutcome:
        return await _change_payment(input, PaymentActivities.void_payment, "void")


PaymentStep = Callable[[PaymentActivities, PaymentRefInput], Awaitable[SyncOutcome]]


async def _change_payment(input: PaymentChangeInput, step: PaymentStep, action: str) -> SyncOutcome:
    return await run_logged(
        call_quickbooks(
            step,
            PaymentRefInput(
                company_id=input.company_id,
                payment_id=input.payment_id,
                invoice_id=input.invoice_id,
            ),
        ),
        company_id=input.company_id,
        record_type="payment",
        record_id=input.payment_id,
        action=action,
        event_id=input.event_id,
    )


@workflow.defn
class RefundPayment:
    """A RefundReceipt for the refunded amount, paid from the refund-from account."""

    @workflow.run
    async def run(self, input: RefundPaymentInput) -> SyncOutcome:
        return await run_logged(
            call_quickbooks(
                PaymentActivities.refund_payment,
                RefundPaymentActivityInput(
                    company_id=input.company_id, payment_id=input.payment_id, refund=input.refund
                ),
            ),
            company_id=input.company_id,
            record_type="payment",
            record_id=input.payment_id,
            action="refund",
            event_id=input.event_id,
        )
