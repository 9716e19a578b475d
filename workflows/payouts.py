"""RecordPayout: a Stripe payout as one QBO Bank Deposit, once its payments have reached QBO.

A payout spans customers, so it runs in its own lane; the payments it names run in their
customers' lanes, and may not have reached QBO yet: the payout waits for them, durably.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from activities.invoices import InvoiceActivities
    from activities.models import (
        ActivityLogInput,
        DeleteTransactionInput,
        DepositResult,
        PayoutInput,
        SyncOutcome,
    )
    from activities.payouts import PayoutActivities
    from billing.money import format_usd
    from workflows.checks import payout_problem
    from workflows.common import bad_input, log_activity, run_logged
    from workflows.models import RecordPayoutInput
    from workflows.quickbooks import call_quickbooks
    from workflows.saga import Saga

# A missing payment is looked for again after 2 s, then ever less often, at most every 10 min.
FIRST_LOOK_AGAIN = timedelta(seconds=2)
LONGEST_WAIT = timedelta(minutes=10)
# A payment still missing after this will not come (its events would have run long before).
WAIT_AT_MOST = timedelta(days=3)


@workflow.defn
class RecordPayout:
    """One Bank Deposit per payout into the payouts account: its payments out of Undeposited
    Funds (linked), refunds in it subtracted, a fee line to the fees account; total == net."""

    @workflow.run
    async def run(self, input: RecordPayoutInput) -> SyncOutcome:
        return await run_logged(
            self._record(input),
            company_id=input.company_id,
            record_type="payout",
            record_id=input.payout.id,
            action="deposit",
            event_id=input.event_id,
        )

    async def _record(self, input: RecordPayoutInput) -> SyncOutcome:
        payout = input.payout
        if problem := payout_problem(payout):
            raise bad_input(problem)
        step = PayoutInput(company_id=input.company_id, payout=payout)
        if skipped := await self._wait_for_its_records(input, step):
            return skipped
        async with Saga() as saga:
            deposit: DepositResult = await call_quickbooks(PayoutActivities.deposit_payout, step)
            if deposit.action != "created":
                return deposit
            undo = DeleteTransactionInput(
                company_id=input.company_id,
                qbo_type="Deposit",
                qbo_id=deposit.qbo_id,
                record_kind="payout",
                record_id=payout.id,
            )
            saga.on_failure(
                f"deposit {deposit.qbo_id} removed",
                lambda: call_quickbooks(InvoiceActivities.delete_transaction, undo),
            )
            if deposit.total != payout.net:
                raise bad_input(
                    f"payout {payout.id}: QuickBooks totals its deposit at "
                    f"{format_usd(deposit.total or Decimal(0))}, not the payout's net {format_usd(payout.net)}"
                )
            return deposit

    async def _wait_for_its_records(
        self, input: RecordPayoutInput, step: PayoutInput
    ) -> SyncOutcome | None:
        """Until every payment and refund it names is in QBO: None then; a skip if payout sync
        is off; a clear failure if one never will be (deleted, failed) or never came."""
        payout = input.payout
        began = workflow.now()
        wait = FIRST_LOOK_AGAIN
        said_so = False
        while True:
            ready = await call_quickbooks(PayoutActivities.payout_readiness, step)
            if ready.skipped_because:
                return SyncOutcome(
                    action="skipped",
                    qbo_type="Deposit",
                    qbo_id="",
                    message=f"Payout {format_usd(payout.net)} not sent: {ready.skipped_because}",
                )
            if ready.never:
                raise bad_input(
                    f"payout {payout.id} cannot be deposited: " + "; ".join(ready.never)
                )
            if not ready.waiting_for:
                return None
            missing = ", ".join(ready.waiting_for)
            if workflow.now() - began >= WAIT_AT_MOST:
                raise bad_input(
                    f"payout {payout.id} cannot be deposited: {missing} never reached QuickBooks "
                    f"within {WAIT_AT_MOST.days} days"
                )
            if not said_so:
                await log_activity(
                    ActivityLogInput(
                        company_id=input.company_id,
                        record_type="payout",
                        record_id=payout.id,
                        action="deposit",
                        outcome="waiting",
                        message=f"Payout {format_usd(payout.net)} waits for {missing} to reach "
                        "QuickBooks; it is deposited as soon as they have",
                        event_id=input.event_id,
                    )
                )
                said_so = True
            await workflow.sleep(wait)
            wait = min(wait * 2, LONGEST_WAIT)
