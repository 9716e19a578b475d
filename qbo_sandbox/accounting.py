"""The books behind the transactions: what pays what, open balances, stock and account balances.

Nothing here keeps a running total. Every figure is worked out again from the stored transactions
after each write (`follow_write`), so a balance can never drift from the records it sums:

- a customer's `Balance` (open A/R) = invoices − credit memos − payments + the net A/R debits of
  journal entries for that customer; how payments are applied only moves money between those;
- an invoice's (or credit memo's) `Balance` = `TotalAmt` − what payment lines apply to it;
- a balance-sheet account's `CurrentBalance` follows from every posting (see `_postings`),
  sales tax to the Sales Tax Payable account.

Stock is the exception: `QtyOnHand` is writable on the item, so sales move it by difference.
"""

from __future__ import annotations

import copy
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from qbo_sandbox import clock
from qbo_sandbox.realms import Realm, Record

CENT = Decimal("0.01")
ZERO = Decimal("0")

PAYABLE_TYPES = ("Invoice", "CreditMemo", "JournalEntry")
"""The transaction types a payment line may link."""
RECEIVABLE_FORMS = ("Invoice", "CreditMemo")
"""Transactions whose `Balance` payments consume."""
STOCK_DIRECTION = {"Invoice": -1, "CreditMemo": 1, "RefundReceipt": 1}
"""How each sales form moves an inventory item's QtyOnHand (returns come back into stock)."""
DEPOSITABLE_TYPES = ("Payment", "RefundReceipt")
"""What a deposit line may link: money that went through Undeposited Funds (a refund paid out of
it is deposited as a negative line)."""
RECEIVABLE = "Accounts Receivable"
UNDEPOSITED_FUNDS = "UndepositedFunds"
SALES_TAX_PAYABLE = "SalesTaxPayable"


def money(value: Decimal) -> Decimal:
    """Rounded to the cent, halves away from zero (as QBO rounds Qty × UnitPrice)."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def ref_id(holder: Record, element: str) -> str | None:
    reference = holder.get(element)
    if isinstance(reference, dict) and reference.get("value") not in (None, ""):
        return str(reference["value"])
    return None


def touched(record: Record) -> Record:
    """A copy with the next SyncToken and a new LastUpdatedTime: the record really changed."""
    changed = copy.deepcopy(record)
    changed["SyncToken"] = str(int(record["SyncToken"]) + 1)
    changed["MetaData"] = dict(record.get("MetaData") or {}) | {
        "LastUpdatedTime": clock.metadata_timestamp(clock.now())
    }
    return changed


# --- accounts ---------------------------------------------------------------------------------


def receivable_account_ids(realm: Realm) -> set[str]:
    return {
        account_id
        for account_id, account in realm.table("Account").items()
        if account.get("AccountType") == RECEIVABLE
    }


def default_receivable_account(realm: Realm) -> str | None:
    """The A/R account invoices, credit memos and payments post to (the first active one)."""
    candidates = [
        account
        for account in realm.table("Account").values()
        if account.get("AccountType") == RECEIVABLE and account.get("Active") is not False
    ]
    candidates.sort(key=lambda account: int(account["Id"]))
    return str(candidates[0]["Id"]) if candidates else None


def undeposited_funds(realm: Realm) -> Record | None:
    """The active Undeposited Funds account, where payments wait for a deposit by default."""
    for account in sorted(realm.table("Account").values(), key=lambda a: int(a["Id"])):
        if (
            account.get("AccountSubType") == UNDEPOSITED_FUNDS
            and account.get("Active") is not False
        ):
            return account
    return None


def sales_tax_payable(realm: Realm) -> str | None:
    """The liability account every tax agency's sales tax posts to (the first active one)."""
    for account in sorted(realm.table("Account").values(), key=lambda a: int(a["Id"])):
        if (
            account.get("AccountSubType") == SALES_TAX_PAYABLE
            and account.get("Active") is not False
        ):
            return str(account["Id"])
    return None


# --- payments, credits, deposits --------------------------------------------------------------


