"""upsert_invoice: Skimmer's invoice in QBO with Skimmer's current lines; and its compensations."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from temporalio import activity

from activities.common import (
    Deps,
    active_connection,
    permanent,
    qbo_errors,
)
from activities.journal import Planned, QBOWrite, write_once
from activities.linking import fingerprint, link_state
from activities.models import (
    DeleteTransactionInput,
    InvoiceResult,
    LinkQuery,
    RestoreInvoiceInput,
    SyncOutcome,
    UpsertInvoiceInput,
)
from activities.sales_tax import SalesTax, invoice_sales_tax, sales_tax_mode
from billing.money import format_usd
from billing.snapshots import Invoice
from qbo import ObjectNotFoundError, StaleObjectError
from qbo import models as q
from qbo.errors import BusinessRuleError
from qbo.models import QBOModel
from store import Link, LinkState, Store
from store.db import aware

RECORD_KIND = "invoice"
UPSERT_STEP = "write"  # upsert_invoice's journal step


async def qbo_item_ids(
    store: Store, company_id: str, realm_id: str, invoice: Invoice
) -> dict[str, str]:
    """QBO item id of every line's item, through the links (items are ensured first)."""
    found: dict[str, str] = {}
    for line in invoice.lines:
        key = f"{line.item_type}/{line.item_id}"
        if key in found:
            continue
        link = await store.get_link(company_id, realm_id, line.item_type, line.item_id)
        if link is None:
            raise permanent(
                f"invoice {invoice.number}: {line.item_type} {line.item_id} is not in QuickBooks "
                "and the event carries no snapshot of it to create it from"
            )
        found[key] = link.qbo_id
    return found


def sales_lines(
    invoice: Invoice, item_ids: dict[str, str], tax_codes: list[str] | None = None
) -> list[q.TxnLine]:
    """The invoice's QBO lines; `tax_codes` (one per line) when the company needs them."""
    codes: list[str | None] = list(tax_codes) if tax_codes else [None] * len(invoice.lines)
    return [
        q.TxnLine(
            Amount=line.amount,
            DetailType="SalesItemLineDetail",
            Description=line.description,
            SalesItemLineDetail=q.SalesDetail(
                ItemRef=q.Ref(value=item_ids[f"{line.item_type}/{line.item_id}"]),
                Qty=line.quantity,
                UnitPrice=line.unit_price,
                TaxCodeRef=q.Ref(value=code) if code else None,
            ),
        )
        for line, code in zip(invoice.lines, codes, strict=True)
    ]


def sales_lines_with(
    invoice: Invoice, item_ids: dict[str, str], taxes: SalesTax | None
) -> list[q.TxnLine]:
    return sales_lines(invoice, item_ids, taxes.line_codes if taxes else None)


def line_key(line: q.TxnLine, with_tax: bool = False) -> tuple[Any, ...]:
    """What makes two lines the same; the tax code counts only for a taxed invoice (QBO marks
    every US line TAX or NON, an untaxed Skimmer invoice sends neither)."""
    detail = line.SalesItemLineDetail
    assert detail is not None
    code = detail.TaxCodeRef.value if with_tax and detail.TaxCodeRef else None
    return (
        detail.ItemRef.value,
        line.Amount,
        detail.Qty,
        detail.UnitPrice,
        line.Description or None,
        code,
    )


def same_tax(current: q.Invoice, invoice: Invoice, detail: q.TaxDetail | None) -> bool:
    """A taxed invoice is unchanged when QBO's total is Skimmer's and it has the same code."""
    if detail is None:
        return True
    if current.TotalAmt != invoice.total:
        return False
    ours = detail.TxnTaxCodeRef.value if detail.TxnTaxCodeRef else None
    theirs = current.TxnTaxDetail.TxnTaxCodeRef if current.TxnTaxDetail else None
    return ours is None or (theirs is not None and theirs.value == ours)


def previous_tax_detail(invoice: q.Invoice) -> dict[str, Any] | None:
    """The code and total tax to send back on a restore: a manual company recomputes from the
    code, an AST company takes the total as its override (the TaxLines QBO fills in again)."""
    if invoice.TxnTaxDetail is None:
        return None
    detail = invoice.TxnTaxDetail
    return q.TaxDetail(TxnTaxCodeRef=detail.TxnTaxCodeRef, TotalTax=detail.TotalTax).body()


def current_sales_lines(invoice: q.Invoice) -> list[q.TxnLine]:
    return [line for line in invoice.Line or [] if line.SalesItemLineDetail is not None]


