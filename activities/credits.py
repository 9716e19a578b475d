"""Account credits: an unapplied QBO Payment; applied to invoices; refunded through a JournalEntry.

The refund shape (PRODUCT.md): a JournalEntry debits Accounts Receivable for the customer and
credits the refund-from account; the unapplied Payment is then linked to it, which uses the
credit up, so the customer's QBO balance equals Skimmer's.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.common import (
    active_connection,
    mapped_account,
    permanent,
    qbo_errors,
)
from activities.journal import JournaledActivities, Planned, QBOWrite
from activities.linking import link_and_report
from activities.models import (
    ApplyCreditInput,
    ConsumeCreditInput,
    RecordCreditInput,
    RefundCreditInput,
    SyncOutcome,
)
from billing.money import format_usd
from qbo import models as q
from qbo.models import QBOModel

RECORD_KIND = "credit"


class CreditActivities(JournaledActivities):
    async def _credit_payment(self, company_id: str, realm: str, credit_id: str) -> q.Payment:
        link = await self._store.get_link(company_id, realm, RECORD_KIND, credit_id)
        if link is None:
            raise permanent(
                f"credit {credit_id} is not in QuickBooks: it was never synced "
                "(added before sync started, or its sync failed)"
            )
        return await self._qbo.read(realm, q.Payment, link.qbo_id)

    @activity.defn(name="record_credit")
    async def record_credit(self, input: RecordCreditInput) -> SyncOutcome:
        """A Payment with no invoice lines: an Unapplied Payment on the customer."""
        credit = input.credit
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"credit {credit.id}"
        deposit_account_id = mapped_account(conn, "deposit", record)
        amount = format_usd(credit.amount)

        async def plan() -> Planned | SyncOutcome:
            link = await self._store.get_link(input.company_id, realm, RECORD_KIND, credit.id)
            if link is not None:
                return SyncOutcome(
                    action="unchanged",
                    qbo_type="Payment",
                    qbo_id=link.qbo_id,
                    message=f"Account credit {amount} was already in QuickBooks",
                )
            unapplied = q.Payment(
                CustomerRef=q.Ref(value=input.customer_qbo_id),
                TotalAmt=credit.amount,
                TxnDate=credit.received_on.isoformat(),
                DepositToAccountRef=q.Ref(value=deposit_account_id),
                PaymentRefNum=credit.id[:21],
                PrivateNote=f"Skimmer account credit {credit.id} ({credit.method})",
            )
            return Planned(QBOWrite.of("create", unapplied))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert saved is not None
            return await link_and_report(
                self._store,
                input.company_id,
                realm,
                RECORD_KIND,
                credit.id,
                saved,
                "created",
                f"Account credit {amount} recorded in QuickBooks as an unapplied payment",
            )

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "create", plan, finish)

    @staticmethod
    def _with_line(payment: q.Payment, line: q.TxnLine) -> q.Payment:
        """The credit's Payment with one more line (QBO replaces lines whole: send them all).

        The requestid is per logical application, not per SyncToken: if QBO committed the
        update but the reply was lost, the retry gets the stored reply instead of a second line.
        """
        assert payment.Id is not None and payment.SyncToken is not None
        lines = [
            q.TxnLine(Amount=x.Amount, LinkedTxn=x.LinkedTxn)
            for x in payment.Line or []
            if x.LinkedTxn
        ]
        return q.Payment(Id=payment.Id, SyncToken=payment.SyncToken, Line=[*lines, line])

    @activity.defn(name="apply_credit")
    async def apply_credit(self, input: ApplyCreditInput) -> SyncOutcome:
        """The unapplied payment now pays the chosen invoice (all or none)."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"credit {input.credit_id}"
        amount = format_usd(input.amount)
        if input.amount <= 0:
            raise permanent(f"{record}: the amount applied {amount} must be positive")

        async def plan() -> Planned:
            payment = await self._credit_payment(input.company_id, realm, input.credit_id)
            unapplied = payment.UnappliedAmt or Decimal(0)
            if input.amount > unapplied:
                raise permanent(
                    f"{record}: {amount} is more than what is left of the credit in QuickBooks "
                    f"({format_usd(unapplied)})"
                )
            if input.invoice_balance is not None and input.amount > input.invoice_balance:
                raise permanent(
                    f"{record}: {amount} is more than the open balance "
                    f"{format_usd(input.invoice_balance)} of invoice {input.invoice_number}"
                )
            line = q.TxnLine(
                Amount=input.amount,
                LinkedTxn=[q.TxnLink(TxnId=input.invoice_qbo_id, TxnType="Invoice")],
            )
            return Planned(QBOWrite.of("update", self._with_line(payment, line)))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert saved is not None
            return await link_and_report(
                self._store,
                input.company_id,
                realm,
                RECORD_KIND,
                input.credit_id,
                saved,
                "applied",
                f"Credit {amount} applied to invoice {input.invoice_number} in QuickBooks",
            )

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "apply", plan, finish)

    @activity.defn(name="create_refund_journal_entry")
    async def create_refund_journal_entry(self, input: RefundCreditInput) -> SyncOutcome:
        """Debit A/R for the customer, credit the refund-from account."""
        refund = input.refund
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"refund {refund.id} of credit {input.credit_id}"
        amount = format_usd(refund.amount)
        refund_account_id = mapped_account(conn, "refund", record)
        if refund.amount <= 0:
            raise permanent(f"{record}: the amount {amount} must be positive")

        async def plan() -> Planned | SyncOutcome:
            existing = await self._store.get_link(input.company_id, realm, "refund", refund.id)
            if existing is not None:
                return SyncOutcome(
                    action="unchanged", qbo_type="JournalEntry", qbo_id=existing.qbo_id, message=""
                )
            payment = await self._credit_payment(input.company_id, realm, input.credit_id)
            unapplied = payment.UnappliedAmt or Decimal(0)
            if refund.amount > unapplied:
                raise permanent(
                    f"{record}: {amount} is more than what is left of the credit in QuickBooks "
                    f"({format_usd(unapplied)})"
                )
            receivable = await self._qbo.query(
                realm, q.Account, "SELECT * FROM Account WHERE AccountType = 'Accounts Receivable'"
            )
            if not receivable:
                raise permanent(f"{record}: QuickBooks has no Accounts Receivable account")
            assert payment.CustomerRef is not None
            entry = q.JournalEntry(
                TxnDate=refund.refunded_on.isoformat(),
                PrivateNote=f"Skimmer refund {refund.id} of account credit {input.credit_id}",
                Line=[
                    q.TxnLine(
                        Amount=refund.amount,
                        DetailType="JournalEntryLineDetail",
                        Description=refund.reason or "Refund of account credit",
                        JournalEntryLineDetail=q.JournalDetail(
                            PostingType="Debit",
                            AccountRef=q.Ref(value=receivable[0].Id),
                            Entity=q.JournalEntity(Type="Customer", EntityRef=payment.CustomerRef),
                        ),
                    ),
                    q.TxnLine(
                        Amount=refund.amount,
                        DetailType="JournalEntryLineDetail",
                        Description=refund.reason or "Refund of account credit",
                        JournalEntryLineDetail=q.JournalDetail(
                            PostingType="Credit", AccountRef=q.Ref(value=refund_account_id)
                        ),
                    ),
                ],
            )
            return Planned(QBOWrite.of("create", entry))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert isinstance(saved, q.JournalEntry)
            return await link_and_report(
                self._store,
                input.company_id,
                realm,
                "refund",
                refund.id,
                saved,
                "created",
                f"Journal entry {saved.Id} for the refund {amount} created in QuickBooks",
            )

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "journal-entry", plan, finish)

    @activity.defn(name="consume_credit")
    async def consume_credit(self, input: ConsumeCreditInput) -> SyncOutcome:
        """Link the unapplied payment to the refund's journal entry: the credit is used up."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        refund = input.refund
        record = f"refund {refund.id} of credit {input.credit_id}"

        def refunded(payment: q.Payment) -> SyncOutcome:
            left = payment.UnappliedAmt or Decimal(0)
            rest = "the credit is used up" if left == 0 else f"{format_usd(left)} of credit remains"
            return SyncOutcome(
                action="refunded",
                qbo_type="JournalEntry",
                qbo_id=input.journal_entry_qbo_id,
                message=f"Credit refund {format_usd(refund.amount)} recorded in QuickBooks; {rest}",
            )

        async def plan() -> Planned | SyncOutcome:
            payment = await self._credit_payment(input.company_id, realm, input.credit_id)
            already = any(
                link.TxnType == "JournalEntry" and link.TxnId == input.journal_entry_qbo_id
                for line in payment.Line or []
                for link in line.LinkedTxn or []
            )
            if already:
                return refunded(payment)
            line = q.TxnLine(
                Amount=refund.amount,
                LinkedTxn=[q.TxnLink(TxnId=input.journal_entry_qbo_id, TxnType="JournalEntry")],
            )
            return Planned(QBOWrite.of("update", self._with_line(payment, line)))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert isinstance(saved, q.Payment)
            return refunded(saved)

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "consume", plan, finish)
