"""Payments on invoices: apply (create the QBO Payment), delete, void, refund."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.activity_log import close_event
from activities.common import (
    active_connection,
    mapped_account,
    permanent,
    qbo_errors,
    request_id,
    request_key,
)
from activities.invoices import invoice_balance_moved
from activities.items import create_or_find_item, find_item
from activities.journal import JournaledActivities, Planned, QBOWrite
from activities.linking import link_and_report, link_state
from activities.models import ApplyPaymentInput, PaymentRefInput, RefundPaymentInput, SyncOutcome
from billing.money import format_usd
from qbo import ObjectNotFoundError, QBOClient, StaleObjectError
from qbo import models as q
from qbo.errors import BusinessRuleError, InvalidReferenceError
from qbo.models import QBOModel
from store import Connection, Link

REFUND_ITEM_NAME = "Skimmer refund"
# apply_payment's failure when the invoice it links was deleted in QBO (the workflow resends it).
INVOICE_GONE = "QBOInvoiceGone"
APPLY_STEP = "create"  # apply_payment's journal step


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


def payment_state(
    amount: Decimal, customer_qbo_id: str, invoice_qbo_id: str, voided: bool = False
) -> dict[str, Any]:
    """What delete, void and refund need of a QBO payment, kept from its creation."""
    return {
        "amount": amount,
        "customer_qbo_id": customer_qbo_id,
        "invoice_qbo_id": invoice_qbo_id,
        "voided": voided,
    }


@dataclass(frozen=True)
class LinkedPayment:
    """A payment as the link keeps it, or as QBO answered a read (an older link keeps nothing)."""

    qbo_id: str
    sync_token: str
    amount: Decimal
    customer_qbo_id: str | None
    voided: bool
    # Where the payment was applied; None for a payment read back from QBO.
    invoice_qbo_id: str | None = None
    stored: bool = False  # from the link: QBO may have changed it since (5010/610 say so)

    @classmethod
    def of_link(cls, link: Link) -> LinkedPayment | None:
        state = link_state(link)
        if state is None or link.sync_token is None or state.get("amount") is None:
            return None
        return cls(
            qbo_id=link.qbo_id,
            sync_token=link.sync_token,
            amount=Decimal(str(state["amount"])),
            customer_qbo_id=state.get("customer_qbo_id"),
            voided=bool(state.get("voided")),
            invoice_qbo_id=state.get("invoice_qbo_id"),
            stored=True,
        )

    @classmethod
    def of_qbo(cls, payment: q.Payment) -> LinkedPayment:
        assert payment.Id is not None and payment.SyncToken is not None
        return cls(
            qbo_id=payment.Id,
            sync_token=payment.SyncToken,
            amount=payment.TotalAmt or Decimal(0),
            customer_qbo_id=payment.CustomerRef.value if payment.CustomerRef else None,
            voided=(payment.PrivateNote or "").startswith("Voided"),
        )

    def state(self, voided: bool) -> dict[str, Any] | None:
        if self.customer_qbo_id is None or self.invoice_qbo_id is None:
            return None
        return payment_state(self.amount, self.customer_qbo_id, self.invoice_qbo_id, voided)


def over_balance(
    record: str, amount: str, balance: Decimal, invoice_number: str
) -> ApplicationError:
    return permanent(
        f"{record}: {amount} is more than the open balance {format_usd(balance)} of invoice "
        f"{invoice_number} in QuickBooks, and the payment carries no credit for the rest"
    )


class PaymentActivities(JournaledActivities):
    @activity.defn(name="apply_payment")
    async def apply_payment(self, input: ApplyPaymentInput) -> SyncOutcome:
        payment = input.payment
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"payment {payment.id}"
        deposit_account_id = mapped_account(conn, "deposit", record)
        amount = format_usd(payment.amount)

        async def open_balance() -> Decimal:
            """The invoice's balance as QBO has it now (only when a payment seems too large)."""
            current = await self._qbo.read(realm, q.Invoice, input.invoice_qbo_id)
            balance = current.Balance or Decimal(0)
            link = await self._store.link_to(
                input.company_id, realm, "Invoice", input.invoice_qbo_id
            )
            state = link_state(link)
            if link is not None and state is not None:
                await self._store.set_link_state(
                    input.company_id, realm, link.record_kind, link.record_id,
                    state | {"balance": balance},
                )  # fmt: skip
            return balance

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
                # The balance may be the one the link kept: refuse only on QBO's own figure.
                balance = await open_balance()
                if payment.amount > balance:
                    raise over_balance(record, amount, balance, input.invoice_number)
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
            assert isinstance(saved, q.Payment) and saved.Id is not None
            before = await self._store.get_link(input.company_id, realm, "payment", payment.id)
            # Once per payment, even when a crash makes this run again: the balance moves in the
            # transaction that links the payment.
            balance = []
            if before is None or before.qbo_id != saved.Id:
                balance = await invoice_balance_moved(
                    self._store, input.company_id, realm, input.invoice_qbo_id, -payment.amount
                )
            applied = SyncOutcome(
                action="created",
                qbo_type="Payment",
                qbo_id=saved.Id,
                message=f"Payment {amount} on invoice {input.invoice_number} applied in QuickBooks",
            )
            if input.closing is not None:  # the event ends here: its line goes with the link
                line = input.closing.after(input.company_id, applied)
                applied = await close_event(self._store, line, applied)
            await self._store.save_link(
                input.company_id,
                realm,
                "payment",
                payment.id,
                "Payment",
                saved.Id,
                saved.SyncToken,
                state=payment_state(payment.amount, input.customer_qbo_id, input.invoice_qbo_id),
                also=balance,
            )
            return applied

        async def why_refused() -> Decimal:
            """QBO refused the payment: its invoice's balance now, or the invoice is gone."""
            try:
                return await open_balance()
            except ObjectNotFoundError:
                # Deleted in QBO since its link was written: the workflow sends it again.
                await self._store.delete_link(
                    input.company_id, realm, "invoice", payment.invoice_id
                )
                raise ApplicationError(
                    f"{record}: invoice {input.invoice_number} was deleted in QuickBooks",
                    type=INVOICE_GONE,
                    non_retryable=True,
                ) from None

        with qbo_errors(record):
            try:
                return await self._write_once(input.company_id, realm, APPLY_STEP, plan, finish)
            except (BusinessRuleError, InvalidReferenceError, ObjectNotFoundError):
                # When the invoice's open balance is why, say so.
                balance = await why_refused()
                if payment.amount > balance:
                    raise over_balance(record, amount, balance, input.invoice_number) from None
                raise

    async def _linked_payment(
        self, input: PaymentRefInput | RefundPaymentInput, realm: str
    ) -> LinkedPayment | None:
        """The payment as the link keeps it, else as QBO has it — None when QBO no longer has
        it (the link dropped); never synced → permanent."""
        link = await self._store.get_link(input.company_id, realm, "payment", input.payment_id)
        if link is None:
            raise permanent(
                f"payment {input.payment_id} is not in QuickBooks: it was never synced "
                "(recorded before sync started, or its sync failed)"
            )
        stored = LinkedPayment.of_link(link)
        if stored is not None:
            return stored
        try:
            return LinkedPayment.of_qbo(await self._qbo.read(realm, q.Payment, link.qbo_id))
        except ObjectNotFoundError:
            return None

    async def _stale(self, input: PaymentRefInput | RefundPaymentInput, realm: str) -> None:
        # Someone else changed the payment in QBO: the next attempt reads it once.
        await self._store.forget_link_state(input.company_id, realm, "payment", input.payment_id)

    @activity.defn(name="delete_payment")
    async def delete_payment(self, input: PaymentRefInput) -> SyncOutcome:
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id

        def deleted(qbo_id: str, message: str) -> SyncOutcome:
            return SyncOutcome(action="deleted", qbo_type="Payment", qbo_id=qbo_id, message=message)

        async def gone(qbo_id: str) -> SyncOutcome:
            await self._store.delete_link(input.company_id, realm, "payment", input.payment_id)
            return deleted(qbo_id, f"Payment {input.payment_id} was already deleted in QuickBooks")

        async def plan() -> Planned | SyncOutcome:
            current = await self._linked_payment(input, realm)
            if current is None:
                link = await self._store.get_link(
                    input.company_id, realm, "payment", input.payment_id
                )
                return await gone(link.qbo_id if link else "")
            write = QBOWrite.on("delete", q.Payment, current.qbo_id, current.sync_token)
            note = {
                "qbo_id": current.qbo_id,
                "amount": format_usd(current.amount),
                # A voided payment applies nothing any more: deleting it re-opens nothing.
                "reopens": None if current.voided else current.amount,
                "invoice_qbo_id": current.invoice_qbo_id,
            }
            return Planned(write, note)

        async def finish(_saved: QBOModel | None, note: dict[str, Any]) -> SyncOutcome:
            before = await self._store.get_link(
                input.company_id, realm, "payment", input.payment_id
            )
            reopens = before is not None and note.get("reopens") is not None
            balance = []
            if reopens and note.get("invoice_qbo_id"):
                balance = await invoice_balance_moved(
                    self._store, input.company_id, realm, note["invoice_qbo_id"],
                    Decimal(str(note["reopens"])),
                )  # fmt: skip
            await self._store.delete_link(
                input.company_id, realm, "payment", input.payment_id, also=balance
            )
            return deleted(
                note["qbo_id"],
                f"Payment {note['amount']} deleted in QuickBooks; its invoice is due again",
            )

        with qbo_errors(f"payment {input.payment_id}"):
            link = await self._store.get_link(input.company_id, realm, "payment", input.payment_id)
            try:
                return await self._write_once(input.company_id, realm, "delete", plan, finish)
            except ObjectNotFoundError:
                # QBO no longer has it (deleted there by hand): nothing left to delete.
                return await gone(link.qbo_id if link else "")
            except StaleObjectError:
                await self._stale(input, realm)
                raise

    @activity.defn(name="void_payment")
    async def void_payment(self, input: PaymentRefInput) -> SyncOutcome:
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        gone = f"payment {input.payment_id} was deleted in QuickBooks, so it cannot be voided"

        def voided(qbo_id: str, message: str) -> SyncOutcome:
            return SyncOutcome(action="voided", qbo_type="Payment", qbo_id=qbo_id, message=message)

        async def plan() -> Planned | SyncOutcome:
            current = await self._linked_payment(input, realm)
            if current is None:
                raise permanent(gone)
            amount = format_usd(current.amount)
            if current.voided:
                return voided(current.qbo_id, f"Payment {amount} was already voided in QuickBooks")
            write = QBOWrite.on("void", q.Payment, current.qbo_id, current.sync_token)
            return Planned(write, {"amount": amount, "state": current.state(voided=True)})

        async def finish(saved: QBOModel | None, note: dict[str, Any]) -> SyncOutcome:
            assert isinstance(saved, q.Payment) and saved.Id is not None
            state = note.get("state")
            before = await self._store.get_link(
                input.company_id, realm, "payment", input.payment_id
            )
            already = bool((link_state(before) or {}).get("voided"))
            balance = []
            if state is not None and not already:
                balance = await invoice_balance_moved(
                    self._store, input.company_id, realm, state["invoice_qbo_id"],
                    Decimal(str(state["amount"])),
                )  # fmt: skip
            await self._store.save_link(
                input.company_id,
                realm,
                "payment",
                input.payment_id,
                "Payment",
                saved.Id,
                saved.SyncToken,
                state=state,
                also=balance,
            )
            return voided(
                saved.Id, f"Payment {note['amount']} voided in QuickBooks; its invoice is due again"
            )

        with qbo_errors(f"payment {input.payment_id}"):
            try:
                return await self._write_once(input.company_id, realm, "void", plan, finish)
            except ObjectNotFoundError:
                raise permanent(gone) from None
            except StaleObjectError:
                await self._stale(input, realm)
                raise

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
        # The refund item as the connection keeps it; None: find or make it (once per company).
        cached_item: str | None = conn.refund_item_id

        async def item_id() -> str:
            nonlocal cached_item
            if cached_item is None:
                cached_item = await refund_item_id(self._qbo, conn)
                await self._store.remember_qbo_ids(
                    input.company_id, realm, refund_item_id=cached_item
                )
            return cached_item

        async def plan() -> Planned | SyncOutcome:
            existing = await self._store.get_link(input.company_id, realm, "refund", refund.id)
            if existing is not None:
                return SyncOutcome(
                    action="unchanged",
                    qbo_type=existing.qbo_type,
                    qbo_id=existing.qbo_id,
                    message=f"Refund {format_usd(refund.amount)} was already in QuickBooks",
                )
            payment = await self._linked_payment(input, realm)
            if payment is None or payment.customer_qbo_id is None:
                raise permanent(f"{record}: the payment was deleted in QuickBooks")
            paid = Decimal(0) if payment.voided else payment.amount
            if refund.amount > paid:
                raise permanent(
                    f"{record}: {format_usd(refund.amount)} is more than the payment "
                    f"{format_usd(paid)}"
                )
            receipt = q.RefundReceipt(
                CustomerRef=q.Ref(value=payment.customer_qbo_id),
                DepositToAccountRef=q.Ref(value=refund_account_id),
                TxnDate=refund.refunded_on.isoformat(),
                PrivateNote=f"Skimmer refund {refund.id} of payment {input.payment_id}",
                Line=[
                    q.TxnLine(
                        Amount=refund.amount,
                        DetailType="SalesItemLineDetail",
                        Description=refund.reason or "Refund",
                        SalesItemLineDetail=q.SalesDetail(
                            ItemRef=q.Ref(value=await item_id()),
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

        async def attempt() -> SyncOutcome:
            return await self._write_once(input.company_id, realm, "create", plan, finish)

        with qbo_errors(record):
            try:
                return await attempt()
            except (InvalidReferenceError, ObjectNotFoundError):
                if cached_item is None or cached_item != conn.refund_item_id:
                    raise
                # The kept refund item was deleted or made inactive in QBO: find, make or
                # reactivate it again, then send the refund once more.
                cached_item = None
                await self._store.remember_qbo_ids(input.company_id, realm, forget=True)
                return await attempt()
