"""sync_paid_invoice: a payment on an invoice whose customer and items QBO already holds as last
written, in one activity: the invoice created or updated, then the payment applied.

Most payments are for known customers buying known items; one activity instead of four (the
ensures, the invoice, the payment) saves the event three trips through Temporal. Each QBO write
still goes through the journal under its own step, so a retry repeats neither. When a record
must be ensured first, it writes nothing and says so; the workflow then takes the long way.
"""

from __future__ import annotations

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common import Deps, active_connection, part, permanent, request_id
from activities.heartbeat import report_progress
from activities.invoices import UPSERT_STEP, InvoiceActivities
from activities.models import (
    ApplyPaymentInput,
    InvoiceResult,
    PaidInvoiceInput,
    PaidInvoiceResult,
    SyncedQuery,
    SyncOutcome,
    UpsertInvoiceInput,
)
from activities.payments import APPLY_STEP, PaymentActivities
from activities.synced import synced_links, synced_records
from workflows.checks import currency_problem


class PaidInvoiceActivities:
    def __init__(self, deps: Deps) -> None:
        self._store = deps.store
        self._invoices = InvoiceActivities(deps)
        self._payments = PaymentActivities(deps)

    @activity.defn(name="sync_paid_invoice")
    async def sync_paid_invoice(self, input: PaidInvoiceInput) -> PaidInvoiceResult:
        payment = input.payment
        query = SyncedQuery(company_id=input.company_id, customer=input.customer, items=input.items)
        also = [("invoice", input.invoice.id), ("payment", payment.id)]
        # The connection, every link the steps below look at and their journal entries, in one
        # read.
        await self._store.read_ahead(
            input.company_id, synced_links(query, also), [key for _, key in journal_keys()]
        )
        realm = (await active_connection(self._store, input.company_id)).realm_id
        synced = await synced_records(self._store, realm, query, also)
        customer = synced.customer
        if customer is None or any(item is None for item in synced.items):
            # A retry after a write was sent goes on with it (another lane may have changed a
            # shared item meanwhile); otherwise nothing was written: the long way ensures them.
            customer = await self._begun(input, realm)
            if customer is None:
                return PaidInvoiceResult()
        elif problem := currency_problem(
            f"payment {payment.id}", payment.currency, customer.currency
        ):
            raise permanent(problem)
        with part("invoice"):
            invoice = await self._invoices.upsert_invoice(
                UpsertInvoiceInput(
                    company_id=input.company_id,
                    invoice=input.invoice,
                    customer_qbo_id=customer.qbo_id,
                    create_if_missing=True,
                )
            )
        if invoice.action == "skipped" or invoice.qbo_id is None:
            return PaidInvoiceResult(customer=customer, invoice=invoice)
        # What the invoice step did, for the saga should the activity time out from here on.
        report_progress(invoice)
        try:
            with part("payment"):
                applied = await self._payments.apply_payment(
                    ApplyPaymentInput(
                        company_id=input.company_id,
                        payment=payment,
                        invoice_number=input.invoice.number,
                        invoice_qbo_id=invoice.qbo_id,
                        invoice_balance=invoice.balance,
                        customer_qbo_id=customer.qbo_id,
                        closing=input.closing,  # the event ends with the payment
                    )
                )
        except ApplicationError as err:
            raise with_invoice(err, invoice) from err
        return PaidInvoiceResult(customer=customer, invoice=invoice, payment=applied)

    async def _begun(self, input: PaidInvoiceInput, realm: str) -> SyncOutcome | None:
        """The customer as linked, when an earlier attempt of this activity already sent a QBO
        write (the invoice or the payment); None when none did."""
        for _, key in journal_keys():
            if await self._store.get_journaled_write(realm, key) is not None:
                link = await self._store.get_link(
                    input.company_id, realm, "customer", input.customer.id
                )
                assert link is not None, "a write was sent for a customer with no link"
                return SyncOutcome(
                    action="linked", qbo_type="Customer", qbo_id=link.qbo_id, message=""
                )
        return None


def journal_keys() -> list[tuple[str, str]]:
    """The journal keys of the activity's two QBO writes: (part, key) for the invoice, the
    payment."""
    keys = []
    for name, step in (("invoice", UPSERT_STEP), ("payment", APPLY_STEP)):
        with part(name):
            keys.append((name, request_id(step)))
    return keys


def with_invoice(err: ApplicationError, invoice: InvoiceResult) -> ApplicationError:
    """The payment step's failure, carrying what the invoice step did (the saga undoes it)."""
    return ApplicationError(
        err.message,
        invoice,
        type=err.type,
        non_retryable=err.non_retryable,
        next_retry_delay=err.next_retry_delay,
    )
