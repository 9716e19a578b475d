"""Stripe payouts: one QBO Bank Deposit per payout, its payments taken out of Undeposited Funds.

The deposit's lines: each payment linked (`LinkedTxn` Payment), each refund paid out of the payout
as a negative line to the account its RefundReceipt (or JournalEntry) was paid from — the payout,
not that account, paid it — and the fees as a negative line to the fees account; total = net.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.common import active_connection, permanent, qbo_errors
from activities.journal import JournaledActivities, Planned, QBOWrite, write_once
from activities.models import DepositResult, PayoutInput, PayoutReadiness
from billing.money import format_usd
from billing.snapshots import Payout
from qbo import ObjectNotFoundError
from qbo import models as q
from qbo.models import QBOModel
from store import Connection

RECORD_KIND = "payout"
SYNC_OFF = "payout sync is off: choose a payouts bank account and a fees account"
# Ids per query: well under QBO's 1000-row page and its URL length limits.
IDS_PER_QUERY = 200


@dataclass(frozen=True)
class RefundPaidOut:
    """A refund the payout paid: how much, and the account its QBO record took it from."""

    refund_id: str
    amount: Decimal
    account_id: str


def payout_accounts(conn: Connection) -> tuple[str, str] | None:
    """(payouts bank account, fees account), or None while payout sync is off."""
    if conn.payouts_account_id and conn.fees_account_id:
        return conn.payouts_account_id, conn.fees_account_id
    return None


def voided(payment: q.Payment) -> bool:
    return (payment.PrivateNote or "").startswith("Voided")


class PayoutActivities(JournaledActivities):
    async def _what_became_of_payment(self, company_id: str, payment_id: str) -> str | None:
        """Why a payment with no link will never reach QBO (from its activity-log lines), or
        None: it has not been synced yet and may still arrive."""
        lines = await self._store.record_activity(company_id, "payment", payment_id)
        for line in reversed(lines):
            if line.action == "delete" and line.outcome == "success":
                return f"payment {payment_id} was deleted"
            if line.action == "record" and line.outcome == "failed" and not line.resolved:
                return (
                    f"payment {payment_id} failed to reach QuickBooks (see its line in the "
                    "activity log; retry it, then retry this payout)"
                )
            if line.action == "record" and line.outcome == "skipped":
                return f"payment {payment_id} was not sent to QuickBooks (its sync was skipped)"
            if line.action == "record" and line.outcome == "success":
                return None
        return None

    @activity.defn(name="payout_readiness")
    async def payout_readiness(self, input: PayoutInput) -> PayoutReadiness:
        """Store only: is payout sync on, and is every payment and refund it names in QBO?"""
        conn = await active_connection(self._store, input.company_id)
        if payout_accounts(conn) is None:
            return PayoutReadiness(skipped_because=SYNC_OFF)
        realm, payout = conn.realm_id, input.payout
        if await self._store.get_link(input.company_id, realm, RECORD_KIND, payout.id):
            return PayoutReadiness()  # deposited already: the deposit step reports it
        waiting: list[str] = []
        never: list[str] = []
        for payment_id in payout.payment_ids:
            if await self._store.get_link(input.company_id, realm, "payment", payment_id):
                continue
            gone = await self._what_became_of_payment(input.company_id, payment_id)
            if gone is None:
                waiting.append(f"payment {payment_id}")
            else:
                never.append(gone)
        for refund_id in payout.refund_ids:
            if not await self._store.get_link(input.company_id, realm, "refund", refund_id):
                waiting.append(f"refund {refund_id}")
        return PayoutReadiness(waiting_for=waiting, never=never)

    async def _payments(self, company_id: str, realm: str, payout: Payout) -> list[q.Payment]:
        """The payout's QBO payments, in its order; deleted or voided ones stop it for good."""
        record = f"payout {payout.id}"
        qbo_ids: dict[str, str] = {}
        for payment_id in payout.payment_ids:
            link = await self._store.get_link(company_id, realm, "payment", payment_id)
            if link is None:
                raise permanent(f"{record}: payment {payment_id} is no longer in QuickBooks")
            qbo_ids[payment_id] = link.qbo_id
        found: dict[str, q.Payment] = {}
        wanted = list(dict.fromkeys(qbo_ids.values()))
        for start in range(0, len(wanted), IDS_PER_QUERY):
            chunk = ", ".join(f"'{qbo_id}'" for qbo_id in wanted[start : start + IDS_PER_QUERY])
            statement = f"SELECT * FROM Payment WHERE Id IN ({chunk}) MAXRESULTS 1000"
            for row in await self._qbo.query(realm, q.Payment, statement):
                assert row.Id is not None
                found[row.Id] = row
        payments = []
        for payment_id, qbo_id in qbo_ids.items():
            payment = found.get(qbo_id)
            if payment is None:
                raise permanent(f"{record}: payment {payment_id} was deleted in QuickBooks")
            if voided(payment):
                raise permanent(
                    f"{record}: payment {payment_id} was voided, so it cannot be deposited"
                )
            payments.append(payment)
        return payments

    async def _refunds(self, company_id: str, realm: str, payout: Payout) -> list[RefundPaidOut]:
        record = f"payout {payout.id}"
        refunds = []
        for refund_id in payout.refund_ids:
            link = await self._store.get_link(company_id, realm, "refund", refund_id)
            if link is None:
                raise permanent(f"{record}: refund {refund_id} is no longer in QuickBooks")
            try:
                if link.qbo_type == "RefundReceipt":
                    receipt = await self._qbo.read(realm, q.RefundReceipt, link.qbo_id)
                    assert receipt.DepositToAccountRef is not None
                    amount, account = receipt.TotalAmt or Decimal(0), receipt.DepositToAccountRef
                else:  # a credit's refund: the journal entry's credit to the refund-from account
                    entry = await self._qbo.read(realm, q.JournalEntry, link.qbo_id)
                    (credit,) = [
                        line
                        for line in entry.Line or []
                        if line.JournalEntryLineDetail
                        and line.JournalEntryLineDetail.PostingType == "Credit"
                    ]
                    assert credit.JournalEntryLineDetail is not None
                    amount, account = credit.Amount, credit.JournalEntryLineDetail.AccountRef
            except ObjectNotFoundError:
                raise permanent(f"{record}: refund {refund_id} was deleted in QuickBooks") from None
            refunds.append(RefundPaidOut(refund_id, amount, account.value))
        return refunds

    @activity.defn(name="deposit_payout")
    async def deposit_payout(self, input: PayoutInput) -> DepositResult:
        """The payout's Bank Deposit, once; its payments and refunds must add up as Stripe's do."""
        payout = input.payout
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"payout {payout.id}"
        accounts = payout_accounts(conn)
        if accounts is None:
            raise permanent(f"{record}: {SYNC_OFF}")
        payouts_account_id, fees_account_id = accounts

        async def plan() -> Planned | DepositResult:
            link = await self._store.get_link(input.company_id, realm, RECORD_KIND, payout.id)
            if link is not None:
                return DepositResult(
                    action="unchanged",
                    qbo_type="Deposit",
                    qbo_id=link.qbo_id,
                    message=f"Payout {format_usd(payout.net)} was already deposited in QuickBooks",
                )
            payments = await self._payments(input.company_id, realm, payout)
            paid = sum((p.TotalAmt or Decimal(0) for p in payments), Decimal(0))
            if paid != payout.gross:
                raise permanent(
                    f"{record}: its payments ({len(payments)}) add up to {format_usd(paid)} in "
                    f"QuickBooks, not the payout's gross {format_usd(payout.gross)}"
                )
            refunds = await self._refunds(input.company_id, realm, payout)
            refunded = sum((r.amount for r in refunds), Decimal(0))
            if refunded != payout.gross - payout.fees - payout.net:
                raise permanent(
                    f"{record}: its refunds add up to {format_usd(refunded)} in QuickBooks, but "
                    f"gross {format_usd(payout.gross)} less fees {format_usd(payout.fees)} less "
                    f"net {format_usd(payout.net)} is {format_usd(payout.gross - payout.fees - payout.net)}"
                )
            lines = [
                q.TxnLine(
                    Amount=p.TotalAmt or Decimal(0),
                    LinkedTxn=[q.TxnLink(TxnId=p.Id or "", TxnType="Payment", TxnLineId="0")],
                )
                for p in payments
            ]
            lines += [
                q.TxnLine(
                    Amount=-r.amount,
                    DetailType="DepositLineDetail",
                    Description=f"Skimmer refund {r.refund_id}, paid out of payout {payout.id}",
                    DepositLineDetail=q.DepositDetail(AccountRef=q.Ref(value=r.account_id)),
                )
                for r in refunds
            ]
            if payout.fees > 0:
                lines.append(
                    q.TxnLine(
                        Amount=-payout.fees,
                        DetailType="DepositLineDetail",
                        Description=f"Fees of payout {payout.id}",
                        DepositLineDetail=q.DepositDetail(AccountRef=q.Ref(value=fees_account_id)),
                    )
                )
            deposit = q.Deposit(
                DepositToAccountRef=q.Ref(value=payouts_account_id),
                TxnDate=payout.arrived_on.isoformat(),
                PrivateNote=f"Skimmer payout {payout.id}",
                Line=lines,
            )
            note = {"payments": len(payments), "refunds": len(refunds)}
            return Planned(QBOWrite.of("create", deposit), note)

        async def finish(saved: QBOModel | None, note: dict[str, Any]) -> DepositResult:
            assert isinstance(saved, q.Deposit) and saved.Id is not None
            await self._store.save_link(
                input.company_id,
                realm,
                RECORD_KIND,
                payout.id,
                "Deposit",
                saved.Id,
                saved.SyncToken,
            )
            refunds = f", {counted(note['refunds'], 'refund')}" if note["refunds"] else ""
            return DepositResult(
                action="created",
                qbo_type="Deposit",
                qbo_id=saved.Id,
                total=saved.TotalAmt,
                message=(
                    f"Payout {format_usd(payout.net)} deposited in QuickBooks: "
                    f"{counted(note['payments'], 'payment')} {format_usd(payout.gross)}{refunds}, "
                    f"fees {format_usd(payout.fees)}"
                ),
            )

        with qbo_errors(record):
            return await write_once(
                self._store,
                self._qbo,
                input.company_id,
                realm,
                "deposit",
                plan,
                finish,
                DepositResult,
            )


def counted(n: int, noun: str) -> str:
    """ "1 payment", "2 payments"."""
    return f"{n} {noun}" if n == 1 else f"{n} {noun}s"
