"""Reconciliation: what changed in QBO since the last run (CDC), compared with what the service
last wrote there (the links and their SyncTokens), in plain words, with what Skimmer can repair."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ValidationError
from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common import Deps, active_connection, qbo_errors
from activities.invoices import current_sales_lines, line_key, qbo_item_ids, sales_lines
from billing.events import parse_event
from billing.money import format_usd
from billing.snapshots import Customer, Invoice, Payment
from qbo import QBOClient
from qbo import models as q
from store import AcceptedEvent, Link, Store
from store.db import aware

# What the change feed is asked about: everything the service writes.
ENTITIES: dict[str, type[q.QBOModel]] = {
    "Customer": q.Customer,
    "Item": q.Item,
    "Invoice": q.Invoice,
    "Payment": q.Payment,
    "JournalEntry": q.JournalEntry,
    "Deposit": q.Deposit,
    "RefundReceipt": q.RefundReceipt,
}
# QBO's change feed looks back 30 days; a gap longer than this is read record by record.
CDC_LOOKBACK = timedelta(days=29)
# A first run (or one after a long gap) reads at most this many of the latest-written links.
READ_LIMIT = 300
READ_CHUNK = 30
# When QBO's clock is not known, the run is remembered as this much earlier (clock skew).
CLOCK_MARGIN = timedelta(minutes=5)
CDC_PAGE = 1000
# Events whose effect on a customer's balance the check knows; any other keeps it silent.
BALANCE_EVENTS = frozenset(
    {
        "customer.saved",
        "invoice.saved",
        "payment.recorded",
        "payment.deleted",
        "payment.voided",
        "payment.refunded",
        "credit.recorded",
        "credit.applied",
        "credit.refunded",
    }
)

Repair = Literal["none", "recreate_payment", "restore_lines"]


class ReconcileQuery(BaseModel):
    company_id: str


class Difference(BaseModel):
    """One difference between QBO and what the service last wrote, and what is done about it."""

    record_type: str  # the link's record kind: payment, invoice, product, customer, ...
    record_id: str
    qbo_type: str
    qbo_id: str
    message: str  # the difference in plain words, before the repair's outcome
    repair: Repair = "none"
    # Needs a human: nothing the service may change fixes it.
    attention: bool = False
    customer_name: str | None = None
    # The last Skimmer snapshots, for a repair.
    payment: Payment | None = None
    invoice: Invoice | None = None
    customer: Customer | None = None


class Findings(BaseModel):
    differences: list[Difference]
    # Skimmer customers whose QBO balance may have moved: checked after the repairs.
    customer_ids: list[str]
    checked_until: datetime
    mode: Literal["changes", "read"]  # the change feed, or a bounded read of the linked records


class BalanceQuery(BaseModel):
    company_id: str
    customer_ids: list[str]


class ReconciledMark(BaseModel):
    company_id: str
    checked_until: datetime


@dataclass
class Seen:
    """What QBO holds now of the records looked at: changed ones, and ids deleted there."""

    changed: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    deleted: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))


@dataclass(frozen=True)
class RecordedPayment:
    """A payment as its `payment.recorded` event carried it, with its invoice and customer."""

    payment: Payment
    invoice: Invoice
    customer: Customer


@dataclass
class History:
    """The Skimmer snapshots a customer's accepted events carry, latest last."""

    invoices: dict[str, Invoice] = field(default_factory=dict)
    payments: dict[str, RecordedPayment] = field(default_factory=dict)
    voided_payments: set[str] = field(default_factory=set)
    deleted_payments: set[str] = field(default_factory=set)
    credits: dict[str, Decimal] = field(default_factory=dict)
    credit_refunds: dict[str, Decimal] = field(default_factory=dict)
    customer: Customer | None = None
    unknown_types: set[str] = field(default_factory=set)