def invoice_fingerprint(invoice: Invoice, item_ids: dict[str, str], mode: str) -> str:
    """What decides the lines and tax an upsert sends (the tax codes follow from the mode and
    Skimmer's taxes), so an unchanged invoice is known without asking QBO for its codes."""
    return fingerprint(
        "invoice",
        mode,
        [line.body() for line in sales_lines(invoice, item_ids)],
        [line.taxable for line in invoice.lines],
        [tax.model_dump(mode="json") for tax in invoice.taxes],
    )


def invoice_state(saved: q.Invoice) -> dict[str, Any]:
    """What the link keeps of QBO's answer: the balance a payment is checked against, and the
    lines and tax as written, which a failed later update puts back."""
    return {
        "balance": saved.Balance,
        "total": saved.TotalAmt,
        "lines": [line.body() for line in current_sales_lines(saved)],
        "tax": previous_tax_detail(saved),
    }


def known_amount(state: dict[str, Any], key: str) -> Decimal | None:
    value = state.get(key)
    return None if value is None else Decimal(str(value))


def trusted_state(link: Link | None) -> dict[str, Any] | None:
    """The link's state when it says what was last written (an older release kept none)."""
    state = link_state(link)
    if link is None or state is None or not link.fingerprint or not link.sync_token:
        return None
    return state


async def invoice_balance_moved(
    store: Store, company_id: str, realm_id: str, invoice_qbo_id: str, change: Decimal
) -> list[LinkState]:
    """A payment applied (negative) or taken back (positive) moves the invoice's open balance by
    exactly its amount; the stored balance follows, so the next payment is checked without a read.
    The change to write with the payment's own link (none when the link keeps no balance)."""
    link = await store.link_to(company_id, realm_id, "Invoice", invoice_qbo_id)
    state = link_state(link)
    if link is None or state is None or state.get("balance") is None:
        return []
    balance = Decimal(str(state["balance"])) + change
    return [LinkState(link.record_kind, link.record_id, state | {"balance": balance})]


