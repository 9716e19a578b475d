"""JournalEntry: balanced debits and credits to accounts. Lines on Accounts Receivable name a
customer and move that customer's Balance: a debit is a charge a payment can pay, a credit is a
credit a payment can use.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.accounting import RECEIVABLE, ZERO, Books, journal_receivables
from qbo_sandbox.entities.schema import BOOLEAN, NUMBER, OBJECT, Field, Kind
from qbo_sandbox.entities.transactions import (
    TXN_FIELDS,
    TransactionRules,
    line_fields,
    line_list,
    number_lines,
    object_value,
    required_amount,
    resolve_account,
    resolve_customer,
)
from qbo_sandbox.realms import Realm, Record

POSTING_TYPES = ("Debit", "Credit")
JOURNAL_LINE_KEYS = frozenset(
    {"Id", "LineNum", "Description", "Amount", "DetailType", "JournalEntryLineDetail", "LineEx"}
)


class JournalEntryRules(TransactionRules):
    name = "JournalEntry"
    writable: ClassVar[Mapping[str, Field]] = {
        **TXN_FIELDS,
        "DocNumber": Field(Kind.STRING, max_length=21),
        "Adjustment": BOOLEAN,
        "TxnTaxDetail": OBJECT,
    }
    read_only: ClassVar[Mapping[str, Field]] = {"TotalAmt": NUMBER, "HomeTotalAmt": NUMBER}

    def validate(self, realm: Realm, record: Record) -> None:
        lines = [self._line(realm, line) for line in line_list(self.name, record)]
        totals = {posting: ZERO for posting in POSTING_TYPES}
        for line in lines:
            totals[line["JournalEntryLineDetail"]["PostingType"]] += line["Amount"]
        if totals["Debit"] != totals["Credit"]:
            raise faults.business_validation(
                f"The journal entry is out of balance: debits total {totals['Debit']} and "
                f"credits total {totals['Credit']}. Debits and credits must be equal."
            )
        record["Line"] = number_lines(lines, first_id=0, line_nums=False)
        record["TotalAmt"] = totals["Debit"]
        if record.get("Id") is not None:
            self._check_applied(realm, record)

    def _line(self, realm: Realm, line: Record) -> Record:
        line = line_fields(self.name, line, JOURNAL_LINE_KEYS)
        detail_type = line.get("DetailType")
        if not detail_type:
            raise faults.required_param_missing("Line.DetailType")
        if detail_type != "JournalEntryLineDetail":
            problem = f'DetailType "{detail_type}" is not supported on JournalEntry lines'
            raise faults.unsupported_property(self.name, "DetailType", problem)
        amount = required_amount(self.name, line)
        if amount < ZERO:
            raise faults.business_validation(
                f"A journal entry line can't be negative ({amount}): use the other PostingType."
            )
        detail = dict(object_value(self.name, line, "JournalEntryLineDetail"))
        posting = detail.get("PostingType")
        if not posting:
            raise faults.required_param_missing("PostingType")
        if posting not in POSTING_TYPES:
            problem = f'Cannot deserialize value "{posting}": not one of Debit, Credit'
            raise faults.unsupported_property(self.name, "PostingType", problem)
        account = resolve_account(realm, detail, "AccountRef")
        entity = object_value(self.name, detail, "Entity", required=False)
        if entity:
            entity = dict(entity)
            if entity.get("Type") == "Customer":
                resolve_customer(realm, entity, "EntityRef")
            detail["Entity"] = entity
        if account.get("AccountType") == RECEIVABLE and entity.get("Type") != "Customer":
            raise faults.business_validation(
                "When you use Accounts Receivable, you must choose a customer in the Name "
                'field: the line needs "Entity": {"Type": "Customer", "EntityRef": {...}}.'
            )
        return line | {"Amount": amount, "JournalEntryLineDetail": detail}

    def _check_applied(self, realm: Realm, record: Record) -> None:
        """Payments that use this entry's A/R lines keep their footing: same direction, and no
        less than they apply."""
        books = Books.of(realm)
        before = journal_receivables(realm, realm.table(self.name)[record["Id"]])
        after = journal_receivables(realm, record)
        for (txn_type, txn_id, customer_id), amount in books.applied_by_customer.items():
            if txn_type != self.name or txn_id != record["Id"] or not amount:
                continue
            old, new = before.get(customer_id, ZERO), after.get(customer_id, ZERO)
            if (old > ZERO) != (new > ZERO) or abs(new) < amount:
                raise faults.business_validation(
                    f"Payments apply {amount} to this journal entry's Accounts Receivable line "
                    f"for customer {customer_id}; the change would leave {abs(new)}. Change "
                    "the payments first."
                )

    def complete(self, realm: Realm, record: Record) -> None:
        super().complete(realm, record)
        record.setdefault("Adjustment", False)

    def check_delete(self, realm: Realm, record: Record) -> None:
        payers = Books.of(realm).payers.get((self.name, record["Id"]), [])
        if payers:
            raise faults.business_validation(
                f"JournalEntry {record['Id']} is used by Payment {', '.join(payers)}: "
                "delete or void the payments first."
            )