def history_of(events: Iterable[AcceptedEvent]) -> History:
    """Replay the stored payloads of one lane's events (only their snapshots, nothing else)."""
    found = History()
    for row in events:
        if row.payload is None:
            continue
        try:
            event: Any = parse_event(row.payload)
        except ValidationError:  # accepted under an older contract: its snapshot is not used
            continue
        data = event.data
        if event.type not in BALANCE_EVENTS:
            found.unknown_types.add(event.type)
        if event.type == "customer.saved":
            found.customer = _snapshot(Customer, data.customer)
        if event.type in ("invoice.saved", "payment.recorded", "credit.applied"):
            found.invoices[data.invoice.id] = _snapshot(Invoice, data.invoice)
        if event.type in ("payment.recorded", "credit.applied", "credit.recorded"):
            found.customer = _snapshot(Customer, data.customer)
        if event.type == "payment.recorded":
            found.payments[data.payment.id] = RecordedPayment(
                _snapshot(Payment, data.payment),
                _snapshot(Invoice, data.invoice),
                _snapshot(Customer, data.customer),
            )
        elif event.type == "payment.voided":
            found.voided_payments.add(data.payment_id)
        elif event.type == "payment.deleted":
            found.deleted_payments.add(data.payment_id)
        elif event.type == "credit.recorded":
            found.credits[data.credit.id] = data.credit.amount
        elif event.type == "credit.refunded":
            found.credit_refunds[data.refund.id] = data.refund.amount
    return found


def _snapshot(model: type[Any], record: BaseModel) -> Any:
    # The contract's record → the internal shape workflows carry (same fields, no rules).
    return model.model_validate(record.model_dump())