def payment_links(payment: Record) -> Iterator[tuple[str, str, Decimal]]:
    """(TxnType, TxnId, Amount) for each line of a stored (normalized) payment."""
    for line in payment.get("Line") or []:
        linked = line.get("LinkedTxn") or []
        if linked:
            yield str(linked[0]["TxnType"]), str(linked[0]["TxnId"]), line["Amount"]


def deposit_links(deposit: Record) -> Iterator[tuple[tuple[str, str], Decimal]]:
    """((TxnType, TxnId), Amount) for each line of a stored deposit that deposits a payment or a
    refund receipt."""
    for line in deposit.get("Line") or []:
        for linked in line.get("LinkedTxn") or []:
            if linked.get("TxnType") in DEPOSITABLE_TYPES:
                yield (str(linked["TxnType"]), str(linked["TxnId"])), line["Amount"]


@dataclass
class Books:
    """Who applied what to which transaction, and which payments sit in which deposit."""

    applied: dict[tuple[str, str], Decimal] = field(default_factory=lambda: defaultdict(Decimal))
    """(TxnType, TxnId) → the amount payment lines apply to it."""
    applied_by_customer: dict[tuple[str, str, str], Decimal] = field(
        default_factory=lambda: defaultdict(Decimal)
    )
    """(TxnType, TxnId, paying customer Id) → amount (journal entries hold several customers)."""
    payers: dict[tuple[str, str], list[str]] = field(default_factory=lambda: defaultdict(list))
    """(TxnType, TxnId) → Ids of the payments applying a non-zero amount to it."""
    deposited_in: dict[tuple[str, str], str] = field(default_factory=dict)
    """(TxnType, TxnId) of a deposited payment or refund receipt → the Id of its deposit."""

    @classmethod
    def of(cls, realm: Realm, without: tuple[str, str] | None = None) -> Books:
        """The books of every stored payment and deposit, except `without` (entity, Id)."""
        books = cls()
        for payment_id, payment in realm.table("Payment").items():
            if without == ("Payment", payment_id):
                continue
            customer_id = ref_id(payment, "CustomerRef") or ""
            for txn_type, txn_id, amount in payment_links(payment):
                books.applied[(txn_type, txn_id)] += amount
                books.applied_by_customer[(txn_type, txn_id, customer_id)] += amount
                if amount and payment_id not in books.payers[(txn_type, txn_id)]:
                    books.payers[(txn_type, txn_id)].append(payment_id)
        for deposit_id, deposit in realm.table("Deposit").items():
            if without == ("Deposit", deposit_id):
                continue
            for key, _ in deposit_links(deposit):
                books.deposited_in[key] = deposit_id
        return books


def journal_receivables(realm: Realm, entry: Record) -> dict[str, Decimal]:
    """Customer Id → the entry's net A/R debit (positive: a charge) or credit (negative)."""
    receivables = receivable_account_ids(realm)
    net: dict[str, Decimal] = defaultdict(Decimal)
    for line in entry.get("Line") or []:
        detail = line.get("JournalEntryLineDetail") or {}
        if ref_id(detail, "AccountRef") not in receivables:
            continue
        customer_id = ref_id(detail.get("Entity") or {}, "EntityRef")
        if customer_id is not None:
            sign = 1 if detail.get("PostingType") == "Debit" else -1
            net[customer_id] += sign * line["Amount"]
    return dict(net)


def open_to_apply(
    realm: Realm, books: Books, txn_type: str, target: Record, customer_id: str
) -> Decimal:
    """What payment lines may still apply to `target` for this customer (≥ 0 unless overpaid)."""
    key = (txn_type, str(target["Id"]))
    if txn_type == "JournalEntry":
        net = journal_receivables(realm, target).get(customer_id, ZERO)
        return abs(net) - books.applied_by_customer[(*key, customer_id)]
    return Decimal(target.get("TotalAmt", ZERO)) - books.applied[key]


