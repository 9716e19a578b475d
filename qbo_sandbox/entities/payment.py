"""Payment: money received from a customer, applied to invoices (and consuming credits).

Lines `{"Amount", "LinkedTxn":[{"TxnId","TxnType"}]}` link an Invoice, a CreditMemo or a
JournalEntry of the same customer. A charge (invoice, journal entry debiting A/R) is paid by the
line; a credit (credit memo, journal entry crediting A/R) is consumed by it and counts against
the charges, as in QBO: `UnappliedAmt = TotalAmt − (charges paid − credits used)` ≥ 0. What is
not applied stays on the customer's account as a credit.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.accounting import (
    PAYABLE_TYPES,
    ZERO,
    Books,
    journal_receivables,
    money,
    open_to_apply,
    ref_id,
    undeposited_funds,
)
from qbo_sandbox.entities.deposit import check_deposited_change, refuse_if_deposited
from qbo_sandbox.entities.schema import BOOLEAN, NUMBER, OBJECT, REFERENCE, Field, Kind
from qbo_sandbox.entities.transactions import (
    TXN_FIELDS,
    TransactionRules,
    line_fields,
    line_list,
    require_account_type,
    required_amount,
    resolve_account,
    resolve_customer,
    voided_note,
)
from qbo_sandbox.realms import Realm, Record

DEPOSIT_TO_TYPES = ("Bank", "Other Current Asset")
PAYMENT_LINE_KEYS = frozenset({"Amount", "LinkedTxn", "LineEx", "Id", "LineNum", "Description"})


class PaymentRules(TransactionRules):
    name = "Payment"
    writable: ClassVar[Mapping[str, Field]] = {
        **TXN_FIELDS,
        "CustomerRef": REFERENCE,
        "TotalAmt": NUMBER,
        "PaymentRefNum": Field(Kind.STRING, max_length=21),
        "PaymentMethodRef": REFERENCE,
        "DepositToAccountRef": REFERENCE,
        "ARAccountRef": REFERENCE,
        "ProcessPayment": BOOLEAN,
        "CreditCardPayment": OBJECT,
    }
    read_only: ClassVar[Mapping[str, Field]] = {"UnappliedAmt": NUMBER}
    void_style = "include"

    def validate(self, realm: Realm, record: Record) -> None:
        customer = resolve_customer(realm, record)
        if record.get("TotalAmt") is None:
            raise faults.required_param_missing("TotalAmt")
        total = money(record["TotalAmt"])
        if total < ZERO:
            raise faults.business_validation(f"A payment amount can't be negative: {total}.")
        record["TotalAmt"] = total
        self._check_deposit_account(realm, record)
        lines = self._lines(record)
        if lines:
            record["Line"] = lines
        else:
            record.pop("Line", None)  # no lines: the whole payment is an unapplied credit
        own_id = record.get("Id")
        books = Books.of(realm, without=("Payment", own_id) if own_id else None)
        applied = self._check_applications(realm, books, lines, customer["Id"])
        if applied > total:
            raise faults.business_validation(
                f"The payment lines apply {applied}, more than the payment's TotalAmt {total}."
            )
        record["UnappliedAmt"] = money(total - applied)
        if own_id is not None:
            check_deposited_change(realm, books, self.name, record)

    def _check_deposit_account(self, realm: Realm, record: Record) -> None:
        if not record.get("DepositToAccountRef"):
            funds = undeposited_funds(realm)
            if funds is None:
                raise faults.required_param_missing("DepositToAccountRef")
            record["DepositToAccountRef"] = {"value": funds["Id"]}
        account = resolve_account(realm, record, "DepositToAccountRef")
        require_account_type(account, DEPOSIT_TO_TYPES, "A payment's DepositToAccountRef")

    def _lines(self, record: Record) -> list[Record]:
        if not record.get("Line"):
            return []
        lines: list[Record] = []
        for line in line_list(self.name, record):
            line = line_fields(self.name, line, PAYMENT_LINE_KEYS)
            amount = required_amount(self.name, line)
            if amount < ZERO:
                raise faults.business_validation(f"A payment line can't be negative: {amount}.")
            linked = line.get("LinkedTxn")
            if not linked:
                raise faults.required_param_missing("Line.LinkedTxn")
            if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], dict):
                problem = "LinkedTxn must hold exactly one {TxnId, TxnType}"
                raise faults.unsupported_property(self.name, "LinkedTxn", problem)
            link = linked[0]
            txn_type = link.get("TxnType")
            if not link.get("TxnId") or not txn_type:
                raise faults.required_param_missing("LinkedTxn.TxnId" if txn_type else "TxnType")
            if txn_type not in PAYABLE_TYPES:
                raise faults.business_validation(
                    f"A payment line can link an Invoice, CreditMemo or JournalEntry, "
                    f"not {txn_type}."
                )
            txn_id = str(link["TxnId"]).strip()
            if not txn_id.isdigit():
                raise faults.invalid_id(link["TxnId"], "TxnId")
            link = link | {"TxnId": str(int(txn_id)), "TxnType": txn_type}
            lines.append(line | {"Amount": amount, "LinkedTxn": [link]})
        return lines

    def _check_applications(
        self, realm: Realm, books: Books, lines: list[Record], customer_id: str
    ) -> Decimal:
        """Every link checked before anything changes; returns charges paid − credits used."""
        per_target: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
        for line in lines:
            link = line["LinkedTxn"][0]
            per_target[(link["TxnType"], link["TxnId"])] += line["Amount"]
        applied = ZERO
        for (txn_type, txn_id), amount in per_target.items():
            target = realm.table(txn_type).get(txn_id)
            if target is None:
                raise faults.invalid_reference("LinkedTxn", txn_type, txn_id, inactive=False)
            is_charge = self._check_target(realm, txn_type, target, customer_id)
            still_open = open_to_apply(realm, books, txn_type, target, customer_id)
            if amount > still_open:
                raise faults.business_validation(
                    f"The payment applies {amount} to {txn_type} {txn_id}, but only {still_open} "
                    f"of it is open{' to credit' if not is_charge else ''}. A payment line can't "
                    "exceed the open balance."
                )
            applied += amount if is_charge else -amount
        if applied < ZERO:
            raise faults.business_validation(
                f"The credits used ({-applied} more than the charges paid) exceed what this "
                "payment pays: a payment can use credits only against charges it pays."
            )
        return applied

    def _check_target(self, realm: Realm, txn_type: str, target: Record, customer_id: str) -> bool:
        """Whether the linked transaction is a charge (else a credit) of this customer."""
        if txn_type == "JournalEntry":
            net = journal_receivables(realm, target).get(customer_id, ZERO)
            if not net:
                raise faults.business_validation(
                    f"JournalEntry {target['Id']} has no Accounts Receivable line for "
                    f"customer {customer_id}."
                )
            return net > ZERO
        if ref_id(target, "CustomerRef") != customer_id:
            raise faults.business_validation(
                f"{txn_type} {target['Id']} belongs to customer {ref_id(target, 'CustomerRef')}, "
                f"not to this payment's customer {customer_id}."
            )
        return txn_type == "Invoice"

    def check_delete(self, realm: Realm, record: Record) -> None:
        refuse_if_deposited(realm, self.name, record, "deleted")

    def voided(self, realm: Realm, record: Record) -> Record:
        refuse_if_deposited(realm, self.name, record, "voided")
        record["Line"] = [line | {"Amount": ZERO} for line in record.get("Line") or []]
        record["TotalAmt"] = ZERO
        record["UnappliedAmt"] = ZERO
        record["PrivateNote"] = voided_note(record)
        return record