def _when(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class ReconcileActivities:
    def __init__(self, deps: Deps) -> None:
        self._store: Store = deps.store
        self._qbo: QBOClient = deps.qbo

    @activity.defn(name="find_differences")
    async def find_differences(self, input: ReconcileQuery) -> Findings:
        """Read what changed in QBO since the last run and say how it differs from what the
        service wrote; records that only moved on (a new SyncToken, same content) are relinked."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        since = await self._store.reconciled_until(input.company_id, realm)
        now = datetime.now(UTC)
        with qbo_errors(f"company {input.company_id} reconciliation"):
            if since is not None and since > now - CDC_LOOKBACK:
                seen, checked_until = await self._changes(realm, since, now)
                mode: Literal["changes", "read"] = "changes"
            else:
                seen, checked_until = await self._read_linked(input.company_id, realm), now
                checked_until -= CLOCK_MARGIN
                mode = "read"
            finder = _Finder(self._store, input.company_id, realm, conn.income_account_id)
            await finder.look_at(seen)
        return Findings(
            differences=finder.differences,
            customer_ids=sorted(finder.customer_ids),
            checked_until=checked_until,
            mode=mode,
        )

    async def _changes(self, realm: str, since: datetime, now: datetime) -> tuple[Seen, datetime]:
        change_set = await self._qbo.cdc(realm, list(ENTITIES), since)
        seen = Seen()
        checked_until = _when(change_set.time) or now - CLOCK_MARGIN
        for entity, model in ENTITIES.items():
            rows = change_set.records.get(entity, [])
            for row in rows:
                if row.get("status") == "Deleted":
                    seen.deleted[entity].add(str(row.get("Id")))
                else:
                    seen.changed[entity].append(model.model_validate(row))
            if len(rows) >= CDC_PAGE:
                # The feed stopped at its page size: the next run goes on from the last one seen.
                last = _when(str(rows[-1].get("MetaData", {}).get("LastUpdatedTime", "")))
                if last is not None:
                    checked_until = min(checked_until, last)
        return seen, checked_until

    async def _read_linked(self, company_id: str, realm: str) -> Seen:
        """No change feed to read (a first run, or a gap over 30 days): the latest-written links'
        records, read by id in chunks; a transaction no longer there was deleted."""
        links = await self._store.recent_links(company_id, realm, READ_LIMIT)
        by_type: dict[str, list[str]] = defaultdict(list)
        for link in links:
            if link.qbo_type in ENTITIES:
                by_type[link.qbo_type].append(link.qbo_id)
        seen = Seen()
        for entity, ids in by_type.items():
            model = ENTITIES[entity]
            unique = list(dict.fromkeys(ids))
            for start in range(0, len(unique), READ_CHUNK):
                chunk = unique[start : start + READ_CHUNK]
                listed = ", ".join(f"'{qbo_id}'" for qbo_id in chunk if qbo_id.isdigit())
                rows = await self._qbo.query(
                    realm, model, f"SELECT * FROM {entity} WHERE Id IN ({listed})"
                )
                seen.changed[entity].extend(rows)
                found = {getattr(row, "Id", None) for row in rows}
                # Names (customers, items) are never deleted, only made inactive, which a
                # query may leave out: only transactions count as deleted when missing.
                if entity not in ("Customer", "Item"):
                    seen.deleted[entity].update(i for i in chunk if i not in found)
        return seen

    @activity.defn(name="check_balances")
    async def check_balances(self, input: BalanceQuery) -> list[Difference]:
        """Each customer's QBO balance against the one Skimmer's synced events add up to."""
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        drifted: list[Difference] = []
        with qbo_errors(f"company {input.company_id} reconciliation"):
            for customer_id in input.customer_ids:
                link = await self._store.get_link(input.company_id, realm, "customer", customer_id)
                if link is None:
                    continue
                events = await self._store.lane_events(input.company_id, "customer", customer_id)
                history = history_of(events)
                expected = await self._skimmer_balance(input.company_id, realm, history)
                if expected is None:
                    continue
                current = await self._qbo.read(realm, q.Customer, link.qbo_id)
                in_qbo = current.Balance or Decimal(0)
                if in_qbo == expected:
                    continue
                name = current.DisplayName or (
                    history.customer.display_name if history.customer else customer_id
                )
                drifted.append(
                    Difference(
                        record_type="customer",
                        record_id=customer_id,
                        qbo_type="Customer",
                        qbo_id=link.qbo_id,
                        message=f"Customer {name}: balance {format_usd(in_qbo)} in QuickBooks, "
                        f"{format_usd(expected)} in Skimmer",
                        attention=True,
                        customer_name=name,
                    )
                )
        return drifted

    async def _skimmer_balance(
        self, company_id: str, realm: str, history: History
    ) -> Decimal | None:
        """Invoices synced, less live payments and credits, plus credit refunds; None when the
        customer's events include kinds whose effect this check does not know."""
        if history.unknown_types:
            return None

        async def linked(kind: str, record_id: str) -> bool:
            return await self._store.get_link(company_id, realm, kind, record_id) is not None

        total = Decimal(0)
        for invoice_id, invoice in history.invoices.items():
            if await linked("invoice", invoice_id):
                total += invoice.total
        for payment_id, recorded in history.payments.items():
            live = payment_id not in history.voided_payments | history.deleted_payments
            if live and await linked("payment", payment_id):
                total -= recorded.payment.amount
        for credit_id, amount in history.credits.items():
            if await linked("credit", credit_id):
                total -= amount
        for refund_id, amount in history.credit_refunds.items():
            if await linked("refund", refund_id):
                total += amount
        return total

    @activity.defn(name="mark_reconciled")
    async def mark_reconciled(self, input: ReconciledMark) -> None:
        conn = await active_connection(self._store, input.company_id)
        await self._store.mark_reconciled(
            input.company_id, conn.realm_id, aware(input.checked_until).astimezone(UTC)
        )


class _Finder:
    """Turns what QBO holds now into differences, one per linked record that moved."""

    def __init__(
        self, store: Store, company_id: str, realm: str, income_account_id: str | None
    ) -> None:
        self._store = store
        self._company = company_id
        self._realm = realm
        self._income_account_id = income_account_id
        self._histories: dict[str, History] = {}
        self.differences: list[Difference] = []
        self.customer_ids: set[str] = set()

    async def look_at(self, seen: Seen) -> None:
        for entity in ENTITIES:
            deleted = sorted(seen.deleted.get(entity, set()))
            for link in await self._store.links_to(self._company, self._realm, entity, deleted):
                await self._deleted(link)
            rows = {row.Id: row for row in seen.changed.get(entity, []) if row.Id}
            for link in await self._store.links_to(self._company, self._realm, entity, list(rows)):
                row = rows[link.qbo_id]
                if row.SyncToken != link.sync_token:
                    await self._edited(link, row)

    async def _history(self, kind: str, record_id: str) -> History:
        owners = await self._store.owners(self._company, [(kind, record_id)])
        customer_id = record_id if kind == "customer" else owners.get((kind, record_id))
        if customer_id is None:
            return History()
        self.customer_ids.add(customer_id)
        if customer_id not in self._histories:
            events = await self._store.lane_events(self._company, "customer", customer_id)
            self._histories[customer_id] = history_of(events)
        return self._histories[customer_id]

    def _report(self, link: Link, message: str, **extra: Any) -> None:
        self.differences.append(
            Difference(
                record_type=link.record_kind,
                record_id=link.record_id,
                qbo_type=link.qbo_type,
                qbo_id=link.qbo_id,
                message=message,
                **extra,
            )
        )

    async def _relink(self, link: Link, row: Any) -> None:
        await self._store.save_link(
            self._company,
            self._realm,
            link.record_kind,
            link.record_id,
            link.qbo_type,
            link.qbo_id,
            row.SyncToken,
        )

    async def _deleted(self, link: Link) -> None:
        by_hand = "was deleted in QuickBooks by hand"
        if link.record_kind == "payment":
            history = await self._history("payment", link.record_id)
            recorded = history.payments.get(link.record_id)
            if recorded is None:
                self._report(
                    link,
                    f"Payment {link.record_id} {by_hand}; not recreated: Skimmer's copy of "
                    "it is not stored",
                    attention=True,
                )
                return
            words = (
                f"Payment {format_usd(recorded.payment.amount)} on invoice "
                f"{recorded.invoice.number} {by_hand}"
            )
            if link.record_id in history.voided_payments:
                self._report(link, f"{words}; it is voided in Skimmer, so it stays deleted")
                return
            self._report(
                link,
                words,
                repair="recreate_payment",
                payment=recorded.payment,
                invoice=history.invoices.get(recorded.invoice.id, recorded.invoice),
                customer=history.customer or recorded.customer,
                customer_name=recorded.customer.display_name,
            )
        elif link.record_kind == "invoice":
            history = await self._history("invoice", link.record_id)
            invoice = history.invoices.get(link.record_id)
            number = invoice.number if invoice else link.record_id
            self._report(
                link,
                f"Invoice {number} {by_hand}; it is sent there again with its next payment",
                attention=True,
            )
        else:
            label = {"credit": "Account credit", "refund": "Refund", "payout": "Payout deposit"}
            self._report(
                link,
                f"{label.get(link.record_kind, link.qbo_type)} {link.record_id} {by_hand}; "
                "not recreated: check it in QuickBooks",
                attention=True,
            )

    async def _edited(self, link: Link, row: Any) -> None:
        """A newer SyncToken: someone else (or QBO itself, e.g. a balance) changed the record."""
        if isinstance(row, q.Invoice) and link.record_kind == "invoice":
            history = await self._history("invoice", link.record_id)
            invoice = history.invoices.get(link.record_id)
            if invoice is not None and not await self._same_lines(invoice, row):
                self._report(
                    link,
                    f"Invoice {invoice.number}: its lines were changed in QuickBooks by hand",
                    repair="restore_lines",
                    invoice=invoice,
                )
                return
        elif isinstance(row, q.Payment) and link.record_kind == "payment":
            history = await self._history("payment", link.record_id)
            recorded = history.payments.get(link.record_id)
            voided = link.record_id in history.voided_payments
            if recorded is not None and not voided and row.TotalAmt != recorded.payment.amount:
                self._report(
                    link,
                    f"Payment {format_usd(recorded.payment.amount)} on invoice "
                    f"{recorded.invoice.number}: its amount was changed in QuickBooks to "
                    f"{format_usd(row.TotalAmt or Decimal(0))}; left as it is there",
                    attention=True,
                )
        elif isinstance(row, q.Item):
            name = row.Name or link.record_id
            account = row.IncomeAccountRef.value if row.IncomeAccountRef else None
            if self._income_account_id and account and account != self._income_account_id:
                self._report(
                    link,
                    f"Item {name}: its income account was changed in QuickBooks; left as the "
                    "bookkeeper set it",
                )
            if row.Active is False:
                self._report(
                    link,
                    f"Item {name} was made inactive in QuickBooks; it is made active again "
                    "when Skimmer next sells it",
                )
        elif isinstance(row, q.Customer):
            await self._history("customer", link.record_id)  # its balance is checked
            if row.Active is False:
                self._report(
                    link,
                    f"Customer {row.DisplayName or link.record_id} was made inactive in "
                    "QuickBooks; made active again with their next payment",
                    customer_name=row.DisplayName,
                )
        # What is left is the bookkeeper's or QBO's own: the link follows the new SyncToken.
        await self._relink(link, row)

    async def _same_lines(self, invoice: Invoice, row: q.Invoice) -> bool:
        try:
            item_ids = await qbo_item_ids(self._store, self._company, self._realm, invoice)
        except ApplicationError:  # an item no longer linked: the lines cannot be compared
            return True
        # A taxed invoice is also changed when a line's TAX/NON mark or its total (its tax) is.
        taxed = bool(invoice.taxes)
        codes = ["TAX" if line.taxable else "NON" for line in invoice.lines] if taxed else None
        ours = [line_key(x, taxed) for x in sales_lines(invoice, item_ids, codes)]
        same = ours == [line_key(x, taxed) for x in current_sales_lines(row)]
        return same and (not taxed or row.TotalAmt == invoice.total)
