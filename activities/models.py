"""Inputs and results of activities (one model each, so they can evolve)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel

from billing.snapshots import Credit, Customer, Invoice, Item, ItemType, Payment, Payout, Refund


class EnsureCustomerInput(BaseModel):
    company_id: str
    customer: Customer
    # Look at the QBO record even if the link says it is as last written (QBO just refused a
    # reference to it: made inactive or changed there by hand).
    recheck: bool = False


class EnsureItemInput(BaseModel):
    company_id: str
    item_type: ItemType
    item: Item
    recheck: bool = False


class SyncedQuery(BaseModel):
    """An event's customer and items, to learn which QBO already holds as last written."""

    company_id: str
    customer: Customer | None = None
    items: list[EnsureItemInput] = []


class SyncOutcome(BaseModel):
    """What a step did in QBO, in the product's words."""

    action: str  # created | updated | linked | unchanged | deleted | voided | skipped | ...
    qbo_type: str
    qbo_id: str
    message: str
    currency: str | None = None  # the QBO record's currency, where it has one
    # The event's closing line is in the activity log already: the activity that finished the
    # event wrote it (`ClosingLine`), so its workflow writes none.
    logged: bool = False


class ClosingLine(BaseModel):
    """Whose closing line an event's last activity writes in the activity log when the event
    ends with it (the workflow then writes none, and saves a local activity); its outcome fills
    in the rest."""

    record_type: str
    record_id: str
    action: str
    event_id: str | None = None
    customer_name: str | None = None

    def after(self, company_id: str, outcome: SyncOutcome) -> ActivityLogInput:
        """The line for `outcome`: deliberately not sent (e.g. an invoice from before the sync
        start) is "skipped", not success."""
        return ActivityLogInput(
            company_id=company_id,
            **self.model_dump(),
            outcome="skipped" if outcome.action == "skipped" else "success",
            message=outcome.message,
            qbo_type=outcome.qbo_type,
            qbo_id=outcome.qbo_id,
        )


class LinkQuery(BaseModel):
    company_id: str
    record_kind: str
    record_id: str


class UpsertInvoiceInput(BaseModel):
    company_id: str
    invoice: Invoice
    customer_qbo_id: str | None = None  # needed only to create it
    # False for a plain invoice save: an invoice that never reached QBO is not sent.
    create_if_missing: bool = True


class InvoiceResult(BaseModel):
    action: Literal["created", "updated", "unchanged", "skipped"]
    qbo_id: str | None = None
    balance: Decimal | None = None
    total: Decimal | None = None
    # QBO's lines before an update, so a failed run can put them back.
    previous_lines: list[dict[str, Any]] | None = None
    message: str
    # QBO's TxnTaxDetail before an update (its code and total tax), put back with the lines.
    previous_tax: dict[str, Any] | None = None


class RestoreInvoiceInput(BaseModel):
    company_id: str
    invoice_id: str
    qbo_id: str
    lines: list[dict[str, Any]]
    # The tax the invoice had before (code and total); absent in runs started before it existed.
    tax_detail: dict[str, Any] | None = None


class DeleteTransactionInput(BaseModel):
    """Undo a transaction this run created (compensation)."""

    company_id: str
    qbo_type: Literal["Invoice", "JournalEntry", "Payment", "RefundReceipt", "Deposit"]
    qbo_id: str
    record_kind: str
    record_id: str


class ApplyPaymentInput(BaseModel):
    company_id: str
    payment: Payment
    invoice_number: str
    invoice_qbo_id: str
    invoice_balance: Decimal | None
    customer_qbo_id: str
    # A reconciliation recreating a payment deleted by hand in QBO: the link to that (deleted)
    # QBO payment does not count as "already in QuickBooks".
    replaces_qbo_id: str | None = None
    # Set: the payment ends its event; once applied, the activity writes the closing line.
    closing: ClosingLine | None = None


class PaymentRefInput(BaseModel):
    company_id: str
    payment_id: str
    invoice_id: str


class RefundPaymentInput(BaseModel):
    company_id: str
    payment_id: str
    refund: Refund


