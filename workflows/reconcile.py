"""Reconcile: what changed by hand in QBO since the last run, reported in the activity log one
line each, and what Skimmer owns repaired (a deleted payment recreated, an invoice's lines put
back) through the same activities and write journal as the events use."""

from __future__ import annotations

from typing import Literal

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.models import ActivityLogInput, ApplyPaymentInput
    from activities.payments import PaymentActivities
    from activities.reconcile import (
        BalanceQuery,
        Difference,
        ReconcileActivities,
        ReconciledMark,
        ReconcileQuery,
    )
    from workflows.billing_steps import ensure_customer, upsert_invoice
    from workflows.common import failure_message, log_activity
    from workflows.models import ReconcileInput, ReconcileResult
    from workflows.policies import run_store_work
    from workflows.quickbooks import call_quickbooks

ACTION = "reconcile"
# success: repaired; skipped: reported and left alone; failed: needs a human.
Outcome = Literal["success", "skipped", "failed"]


@workflow.defn
class Reconcile:
    """Read QBO's changes since the last run, report each difference, repair Skimmer's records."""

    @workflow.run
    async def run(self, input: ReconcileInput) -> ReconcileResult:
        company = input.company_id
        findings = await call_quickbooks(
            ReconcileActivities.find_differences, ReconcileQuery(company_id=company)
        )
        repaired = attention = 0
        for difference in findings.differences:
            outcome, message = await self._repair(company, difference)
            repaired += outcome == "success"
            attention += outcome == "failed"
            await self._log(company, difference, outcome, message)
        if findings.customer_ids:
            drifted = await call_quickbooks(
                ReconcileActivities.check_balances,
                BalanceQuery(company_id=company, customer_ids=findings.customer_ids),
            )
            for difference in drifted:
                attention += 1
                await self._log(company, difference, "failed", difference.message)
        else:
            drifted = []
        # Only a finished run moves the mark: a failed one is looked at again next time.
        await run_store_work(
            ReconcileActivities.mark_reconciled,
            ReconciledMark(company_id=company, checked_until=findings.checked_until),
        )
        return ReconcileResult(
            differences=len(findings.differences) + len(drifted),
            repaired=repaired,
            needs_attention=attention,
            mode=findings.mode,
        )

    async def _repair(self, company: str, difference: Difference) -> tuple[Outcome, str]:
        """(activity-log outcome, message): success repaired, skipped left alone, failed needs
        a human."""
        message = difference.message
        try:
            if difference.repair == "recreate_payment":
                return await self._recreate_payment(company, difference)
            if difference.repair == "restore_lines":
                assert difference.invoice is not None
                restored = await upsert_invoice(company, difference.invoice, None, None)
                if restored.action == "updated":
                    return "success", f"{message}; Skimmer's lines restored"
                return "skipped", f"{message}; {restored.message}"
        except (ActivityError, ApplicationError) as err:
            return "failed", f"{message}; not repaired: {failure_message(err)}"
        return ("failed" if difference.attention else "skipped"), message

    async def _recreate_payment(self, company: str, difference: Difference) -> tuple[Outcome, str]:
        payment, invoice, customer = difference.payment, difference.invoice, difference.customer
        assert payment is not None and invoice is not None and customer is not None
        ensured = await ensure_customer(
            company, customer, f"payment {payment.id}", payment.currency
        )
        synced = await upsert_invoice(company, invoice, ensured.qbo_id, None)
        if synced.action == "skipped" or synced.qbo_id is None:
            return "failed", f"{difference.message}; not recreated: {synced.message}"
        await call_quickbooks(
            PaymentActivities.apply_payment,
            ApplyPaymentInput(
                company_id=company,
                payment=payment,
                invoice_number=invoice.number,
                invoice_qbo_id=synced.qbo_id,
                invoice_balance=synced.balance,
                customer_qbo_id=ensured.qbo_id,
                replaces_qbo_id=difference.qbo_id,
            ),
        )
        return "success", f"{difference.message}; recreated"

    async def _log(
        self, company: str, difference: Difference, outcome: Outcome, message: str
    ) -> None:
        await log_activity(
            ActivityLogInput(
                company_id=company,
                record_type=difference.record_type,
                record_id=difference.record_id,
                action=ACTION,
                outcome=outcome,
                message=message,
                qbo_type=difference.qbo_type,
                qbo_id=difference.qbo_id,
                customer_name=difference.customer_name,
            )
        )
