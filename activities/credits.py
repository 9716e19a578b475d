"""Account credits: an unapplied QBO Payment; applied to invoices; refunded through a JournalEntry.

The refund shape (PRODUCT.md): a JournalEntry debits Accounts Receivable for the customer and
credits the refund-from account; the unapplied Payment is then linked to it, which uses the
credit up, so the customer's QBO balance equals Skimmer's. The credit's link keeps what these
events need from the Payment (customer, amounts, linked lines), so they read it only when stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
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
from activities.linking import link_and_report, link_state
from activities.models import (
    ApplyCreditInput,
    ConsumeCreditInput,
    RecordCreditInput,
    RefundCreditInput,
    SyncOutcome,
)
from billing.money import format_usd
from qbo import StaleObjectError
from qbo import models as q
from qbo.models import QBOModel
from store import Connection

RECORD_KIND = "credit"


def credit_state(payment: q.Payment) -> dict[str, Any]:
    """What later credit events need from the credit's Payment (its Id and SyncToken are the
    link's): the customer, the amounts, and the linked lines an update must send again."""
    customer = payment.CustomerRef
    kept = q.Payment(
        CustomerRef=None if customer is None else q.Ref(value=customer.value),
        TotalAmt=payment.TotalAmt,
        UnappliedAmt=payment.UnappliedAmt or Decimal(0),
        Line=[q.TxnLine(Amount=x.Amount, LinkedTxn=x.LinkedTxn) for x in linked_lines(payment)],
    )
    return kept.body()


def linked_lines(payment: q.Payment) -> list[q.TxnLine]:
    return [x for x in payment.Line or [] if x.LinkedTxn]


def left_of(payment: q.Payment) -> Decimal:
    return payment.UnappliedAmt or Decimal(0)