class RecordCreditInput(BaseModel):
    company_id: str
    credit: Credit
    customer_qbo_id: str


class ApplyCreditInput(BaseModel):
    company_id: str
    credit_id: str
    invoice_number: str
    invoice_qbo_id: str
    invoice_balance: Decimal | None
    amount: Decimal


class RefundCreditInput(BaseModel):
    company_id: str
    credit_id: str
    refund: Refund


class ConsumeCreditInput(BaseModel):
    company_id: str
    credit_id: str
    refund: Refund
    journal_entry_qbo_id: str


class PayoutInput(BaseModel):
    company_id: str
    payout: Payout


class PayoutReadiness(BaseModel):
    """Whether a payout's deposit can be made now, must wait, or never can."""

    # Why the payout is not synced at all (payout sync off), if it is not.
    skipped_because: str | None = None
    # "payment pay_1", "refund ref_2": not in QuickBooks yet, but may still arrive.
    waiting_for: list[str] = []
    # Named records that will never be in QuickBooks, each in plain words.
    never: list[str] = []


class DepositResult(SyncOutcome):
    """The payout's deposit; `total` is QBO's TotalAmt of a deposit this run created."""

    total: Decimal | None = None


class ActivityLogInput(BaseModel):
    company_id: str
    record_type: str
    record_id: str
    action: str
    outcome: Literal["success", "failed", "retrying", "skipped", "waiting"]
    message: str
    qbo_type: str | None = None
    qbo_id: str | None = None
    event_id: str | None = None
    # The event's workflow, when the line is written for it by another (its lane).
    workflow_id: str | None = None
    # Shown next to the ids on the activity page, when the workflow has the customer at hand.
    customer_name: str | None = None


class ConnectionQuery(BaseModel):
    company_id: str


class InvoiceRefInput(BaseModel):
    """An invoice Skimmer voided or deleted (`how`)."""

    company_id: str
    invoice_id: str
    how: Literal["void", "delete"]


class InvoicePayment(BaseModel):
    """A QBO payment that applies to an invoice about to be voided or deleted, and its fate."""

    qbo_id: str
    # void/delete: a Skimmer payment of this invoice; unapply: a credit (or a payment made in
    # QuickBooks) that stays on the customer, no longer applied to this invoice.
    removal: Literal["void", "delete", "unapply"]
    record_kind: str | None = None  # payment | credit; None: not made by Skimmer
    record_id: str | None = None
    amount: Decimal  # what it applies to the invoice


class InvoiceRemoval(BaseModel):
    """What voiding or deleting a QBO invoice takes: its payments removed first."""

    action: Literal["remove", "skipped", "unchanged"]
    qbo_id: str = ""
    number: str = ""
    payments: list[InvoicePayment] = []
    message: str = ""


class RemoveInvoicePaymentInput(BaseModel):
    company_id: str
    invoice_id: str
    invoice_qbo_id: str
    payment: InvoicePayment


class EndInvoiceInput(BaseModel):
    """Void or delete the QBO invoice once no payment applies to it."""

    company_id: str
    invoice_id: str
    qbo_id: str
    number: str
    how: Literal["void", "delete"]


class SyncedRecords(BaseModel):
    """Per record of a `SyncedQuery`: the outcome when nothing is to send, else None."""

    customer: SyncOutcome | None = None
    items: list[SyncOutcome | None] = []


class PaidInvoiceInput(BaseModel):
    """A payment with its invoice, customer and the invoice's items (payment.recorded)."""

    company_id: str
    customer: Customer
    items: list[EnsureItemInput]
    invoice: Invoice
    payment: Payment
    # Set: once the payment is applied, the activity writes the event's closing line.
    closing: ClosingLine | None = None


class PaidInvoiceResult(BaseModel):
    """What sync_paid_invoice did: nothing (`invoice` None: a record must be ensured first),
    the invoice only (skipped), or the invoice and the payment."""

    customer: SyncOutcome | None = None
    invoice: InvoiceResult | None = None
    payment: SyncOutcome | None = None