def receivable_fields(entity: str, record: Record, books: Books) -> Record:
    """The derived `Balance` (and `RemainingCredit`) and payment `LinkedTxn` of an invoice or
    credit memo (a new record, without Id yet, has nothing applied)."""
    key = (entity, str(record.get("Id", "")))
    balance = money(Decimal(record.get("TotalAmt", ZERO)) - books.applied.get(key, ZERO))
    links = [
        {"TxnId": payment_id, "TxnType": "Payment"} for payment_id in books.payers.get(key, [])
    ]
    derived: Record = {"Balance": balance, "LinkedTxn": links}
    if entity == "CreditMemo":
        derived["RemainingCredit"] = balance
    return derived


# --- stock ------------------------------------------------------------------------------------


def stock_moves(realm: Realm, entity: str, record: Record | None) -> dict[str, Decimal]:
    """Item Id → how much this transaction moves its QtyOnHand (a line without Qty moves one)."""
    direction = STOCK_DIRECTION.get(entity)
    if direction is None or record is None or (entity, record.get("Id")) in realm.voided:
        return {}
    moves: dict[str, Decimal] = defaultdict(Decimal)
    for line in record.get("Line") or []:
        detail = line.get("SalesItemLineDetail")
        if line.get("DetailType") != "SalesItemLineDetail" or not isinstance(detail, dict):
            continue
        item_id = ref_id(detail, "ItemRef")
        if item_id is not None:
            moves[item_id] += direction * Decimal(detail.get("Qty", 1))
    return dict(moves)


def _move_stock(realm: Realm, before: dict[str, Decimal], after: dict[str, Decimal]) -> None:
    items = realm.table("Item")
    for item_id in set(before) | set(after):
        item = items.get(item_id)
        if item is None or item.get("Type") != "Inventory" or item.get("TrackQtyOnHand") is False:
            continue
        delta = after.get(item_id, ZERO) - before.get(item_id, ZERO)
        if delta:
            item["QtyOnHand"] = Decimal(item.get("QtyOnHand", ZERO)) + delta


# --- after every write ------------------------------------------------------------------------


def follow_write(
    realm: Realm, entity: str, stock_before: dict[str, Decimal], after: Record | None
) -> None:
    """Bring every derived figure up to date once a write is stored (`after` None: deleted).

    Invoices and credit memos whose Balance or payment links change get a new SyncToken (they
    are different records now); customer and account balances and QtyOnHand are aggregates and
    change without one.
    """
    _move_stock(realm, stock_before, stock_moves(realm, entity, after))
    books = Books.of(realm)
    for form in RECEIVABLE_FORMS:
        table = realm.table(form)
        for record_id, record in list(table.items()):
            derived = receivable_fields(form, record, books)
            if any(record.get(key) != value for key, value in derived.items()):
                table[record_id] = touched(record | derived)
    _refresh_customers(realm)
    _refresh_accounts(realm)


def customer_balances(realm: Realm) -> dict[str, Decimal]:
    """Customer Id → open A/R, from transaction totals (how payments are applied moves nothing)."""
    balances: dict[str, Decimal] = defaultdict(Decimal)
    for entity, sign in (("Invoice", 1), ("CreditMemo", -1), ("Payment", -1)):
        for record in realm.table(entity).values():
            customer_id = ref_id(record, "CustomerRef")
            if customer_id is not None:
                balances[customer_id] += sign * Decimal(record.get("TotalAmt", ZERO))
    for entry in realm.table("JournalEntry").values():
        for customer_id, net in journal_receivables(realm, entry).items():
            balances[customer_id] += net
    return balances


def _refresh_customers(realm: Realm) -> None:
    customers = realm.table("Customer")
    own = customer_balances(realm)
    children: dict[str, list[str]] = defaultdict(list)
    for customer_id, customer in customers.items():
        parent_id = ref_id(customer, "ParentRef")
        if parent_id is not None:
            children[parent_id].append(customer_id)

    def with_jobs(customer_id: str, seen: frozenset[str]) -> Decimal:
        total = own.get(customer_id, ZERO)
        for child in children.get(customer_id, []):
            if child not in seen:
                total += with_jobs(child, seen | {child})
        return total

    for customer_id, customer in customers.items():
        customer["Balance"] = money(own.get(customer_id, ZERO))
        customer["BalanceWithJobs"] = money(with_jobs(customer_id, frozenset({customer_id})))