class CreditActivities(JournaledActivities):
    async def _credit_payment(
        self, company_id: str, realm: str, credit_id: str, *, fresh: bool = False
    ) -> tuple[q.Payment, bool]:
        """The credit's Payment from its link's state, else read once (and kept in the link);
        with whether it came from the state (`fresh`: read it whatever the link keeps)."""
        link = await self._store.get_link(company_id, realm, RECORD_KIND, credit_id)
        if link is None:
            raise permanent(
                f"credit {credit_id} is not in QuickBooks: it was never synced "
                "(added before sync started, or its sync failed)"
            )
        state = link_state(link)
        if not fresh and state is not None and link.sync_token is not None:
            stored = {**state, "Id": link.qbo_id, "SyncToken": link.sync_token}
            return q.Payment.model_validate(stored), True
        payment = await self._qbo.read(realm, q.Payment, link.qbo_id)
        await self._keep(company_id, realm, credit_id, payment)
        return payment, False

    async def _credit_with_enough_left(
        self, company_id: str, realm: str, credit_id: str, amount: Decimal, record: str
    ) -> q.Payment:
        """The credit's Payment when at least `amount` is left of it; a stored state that says
        otherwise is read again first (someone may have unapplied some of it in QuickBooks)."""
        payment, stored = await self._credit_payment(company_id, realm, credit_id)
        if amount > left_of(payment) and stored:
            payment, _ = await self._credit_payment(company_id, realm, credit_id, fresh=True)
        if amount > left_of(payment):
            raise permanent(
                f"{record}: {format_usd(amount)} is more than what is left of the credit in "
                f"QuickBooks ({format_usd(left_of(payment))})"
            )
        return payment

    async def _keep(self, company_id: str, realm: str, credit_id: str, payment: q.Payment) -> None:
        """The credit's link as QBO's last answer about its Payment left it."""
        await self._store.set_link_state(
            company_id,
            realm,
            RECORD_KIND,
            credit_id,
            credit_state(payment),
            sync_token=payment.SyncToken,
        )

    async def _receivable_account_id(self, conn: Connection, record: str) -> str:
        """The company's Accounts Receivable account: looked up once per QBO company."""
        if conn.receivable_account_id is not None:
            return conn.receivable_account_id
        receivable = await self._qbo.query(
            conn.realm_id,
            q.Account,
            "SELECT * FROM Account WHERE AccountType = 'Accounts Receivable'",
        )
        if not receivable or receivable[0].Id is None:
            raise permanent(f"{record}: QuickBooks has no Accounts Receivable account")
        account_id = receivable[0].Id
        await self._store.remember_qbo_ids(
            conn.company_id, conn.realm_id, receivable_account_id=account_id
        )
        return account_id

    async def _update_credit(
        self,
        company_id: str,
        realm: str,
        credit_id: str,
        step: str,
        plan: Callable[[], Awaitable[Planned | SyncOutcome]],
        finish: Callable[[QBOModel | None, dict[str, Any]], Awaitable[SyncOutcome]],
    ) -> SyncOutcome:
        """A journaled update of the credit's Payment; a 5010 (changed in QuickBooks since)
        forgets the stored state, so the retry reads the Payment once."""
        try:
            return await self._write_once(company_id, realm, step, plan, finish)
        except StaleObjectError:
            await self._store.forget_link_state(company_id, realm, RECORD_KIND, credit_id)
            raise

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
            assert isinstance(saved, q.Payment) and saved.Id is not None
            await self._store.save_link(
                input.company_id,
                realm,
                RECORD_KIND,
                credit.id,
                "Payment",
                saved.Id,
                saved.SyncToken,
                state=credit_state(saved),
            )
            return SyncOutcome(
                action="created",
                qbo_type="Payment",
                qbo_id=saved.Id,
                message=f"Account credit {amount} recorded in QuickBooks as an unapplied payment",
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
        lines = [q.TxnLine(Amount=x.Amount, LinkedTxn=x.LinkedTxn) for x in linked_lines(payment)]
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
            payment = await self._credit_with_enough_left(
                input.company_id, realm, input.credit_id, input.amount, record
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
            assert isinstance(saved, q.Payment) and saved.Id is not None
            await self._keep(input.company_id, realm, input.credit_id, saved)
            return SyncOutcome(
                action="applied",
                qbo_type="Payment",
                qbo_id=saved.Id,
                message=f"Credit {amount} applied to invoice {input.invoice_number} in QuickBooks",
            )

        with qbo_errors(record):
            return await self._update_credit(
                input.company_id, realm, input.credit_id, "apply", plan, finish
            )

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
            payment = await self._credit_with_enough_left(
                input.company_id, realm, input.credit_id, refund.amount, record
            )
            receivable_account_id = await self._receivable_account_id(conn, record)
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
                            AccountRef=q.Ref(value=receivable_account_id),
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
            left = left_of(payment)
            rest = "the credit is used up" if left == 0 else f"{format_usd(left)} of credit remains"
            return SyncOutcome(
                action="refunded",
                qbo_type="JournalEntry",
                qbo_id=input.journal_entry_qbo_id,
                message=f"Credit refund {format_usd(refund.amount)} recorded in QuickBooks; {rest}",
            )

        def already_linked(payment: q.Payment) -> bool:
            return any(
                link.TxnType == "JournalEntry" and link.TxnId == input.journal_entry_qbo_id
                for line in linked_lines(payment)
                for link in line.LinkedTxn or []
            )

        async def plan() -> Planned | SyncOutcome:
            payment, stored = await self._credit_payment(input.company_id, realm, input.credit_id)
            if stored and not already_linked(payment) and refund.amount > left_of(payment):
                # The stored state may be behind QBO: read once before refusing.
                payment, _ = await self._credit_payment(
                    input.company_id, realm, input.credit_id, fresh=True
                )
            if already_linked(payment):
                return refunded(payment)
            if refund.amount > left_of(payment):
                raise permanent(
                    f"{record}: {format_usd(refund.amount)} is more than what is left of the "
                    f"credit in QuickBooks ({format_usd(left_of(payment))})"
                )
            line = q.TxnLine(
                Amount=refund.amount,
                LinkedTxn=[q.TxnLink(TxnId=input.journal_entry_qbo_id, TxnType="JournalEntry")],
            )
            return Planned(QBOWrite.of("update", self._with_line(payment, line)))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert isinstance(saved, q.Payment)
            await self._keep(input.company_id, realm, input.credit_id, saved)
            return refunded(saved)

        with qbo_errors(record):
            return await self._update_credit(
                input.company_id, realm, input.credit_id, "consume", plan, finish
            )
