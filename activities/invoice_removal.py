"""VoidInvoice / DeleteInvoice steps: what applies to the QBO invoice is taken off it first
(Skimmer's payments voided or deleted, credits unapplied), then the invoice is voided or deleted."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any

from temporalio import activity

from activities.common import active_connection, qbo_errors
from activities.journal import JournaledActivities, Planned, QBOWrite
from activities.models import (
    EndInvoiceInput,
    InvoicePayment,
    InvoiceRefInput,
    InvoiceRemoval,
    RemoveInvoicePaymentInput,
    SyncOutcome,
)
from billing.money import format_usd
from qbo import ObjectNotFoundError
from qbo import models as q
from qbo.models import QBOModel

# Skimmer voids card and ACH payments (the processor reverses them); others are deleted.
VOIDED_METHODS = frozenset({"card", "ach"})
# The note apply_payment writes on every payment: "Skimmer payment <id> (<method>)".
PAYMENT_NOTE = re.compile(r"^Skimmer payment \S+ \((?P<method>[a-z_]+)\)")
PAST = {"void": "voided", "delete": "deleted"}


def is_voided(txn: q.Transaction) -> bool:
    return (txn.PrivateNote or "").startswith("Voided")


def links_invoice(line: q.TxnLine, invoice_qbo_id: str) -> bool:
    return any(x.TxnType == "Invoice" and x.TxnId == invoice_qbo_id for x in line.LinkedTxn or [])


def applied_to(payment: q.Payment, invoice_qbo_id: str) -> Decimal:
    """What `payment` pays on the invoice."""
    lines = payment.Line or []
    return sum((x.Amount for x in lines if links_invoice(x, invoice_qbo_id)), Decimal(0))


def removal_of(payment: q.Payment, record_kind: str | None, invoice_qbo_id: str) -> str:
    """void / delete a Skimmer payment of this invoice alone; anything else is unapplied."""
    only_this_invoice = all(links_invoice(x, invoice_qbo_id) for x in payment.Line or [])
    if record_kind != "payment" or not only_this_invoice:
        return "unapply"
    method = PAYMENT_NOTE.match(payment.PrivateNote or "")
    return "void" if method and method["method"] in VOIDED_METHODS else "delete"


def what_was_removed(payment: InvoicePayment) -> str:
    """The activity-log words for one payment taken off the invoice."""
    amount = format_usd(payment.amount)
    if payment.removal != "unapply":
        return f"payment {amount} {PAST[payment.removal]}"
    if payment.record_kind == "credit":
        return f"credit {amount} unapplied (back on the customer's account)"
    return f"QuickBooks payment {payment.qbo_id} ({amount}) unapplied"


class InvoiceRemovalActivities(JournaledActivities):
    @activity.defn(name="invoice_payments")
    async def invoice_payments(self, input: InvoiceRefInput) -> InvoiceRemoval:
        """The QBO invoice and every payment QBO says applies to it (a look, no write)."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        link = await self._store.get_link(input.company_id, realm, "invoice", input.invoice_id)
        if link is None:
            return InvoiceRemoval(
                action="skipped",
                message=(
                    f"Invoice {input.invoice_id} not {PAST[input.how]} in QuickBooks: it was never "
                    "sent there (unpaid, or created before QuickBooks sync was switched on)"
                ),
            )
        with qbo_errors(f"invoice {input.invoice_id}"):
            try:
                invoice = await self._qbo.read(realm, q.Invoice, link.qbo_id)
            except ObjectNotFoundError:
                await self._store.delete_link(input.company_id, realm, "invoice", input.invoice_id)
                return InvoiceRemoval(
                    action="unchanged",
                    qbo_id=link.qbo_id,
                    message=f"Invoice {input.invoice_id} was already deleted in QuickBooks",
                )
            assert invoice.Id is not None
            number = invoice.DocNumber or input.invoice_id
            if input.how == "void" and is_voided(invoice):
                return InvoiceRemoval(
                    action="unchanged",
                    qbo_id=invoice.Id,
                    number=number,
                    message=f"Invoice {number} was already voided in QuickBooks",
                )
            payments = []
            for linked in invoice.LinkedTxn or []:
                if linked.TxnType != "Payment":
                    continue
                payment = await self._qbo.read(realm, q.Payment, linked.TxnId)
                skimmer = await self._store.link_to(
                    input.company_id, realm, "Payment", linked.TxnId
                )
                kind = skimmer.record_kind if skimmer else None
                payments.append(
                    InvoicePayment(
                        qbo_id=linked.TxnId,
                        removal=removal_of(payment, kind, invoice.Id),
                        record_kind=kind,
                        record_id=skimmer.record_id if skimmer else None,
                        amount=applied_to(payment, invoice.Id),
                    )
                )
        return InvoiceRemoval(action="remove", qbo_id=invoice.Id, number=number, payments=payments)

    @activity.defn(name="remove_invoice_payment")
    async def remove_invoice_payment(self, input: RemoveInvoicePaymentInput) -> SyncOutcome:
        """One payment off the invoice: voided, deleted, or its lines on the invoice removed."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        taken = input.payment
        words = what_was_removed(taken)

        def outcome(action: str, message: str) -> SyncOutcome:
            return SyncOutcome(
                action=action, qbo_type="Payment", qbo_id=taken.qbo_id, message=message
            )

        async def forget_deleted() -> None:
            if taken.record_kind == "payment" and taken.record_id is not None:
                await self._store.delete_link(input.company_id, realm, "payment", taken.record_id)

        async def plan() -> Planned | SyncOutcome:
            try:
                current = await self._qbo.read(realm, q.Payment, taken.qbo_id)
            except ObjectNotFoundError:
                await forget_deleted()
                return outcome("unchanged", f"{words}: it was already deleted in QuickBooks")
            assert current.SyncToken is not None
            if applied_to(current, input.invoice_qbo_id) == 0:
                return outcome("unchanged", f"{words}: it no longer applied to the invoice")
            if taken.removal != "unapply":
                return Planned(
                    QBOWrite.on(taken.removal, q.Payment, taken.qbo_id, current.SyncToken)
                )
            # A full update: QBO may keep lines a sparse update leaves out or sends empty.
            kept = [x for x in current.Line or [] if not links_invoice(x, input.invoice_qbo_id)]
            unapplied = current.model_copy(update={"Line": kept or None, "sparse": False})
            return Planned(QBOWrite.of("update", unapplied, sparse=False))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            if taken.removal == "delete":
                await forget_deleted()
            elif taken.record_kind is not None and taken.record_id is not None:
                assert isinstance(saved, q.Payment) and saved.Id is not None
                await self._store.save_link(
                    input.company_id,
                    realm,
                    taken.record_kind,
                    taken.record_id,
                    "Payment",
                    saved.Id,
                    saved.SyncToken,
                )
            return outcome(PAST.get(taken.removal, "unapplied"), f"{words} in QuickBooks")

        record = f"{taken.record_kind or 'payment'} {taken.record_id or taken.qbo_id}"
        with qbo_errors(record):
            return await self._write_once(input.company_id, realm, "remove", plan, finish)

    @activity.defn(name="remove_invoice")
    async def remove_invoice(self, input: EndInvoiceInput) -> SyncOutcome:
        """Void or delete the QBO invoice (no payment applies to it any more)."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        done = PAST[input.how]

        def outcome(action: str, message: str) -> SyncOutcome:
            return SyncOutcome(
                action=action, qbo_type="Invoice", qbo_id=input.qbo_id, message=message
            )

        async def plan() -> Planned | SyncOutcome:
            try:
                current = await self._qbo.read(realm, q.Invoice, input.qbo_id)
            except ObjectNotFoundError:
                await self._store.delete_link(input.company_id, realm, "invoice", input.invoice_id)
                return outcome(
                    "unchanged", f"Invoice {input.number} was already deleted in QuickBooks"
                )
            if input.how == "void" and is_voided(current):
                return outcome(
                    "unchanged", f"Invoice {input.number} was already voided in QuickBooks"
                )
            assert current.SyncToken is not None
            return Planned(QBOWrite.on(input.how, q.Invoice, input.qbo_id, current.SyncToken))

        async def finish(saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            if input.how == "delete":
                await self._store.delete_link(input.company_id, realm, "invoice", input.invoice_id)
            else:
                assert isinstance(saved, q.Invoice) and saved.Id is not None
                await self._store.save_link(
                    input.company_id,
                    realm,
                    "invoice",
                    input.invoice_id,
                    "Invoice",
                    saved.Id,
                    saved.SyncToken,
                )
            return outcome(done, f"Invoice {input.number} {done} in QuickBooks")

        with qbo_errors(f"invoice {input.number}"):
            return await self._write_once(input.company_id, realm, input.how, plan, finish)