def _postings(realm: Realm) -> dict[str, Decimal]:
    """Account Id → debits − credits over every transaction (inventory cost is not posted)."""
    totals: dict[str, Decimal] = defaultdict(Decimal)
    receivable = default_receivable_account(realm)
    tax_payable = sales_tax_payable(realm)
    items = realm.table("Item")

    def post(account_id: str | None, amount: Decimal) -> None:
        if account_id is not None:
            totals[account_id] += amount

    def post_sales_lines(record: Record, sign: int) -> None:
        for line in record.get("Line") or []:
            detail = line.get("SalesItemLineDetail")
            if line.get("DetailType") == "SalesItemLineDetail" and isinstance(detail, dict):
                item = items.get(ref_id(detail, "ItemRef") or "")
                post(ref_id(item, "IncomeAccountRef") if item else None, sign * line["Amount"])
        # Sales tax collected is owed to the agency: a credit on an invoice, a debit on returns.
        post(tax_payable, sign * Decimal((record.get("TxnTaxDetail") or {}).get("TotalTax", ZERO)))

    for invoice in realm.table("Invoice").values():
        post(receivable, invoice["TotalAmt"])
        post_sales_lines(invoice, -1)
    for memo in realm.table("CreditMemo").values():
        post(receivable, -memo["TotalAmt"])
        post_sales_lines(memo, 1)
    for refund in realm.table("RefundReceipt").values():
        post(ref_id(refund, "DepositToAccountRef"), -refund["TotalAmt"])
        post_sales_lines(refund, 1)
    for payment in realm.table("Payment").values():
        post(ref_id(payment, "DepositToAccountRef"), payment["TotalAmt"])
        post(receivable, -payment["TotalAmt"])
    for entry in realm.table("JournalEntry").values():
        for line in entry.get("Line") or []:
            detail = line.get("JournalEntryLineDetail") or {}
            sign = 1 if detail.get("PostingType") == "Debit" else -1
            post(ref_id(detail, "AccountRef"), sign * line["Amount"])
    for deposit in realm.table("Deposit").values():
        post(ref_id(deposit, "DepositToAccountRef"), deposit["TotalAmt"])
        for (txn_type, txn_id), amount in deposit_links(deposit):
            deposited = realm.table(txn_type).get(txn_id)
            post(ref_id(deposited, "DepositToAccountRef") if deposited else None, -amount)
        for line in deposit.get("Line") or []:
            if not line.get("LinkedTxn"):
                post(ref_id(line.get("DepositLineDetail") or {}, "AccountRef"), -line["Amount"])
    return totals


BALANCE_SIGN = {"Asset": 1, "Liability": -1, "Equity": -1}
"""Balance-sheet accounts show debit balances (assets) or credit balances; income and expense
accounts show 0, as QBO's account list does."""


def _refresh_accounts(realm: Realm) -> None:
    accounts = realm.table("Account")
    postings = _postings(realm)
    own: dict[str, Decimal] = {}
    children: dict[str, list[str]] = defaultdict(list)
    for account_id, account in accounts.items():
        sign = BALANCE_SIGN.get(str(account.get("Classification")), 0)
        own[account_id] = money(sign * postings.get(account_id, ZERO))
        parent_id = ref_id(account, "ParentRef")
        if parent_id is not None:
            children[parent_id].append(account_id)

    def with_subaccounts(account_id: str, seen: frozenset[str]) -> Decimal:
        total = own.get(account_id, ZERO)
        for child in children.get(account_id, []):
            if child not in seen:
                total += with_subaccounts(child, seen | {child})
        return total

    for account_id, account in accounts.items():
        account["CurrentBalance"] = own[account_id]
        account["CurrentBalanceWithSubAccounts"] = with_subaccounts(
            account_id, frozenset({account_id})
        )
