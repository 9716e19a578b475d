"""Payments on invoices: apply (create the QBO Payment), delete, void, refund."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.common import (
    active_connection,
    mapped_account,
    permanent,
    qbo_errors,
    request_id,
    request_key,
)
from activities.items import create_or_find_item, find_item
from activities.journal import JournaledActivities, Planned, QBOWrite
from activities.linking import link_and_report
from activities.models import ApplyPaymentInput, PaymentRefInput, RefundPaymentInput, SyncOutcome
from billing.money import format_usd
from qbo import ObjectNotFoundError, QBOClient
from qbo import models as q
from qbo.models import QBOModel
from store import Connection

REFUND_ITEM_NAME = "Skimmer refund"


async def refund_item_id(qbo: QBOClient, conn: Connection) -> str:
    """The service item refund receipt lines use (QBO refunds need an item), made once."""
    found = await find_item(qbo, conn.realm_id, REFUND_ITEM_NAME)
    if found is None:
        income_account_id = mapped_account(conn, "income", f"refund item {REFUND_ITEM_NAME!r}")
        body = q.Item(
            Name=REFUND_ITEM_NAME,
            Type="Service",
            Description="Refunds recorded by Skimmer",
            IncomeAccountRef=q.Ref(value=income_account_id),
        )
        found, _ = await create_or_find_item(qbo, conn.realm_id, body, request_id("refund-item"))
    assert found.Id is not None and found.SyncToken is not None
    if found.Active is False:
        # Made inactive in QBO: a refund line cannot name it until it is active again.
        step = f"refund-item/reactivate/{found.SyncToken}"
        reactivated = q.Item(
            Id=found.Id, SyncToken=found.SyncToken, Name=REFUND_ITEM_NAME, Active=True
        )
        await qbo.update(conn.realm_id, reactivated, request_id(step))
    return found.Id


class PaymentActivities(JournaledActivities):
    @activity.defn(name="apply_payment")
    async def apply_payment(self, input: ApplyPaymentInput) -> SyncOutcome:
        payment = input.payment
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"payment {payment.id}"
        deposit_account_id = mapped_account(conn, "deposit", record)
        amount = format_usd(payment.amount)

        async def plan() -> Planned | SyncOutcome:
            link = await self._store.get_link(input.company_id, realm, "payment", payment.id)
            if link is not None and link.qbo_id != input.replaces_qbo_id:
                return SyncOutcome(
                    action="unchanged",
                    qbo_type="Payment",
                    qbo_id=link.qbo_id,
                    message=f"Payment {amount} on invoice {input.invoice_number} was already in QuickBooks",
                )
            if input.invoice_balance is not None and payment.amount > input.invoice_balance:
                raise permanent(
                    f"{record}: {amount} is more than the open balance "
                    f"{format_usd(input.invoice_balance)} of invoice {input.invoice_number} in "
                    "QuickBooks, and the payment carries no credit for the rest"
                )
            applied = q.Payment(
                CustomerRef=q.Ref(value=input.customer_qbo_id),
                TotalAmt=payment.amount,
                TxnDate=payment.received_on.isoformat(),
                DepositToAccountRef=q.Ref(value=deposit_account_id),
                PaymentRefNum=(payment.reference or payment.id)[:21],
                PrivateNote=f"Skimmer payment {payment.id} ({payment.method})",
                Line=[
                    q.TxnLine(
                        Amount=payment.amount,
                        LinkedTxn=[q.TxnLink(TxnId=input.invoice_qbo_id, TxnType="Invoice")],
                    )
                ],
            )
            if input.replaces_qbo_id is not None:
                # One requestid per deleted payment, whichever run recreates it: two
                # reconciliations at once still make one payment.
                fixed = f"{input.company_id}/{realm}/payment/{payment.id}/{input.replaces_qbo_id}"
                return Planned(QBOWrite.of("create", applied), fixed_request_id=request_key(fixed))
            return Planned(QBOWrite.of("create", applied))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert saved is not None
            return await link_and_report(
                self._store,
                input.company_id,
                realm,
                "payment",
                payment.id,
                saved,
                "created",
                f"Payment {amount} on invoice {input.invoice_number} applied in QuickBooks",
            )

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "create", plan, finish)

    async def _linked_payment(
        self, input: PaymentRefInput | RefundPaymentInput, realm: str
    ) -> tuple[str, q.Payment | None]:
        """(QBO id, the payment) — None when QBO no longer has it; unknown → permanent."""
        link = await self._store.get_link(input.company_id, realm, "payment", input.payment_id)
        if link is None:
            raise permanent(
                f"payment {input.payment_id} is not in QuickBooks: it was never synced "
                "(recorded before sync started, or its sync failed)"
            )
        try:
            return link.qbo_id, await self._qbo.read(realm, q.Payment, link.qbo_id)
        except ObjectNotFoundError:
            return link.qbo_id, None

    @activity.defn(name="delete_payment")
    async def delete_payment(self, input: PaymentRefInput) -> SyncOutcome:
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id

        def deleted(qbo_id: str, message: str) -> SyncOutcome:
            return SyncOutcome(action="deleted", qbo_type="Payment", qbo_id=qbo_id, message=message)

        async def plan() -> Planned | SyncOutcome:
            qbo_id, current = await self._linked_payment(input, realm)
            if current is None:
                await self._store.delete_link(input.company_id, realm, "payment", input.payment_id)
                return deleted(
                    qbo_id, f"Payment {input.payment_id} was already deleted in QuickBooks"
                )
            assert current.SyncToken is not None
            amount = format_usd(current.TotalAmt or Decimal(0))
            write = QBOWrite.on("delete", q.Payment, qbo_id, current.SyncToken)
            return Planned(write, {"qbo_id": qbo_id, "amount": amount})

        async def finish(_saved: QBOModel | None, note: dict[str, Any]) -> SyncOutcome:
            await self._store.delete_link(input.company_id, realm, "payment", input.payment_id)
            return deleted(
                note["qbo_id"],
                f"Payment {note['amount']} deleted in QuickBooks; its invoice is due again",
            )

        with qbo_errors(f"payment {input.payment_id}"):
            return await self._write_once(input.company_id, realm, "delete", plan, finish)

    @activity.defn(name="void_payment")
    async def void_payment(self, input: PaymentRefInput) -> SyncOutcome:
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id

        def voided(qbo_id: str, message: str) -> SyncOutcome:
            return SyncOutcome(action="voided", qbo_type="Payment", qbo_id=qbo_id, message=message)

        async def plan() -> Planned | SyncOutcome:
            qbo_id, current = await self._linked_payment(input, realm)
            if current is None:
                raise permanent(
                    f"payment {input.payment_id} was deleted in QuickBooks, so it cannot be voided"
                )
            assert current.SyncToken is not None
            amount = format_usd(current.TotalAmt or Decimal(0))
            if (current.PrivateNote or "").startswith("Voided"):
                return voided(qbo_id, f"Payment {amount} was already voided in QuickBooks")
            write = QBOWrite.on("void", q.Payment, qbo_id, current.SyncToken)
            return Planned(write, {"amount": amount})

        async def finish(saved: QBOModel | None, note: dict[str, Any]) -> SyncOutcome:
            assert isinstance(saved, q.Payment) and saved.Id is not None
            await self._store.save_link(
                input.company_id,
                realm,
                "payment",
                input.payment_id,
                "Payment",
                saved.Id,
                saved.SyncToken,
            )
            return voided(
                saved.Id, f"Payment {note['amount']} voided in QuickBooks; its invoice is due again"
            )

        with qbo_errors(f"payment {input.payment_id}"):
            return await self._write_once(input.company_id, realm, "void", plan, finish)

    @activity.defn(name="refund_payment")
    async def refund_payment(self, input: RefundPaymentInput) -> SyncOutcome:
        """A RefundReceipt for the refunded amount, paid from the refund-from account."""
        refund = input.refund
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"refund {refund.id} of payment {input.payment_id}"
        refund_account_id = mapped_account(conn, "refund", record)
        if refund.amount <= 0:
            raise permanent(f"{record}: the amount {format_usd(refund.amount)} must be positive")

        async def plan() -> Planned | SyncOutcome:
            existing = await self._store.get_link(input.company_id, realm, "refund", refund.id)
            if existing is not None:
                return SyncOutcome(
                    action="unchanged",
                    qbo_type=existing.qbo_type,
                    qbo_id=existing.qbo_id,
                    message=f"Refund {format_usd(refund.amount)} was already in QuickBooks",
                )
            _, payment = await self._linked_payment(input, realm)
            if payment is None or payment.CustomerRef is None:
                raise permanent(f"{record}: the payment was deleted in QuickBooks")
            if refund.amount > (payment.TotalAmt or Decimal(0)):
                raise permanent(
                    f"{record}: {format_usd(refund.amount)} is more than the payment "
                    f"{format_usd(payment.TotalAmt or Decimal(0))}"
                )
            item_id = await refund_item_id(self._qbo, conn)
            receipt = q.RefundReceipt(
                CustomerRef=payment.CustomerRef,
                DepositToAccountRef=q.Ref(value=refund_account_id),
                TxnDate=refund.refunded_on.isoformat(),
                PrivateNote=f"Skimmer refund {refund.id} of payment {input.payment_id}",
                Line=[
                    q.TxnLine(
                        Amount=refund.amount,
                        DetailType="SalesItemLineDetail",
                        Description=refund.reason or "Refund",
                        SalesItemLineDetail=q.SalesDetail(
                            ItemRef=q.Ref(value=item_id),
                            Qty=Decimal(1),
                            UnitPrice=refund.amount,
                        ),
                    )
                ],
            )
            return Planned(QBOWrite.of("create", receipt))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            assert saved is not None
            return await link_and_report(
                self._store,
                input.company_id,
                realm,
                "refund",
                refund.id,
                saved,
                "created",
                f"Refund {format_usd(refund.amount)} of a payment recorded in QuickBooks",
            )

        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "create", plan, finish)
