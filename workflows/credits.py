"""RecordAccountCredit, ApplyCredit, RefundCredit: account credits (unapplied payments)."""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.credits import CreditActivities
    from activities.invoices import InvoiceActivities
    from activities.models import (
        ApplyCreditInput as ApplyCreditActivityInput,
    )
    from activities.models import (
        ConsumeCreditInput,
        DeleteTransactionInput,
        RecordCreditInput,
        SyncOutcome,
    )
    from activities.models import (
        RefundCreditInput as RefundCreditActivityInput,
    )
    from billing.money import format_usd
    from workflows.billing_steps import (
        ensure_customer,
        ensure_then_upsert_invoice,
        look_up_synced,
    )
    from workflows.checks import invoice_problem
    from workflows.common import bad_input, run_logged
    from workflows.models import ApplyCreditInput, RecordAccountCreditInput, RefundCreditInput
    from workflows.quickbooks import call_quickbooks
    from workflows.saga import Saga


@workflow.defn
class RecordAccountCredit:
    """A Payment with no invoice lines: an Unapplied Payment of that amount on the customer."""

    @workflow.run
    async def run(self, input: RecordAccountCreditInput) -> SyncOutcome:
        return await run_logged(
            self._record(input),
            company_id=input.company_id,
            record_type="credit",
            record_id=input.credit.id,
            action="record",
            event_id=input.event_id,
            customer_name=input.customer.display_name,
        )

    async def _record(self, input: RecordAccountCreditInput) -> SyncOutcome:
        credit = input.credit
        if credit.amount <= 0:
            raise bad_input(
                f"credit {credit.id}: amount {format_usd(credit.amount)} must be positive"
            )
        if credit.customer_id != input.customer.id:
            raise bad_input(f"credit {credit.id} belongs to another customer than the event's")
        synced = await look_up_synced(input.company_id, input.customer, [])
        customer = await ensure_customer(
            input.company_id,
            input.customer,
            f"credit {credit.id}",
            credit.currency,
            synced=synced.customer,
        )
        return await call_quickbooks(
            CreditActivities.record_credit,
            RecordCreditInput(
                company_id=input.company_id, credit=credit, customer_qbo_id=customer.qbo_id
            ),
        )


@workflow.defn
class ApplyCredit:
    """The unapplied payment now pays the chosen invoice (created in QBO first if need be)."""

    @workflow.run
    async def run(self, input: ApplyCreditInput) -> SyncOutcome:
        return await run_logged(
            self._apply(input),
            company_id=input.company_id,
            record_type="credit",
            record_id=input.credit_id,
            action="apply",
            event_id=input.event_id,
            customer_name=input.customer.display_name,
        )

    async def _apply(self, input: ApplyCreditInput) -> SyncOutcome:
        data = input
        if data.amount <= 0:
            raise bad_input(
                f"credit {data.credit_id}: amount {format_usd(data.amount)} must be positive"
            )
        if data.invoice.customer_id != data.customer.id:
            raise bad_input(
                f"credit {data.credit_id}: invoice {data.invoice.number} is another customer's"
            )
        if problem := invoice_problem(data.invoice):
            raise bad_input(problem)
        async with Saga() as saga:
            _, synced = await ensure_then_upsert_invoice(
                input.company_id,
                data.customer,
                data.invoice,
                f"credit {data.credit_id}",
                data.invoice.currency,
                saga,
            )
            if synced.action == "skipped" or synced.qbo_id is None:
                return SyncOutcome(
                    action="skipped",
                    qbo_type="Invoice",
                    qbo_id="",
                    message=f"Credit {format_usd(data.amount)} not applied in QuickBooks: {synced.message}",
                )
            return await call_quickbooks(
                CreditActivities.apply_credit,
                ApplyCreditActivityInput(
                    company_id=input.company_id,
                    credit_id=data.credit_id,
                    invoice_number=data.invoice.number,
                    invoice_qbo_id=synced.qbo_id,
                    invoice_balance=synced.balance,
                    amount=data.amount,
                ),
            )


@workflow.defn
class RefundCredit:
    """A journal entry (debit A/R for the customer, credit the refund-from account) that the
    unapplied payment is linked to: the refund shows on the customer and the credit is used."""

    @workflow.run
    async def run(self, input: RefundCreditInput) -> SyncOutcome:
        return await run_logged(
            self._refund(input),
            company_id=input.company_id,
            record_type="credit",
            record_id=input.credit_id,
            action="refund",
            event_id=input.event_id,
        )

    async def _refund(self, input: RefundCreditInput) -> SyncOutcome:
        data = input
        async with Saga() as saga:
            entry = await call_quickbooks(
                CreditActivities.create_refund_journal_entry,
                RefundCreditActivityInput(
                    company_id=input.company_id, credit_id=data.credit_id, refund=data.refund
                ),
            )
            if entry.action == "created":
                undo = DeleteTransactionInput(
                    company_id=input.company_id,
                    qbo_type="JournalEntry",
                    qbo_id=entry.qbo_id,
                    record_kind="refund",
                    record_id=data.refund.id,
                )
                saga.on_failure(
                    f"journal entry {entry.qbo_id} removed",
                    lambda: call_quickbooks(InvoiceActivities.delete_transaction, undo),
                )
            return await call_quickbooks(
                CreditActivities.consume_credit,
                ConsumeCreditInput(
                    company_id=input.company_id,
                    credit_id=data.credit_id,
                    refund=data.refund,
                    journal_entry_qbo_id=entry.qbo_id,
                ),
            )