class InvoiceActivities:
    def __init__(self, deps: Deps) -> None:
        self._store = deps.store
        self._qbo = deps.qbo

    @activity.defn(name="upsert_invoice")
    async def upsert_invoice(self, input: UpsertInvoiceInput) -> InvoiceResult:
        invoice = input.invoice
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        tax: SalesTax | None = None
        # Whether the planned update took its Id and SyncToken from the link, not from a read.
        from_link = False

        async def sent_tax() -> SalesTax | None:
            nonlocal tax
            if tax is None:
                tax = await invoice_sales_tax(self._qbo, self._store, conn, invoice)
            return tax

        async def plan() -> Planned | InvoiceResult:
            nonlocal from_link
            from_link = False
            link = await self._store.get_link(input.company_id, realm, RECORD_KIND, invoice.id)
            stored = trusted_state(link)
            if link is not None and stored is not None:
                item_ids = await qbo_item_ids(self._store, input.company_id, realm, invoice)
                mode = await sales_tax_mode(self._qbo, self._store, conn)
                digest = invoice_fingerprint(invoice, item_ids, mode)
                if digest == link.fingerprint:
                    return self._stored_result(input, link.qbo_id, stored)
                assert link.sync_token is not None
                from_link = True
                return await self._update(
                    invoice,
                    link.qbo_id,
                    link.sync_token,
                    sales_lines_with(invoice, item_ids, await sent_tax()),
                    await sent_tax(),
                    stored.get("lines"),
                    stored.get("tax"),
                    digest,
                )
            current: q.Invoice | None = None
            if link is not None:
                try:
                    current = await self._qbo.read(realm, q.Invoice, link.qbo_id)
                except ObjectNotFoundError:
                    await self._store.delete_link(input.company_id, realm, RECORD_KIND, invoice.id)
                    if not input.create_if_missing:
                        raise permanent(
                            f"invoice {invoice.number} was deleted in QuickBooks; it is sent "
                            "there again with its next payment"
                        ) from None
            elif not input.create_if_missing:
                return InvoiceResult(
                    action="skipped",
                    message=f"Invoice {invoice.number} not sent: unpaid invoices stay in Skimmer",
                )
            elif conn.sync_started_at is not None and invoice.created_at < aware(
                conn.sync_started_at
            ):
                return InvoiceResult(
                    action="skipped",
                    message=(
                        f"Invoice {invoice.number} not sent: it was created before QuickBooks "
                        "sync was switched on"
                    ),
                )
            item_ids = await qbo_item_ids(self._store, input.company_id, realm, invoice)
            taxes = await sent_tax()
            digest = invoice_fingerprint(
                invoice, item_ids, await sales_tax_mode(self._qbo, self._store, conn)
            )
            detail = taxes.detail if taxes else None
            lines = sales_lines_with(invoice, item_ids, taxes)
            taxed = taxes is not None
            if current is None:
                if input.customer_qbo_id is None:
                    raise permanent(f"invoice {invoice.number}: its customer is not in QuickBooks")
                created = q.Invoice(
                    CustomerRef=q.Ref(value=input.customer_qbo_id),
                    DocNumber=invoice.number[:21],
                    TxnDate=invoice.issued_on.isoformat(),
                    DueDate=invoice.due_on.isoformat() if invoice.due_on else None,
                    PrivateNote=f"Skimmer invoice {invoice.id}",
                    Line=lines,
                    TxnTaxDetail=detail,
                    GlobalTaxCalculation=taxes.calculation if taxes else None,
                )
                return Planned(
                    QBOWrite.of("create", created),
                    {"action": "created", "fingerprint": digest},
                    request_step="create",
                )
            ours = [line_key(x, taxed) for x in lines]
            if ours == [line_key(x, taxed) for x in current_sales_lines(current)] and same_tax(
                current, invoice, detail
            ):
                return await self._result(input, realm, current, "unchanged", None, None, digest)
            assert current.Id is not None and current.SyncToken is not None
            # The lines before this update: a failed run puts them back, even after a retry.
            return await self._update(
                invoice,
                current.Id,
                current.SyncToken,
                lines,
                taxes,
                [x.body() for x in current_sales_lines(current)],
                previous_tax_detail(current),
                digest,
            )

        async def finish(saved: QBOModel | None, note: dict[str, Any]) -> InvoiceResult:
            assert isinstance(saved, q.Invoice)
            return await self._result(
                input,
                realm,
                saved,
                note["action"],
                note.get("previous"),
                note.get("previous_tax"),
                note.get("fingerprint"),
            )

        async def attempt() -> InvoiceResult:
            try:
                return await write_once(
                    self._store,
                    self._qbo,
                    input.company_id,
                    realm,
                    UPSERT_STEP,
                    plan,
                    finish,
                    InvoiceResult,
                )
            except BusinessRuleError:
                # A 6000 (e.g. "every transaction needs a tax code"): the company's tax
                # settings may have changed since they were read; read them again next time.
                if conn.sales_tax_mode is not None:
                    await self._store.remember_sales_tax_mode(input.company_id, realm, None)
                raise

        with qbo_errors(f"invoice {invoice.number}"):
            try:
                return await attempt()
            except (StaleObjectError, ObjectNotFoundError):
                if not from_link:
                    raise
                # The stored SyncToken is stale (a payment applied to the invoice gives it a
                # new one) or the invoice is gone: read it once, as links without state are.
                await self._store.forget_link_state(
                    input.company_id, realm, RECORD_KIND, invoice.id
                )
                return await attempt()

    async def _update(
        self,
        invoice: Invoice,
        qbo_id: str,
        sync_token: str,
        lines: list[q.TxnLine],
        taxes: SalesTax | None,
        previous: list[dict[str, Any]] | None,
        previous_tax: dict[str, Any] | None,
        digest: str,
    ) -> Planned:
        """A sparse update of the lines and tax; the note keeps what a failed run puts back."""
        update = q.Invoice(
            Id=qbo_id,
            SyncToken=sync_token,
            Line=lines,
            TxnTaxDetail=taxes.detail if taxes else None,
            GlobalTaxCalculation=taxes.calculation if taxes else None,
        )
        note = {
            "action": "updated",
            "previous": previous,
            "previous_tax": previous_tax,
            "fingerprint": digest,
        }
        return Planned(
            QBOWrite.of("update", update), note, request_step=f"update/{qbo_id}/{sync_token}"
        )

    def _stored_result(
        self, input: UpsertInvoiceInput, qbo_id: str, state: dict[str, Any]
    ) -> InvoiceResult:
        """Nothing to send: the link knows the invoice as last written (its balance may be
        unknown, then the payment is checked by QBO alone)."""
        total = known_amount(state, "total")
        return InvoiceResult(
            action="unchanged",
            qbo_id=qbo_id,
            balance=known_amount(state, "balance"),
            total=total,
            message=f"Invoice {input.invoice.number} already matches QuickBooks",
        )

    async def _result(
        self,
        input: UpsertInvoiceInput,
        realm: str,
        saved: q.Invoice,
        action: Literal["created", "updated", "unchanged"],
        previous: list[dict[str, Any]] | None,
        previous_tax: dict[str, Any] | None,
        digest: str | None,
    ) -> InvoiceResult:
        assert saved.Id is not None
        await self._store.save_link(
            input.company_id,
            realm,
            RECORD_KIND,
            input.invoice.id,
            "Invoice",
            saved.Id,
            saved.SyncToken,
            fingerprint=digest,
            state=invoice_state(saved) if digest else None,
        )
        number = input.invoice.number
        total = format_usd(saved.TotalAmt or Decimal(0))
        words = {
            "created": f"Invoice {number} ({total}) created in QuickBooks",
            "updated": f"Invoice {number} updated in QuickBooks (total {total})",
            "unchanged": f"Invoice {number} already matches QuickBooks",
        }
        return InvoiceResult(
            action=action,
            qbo_id=saved.Id,
            balance=saved.Balance,
            total=saved.TotalAmt,
            previous_lines=previous,
            previous_tax=previous_tax,
            message=words[action],
        )

    @activity.defn(name="find_link")
    async def find_link(self, input: LinkQuery) -> str | None:
        """The QBO id a Skimmer record is linked to in the current QBO company, if any."""
        conn = await active_connection(self._store, input.company_id)
        link = await self._store.get_link(
            input.company_id, conn.realm_id, input.record_kind, input.record_id
        )
        return None if link is None else link.qbo_id

    @activity.defn(name="restore_invoice_lines")
    async def restore_invoice_lines(self, input: RestoreInvoiceInput) -> None:
        """Compensation: put back the lines (and the tax) an update of this run replaced."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id

        async def plan() -> Planned:
            current = await self._qbo.read(realm, q.Invoice, input.qbo_id)
            assert current.Id is not None and current.SyncToken is not None
            lines = [q.TxnLine.model_validate(line) for line in input.lines]
            tax = q.TaxDetail.model_validate(input.tax_detail) if input.tax_detail else None
            restored = q.Invoice(
                Id=current.Id, SyncToken=current.SyncToken, Line=lines, TxnTaxDetail=tax
            )
            return Planned(
                QBOWrite.of("update", restored),
                request_step=f"restore/{current.Id}/{current.SyncToken}",
            )

        async def finish(_saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            # The link described the lines this restore replaced: the next event reads QBO.
            await self._store.forget_link_state(
                input.company_id, realm, RECORD_KIND, input.invoice_id
            )
            return SyncOutcome(
                action="restored",
                qbo_type="Invoice",
                qbo_id=input.qbo_id,
                message=f"Invoice {input.qbo_id} lines put back in QuickBooks",
            )

        with qbo_errors(f"invoice {input.invoice_id}"):
            await write_once(
                self._store,
                self._qbo,
                input.company_id,
                realm,
                "restore",
                plan,
                finish,
                SyncOutcome,
            )

    @activity.defn(name="delete_transaction")
    async def delete_transaction(self, input: DeleteTransactionInput) -> SyncOutcome:
        """Compensation: delete a transaction this run created (gone already is fine)."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        model: type[q.Transaction] = getattr(q, input.qbo_type)

        async def removed() -> SyncOutcome:
            await self._store.delete_link(
                input.company_id, realm, input.record_kind, input.record_id
            )
            return SyncOutcome(
                action="deleted",
                qbo_type=input.qbo_type,
                qbo_id=input.qbo_id,
                message=f"{input.qbo_type} {input.qbo_id} removed from QuickBooks",
            )

        async def plan() -> Planned | SyncOutcome:
            try:
                current = await self._qbo.read(realm, model, input.qbo_id)
            except ObjectNotFoundError:
                return await removed()
            assert current.SyncToken is not None
            return Planned(QBOWrite.on("delete", model, input.qbo_id, current.SyncToken))

        async def finish(_saved: QBOModel | None, _note: dict[str, Any]) -> SyncOutcome:
            return await removed()

        with qbo_errors(f"{input.record_kind} {input.record_id}"):
            return await write_once(
                self._store, self._qbo, input.company_id, realm, "delete", plan, finish, SyncOutcome
            )
