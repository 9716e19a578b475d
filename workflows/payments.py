"""RecordPayment, DeletePayment, VoidPayment, RefundPayment: payments on invoices."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.models import ApplyPaymentInput, PaymentRefInput, SyncOutcome
    from activities.models import RefundPaymentInput as RefundPaymentActivityInput
    from activities.payments import PaymentActivities
    from billing.money import format_usd
    from workflows.billing_steps import ensure_customer_and_items, upsert_invoice
    from workflows.checks import payment_problem
    from workflows.common import bad_input, run_logged
    from workflows.models import PaymentChangeInput, RecordPaymentInput, RefundPaymentInput
    from workflows.quickbooks import call_quickbooks
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
        customer = await ensure_customer_and_items(
            company, input.customer, invoice, f"payment {payment.id}", payment.currency
        )
        async with Saga() as saga:
            synced = await upsert_invoice(company, invoice, customer.qbo_id, saga)
            if synced.action == "skipped" or synced.qbo_id is None:
                return SyncOutcome(
                    action="skipped",
                    qbo_type="Invoice",
                    qbo_id="",
                    message=f"Payment {format_usd(payment.amount)} not sent: {synced.message}",
                )
            return await call_quickbooks(
                PaymentActivities.apply_payment,
                ApplyPaymentInput(
                    company_id=company,
                    payment=payment,
                    invoice_number=invoice.number,
                    invoice_qbo_id=synced.qbo_id,
                    invoice_balance=synced.balance,
                    customer_qbo_id=customer.qbo_id,
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
