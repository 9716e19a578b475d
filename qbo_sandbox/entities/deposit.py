"""Deposit: money put into a bank account. Lines either deposit what waits in Undeposited Funds
(`LinkedTxn` to a Payment, or to a RefundReceipt paid out of Undeposited Funds as a negative line)
or post an amount to any account (`DepositLineDetail`; a negative line is a fee). Deleting the
deposit puts its payments and refunds back in Undeposited Funds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.accounting import (
    DEPOSITABLE_TYPES,
    UNDEPOSITED_FUNDS,
    ZERO,
    Books,
    money,
    ref_id,
)
from qbo_sandbox.entities.schema import ARRAY, NUMBER, REFERENCE, STRING, Field
from qbo_sandbox.entities.transactions import (
    TXN_FIELDS,
    TransactionRules,
    line_fields,
    line_list,
    number_lines,
    object_value,
    require_account_type,
    required_amount,
    resolve_account,
    resolve_customer,
)
from qbo_sandbox.realms import Realm, Record

DEPOSIT_LINE_KEYS = frozenset(
    {
        "Id",
        "LineNum",
        "Description",
        "Amount",
        "DetailType",
        "LinkedTxn",
        "DepositLineDetail",
        "CustomField",
        "LineEx",
    }
)


class DepositRules(TransactionRules):
    name = "Deposit"
    writable: ClassVar[Mapping[str, Field]] = {
        **TXN_FIELDS,
        "DepositToAccountRef": REFERENCE,
        "GlobalTaxCalculation": STRING,
        "CustomField": ARRAY,
    }
    read_only: ClassVar[Mapping[str, Field]] = {"TotalAmt": NUMBER, "HomeTotalAmt": NUMBER}

    def validate(self, realm: Realm, record: Record) -> None:
        account = resolve_account(realm, record, "DepositToAccountRef")
        require_account_type(account, ("Bank",), "A deposit's DepositToAccountRef")
        own_id = record.get("Id")
        books = Books.of(realm, without=("Deposit", own_id) if own_id else None)
        deposited: set[tuple[str, str]] = set()
        lines: list[Record] = []
        for line in line_list(self.name, record):
            line = line_fields(self.name, line, DEPOSIT_LINE_KEYS)
            amount = required_amount(self.name, line)
            if line.get("LinkedTxn"):
                lines.append(self._linked_line(realm, books, line, amount, deposited))
            else:
                lines.append(self._account_line(realm, line, amount))
        total = money(sum((line["Amount"] for line in lines), ZERO))
        if total < ZERO:
            raise faults.business_validation(f"A deposit's total can't be negative: {total}.")
        record["Line"] = number_lines(lines)
        record["TotalAmt"] = total

    def _linked_line(
        self,
        realm: Realm,
        books: Books,
        line: Record,
        amount: Decimal,
        deposited: set[tuple[str, str]],
    ) -> Record:
        linked = line["LinkedTxn"]
        if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], dict):
            problem = "LinkedTxn must hold exactly one {TxnId, TxnType}"
            raise faults.unsupported_property(self.name, "LinkedTxn", problem)
        link = linked[0]
        txn_type = link.get("TxnType")
        if txn_type not in DEPOSITABLE_TYPES:
            raise faults.business_validation(
                f"A deposit line can link a Payment or a RefundReceipt, not {txn_type}."
            )
        txn_id = str(link.get("TxnId", "")).strip()
        if not txn_id:
            raise faults.required_param_missing("LinkedTxn.TxnId")
        if not txn_id.isdigit():
            raise faults.invalid_id(link["TxnId"], "TxnId")
        txn_id = str(int(txn_id))
        target = realm.table(txn_type).get(txn_id)
        if target is None:
            raise faults.invalid_reference("LinkedTxn", txn_type, txn_id, inactive=False)
        if (txn_type, txn_id) in realm.voided:
            raise faults.business_validation(f"{txn_type} {txn_id} is voided: nothing to deposit.")
        holder = realm.table("Account").get(ref_id(target, "DepositToAccountRef") or "")
        if holder is None or holder.get("AccountSubType") != UNDEPOSITED_FUNDS:
            raise faults.business_validation(
                f"{txn_type} {txn_id} went straight to account "
                f"{ref_id(target, 'DepositToAccountRef')}, not to Undeposited Funds: "
                "there is nothing to deposit."
            )
        other = books.deposited_in.get((txn_type, txn_id))
        if other is not None or (txn_type, txn_id) in deposited:
            where = f"Deposit {other}" if other is not None else "another line of this deposit"
            raise faults.business_validation(
                f"{txn_type} {txn_id} is already deposited ({where}): a transaction can be "
                "deposited only once."
            )
        # a refund paid out of Undeposited Funds comes off the deposit
        whole = target["TotalAmt"] if txn_type == "Payment" else -target["TotalAmt"]
        if amount != whole:
            raise faults.business_validation(
                f"The line deposits {amount} of {txn_type} {txn_id}, whose amount is {whole}: "
                "a transaction is deposited whole."
            )
        deposited.add((txn_type, txn_id))
        link = link | {
            "TxnId": txn_id,
            "TxnType": txn_type,
            "TxnLineId": str(link.get("TxnLineId", "0")),
        }
        return line | {"Amount": amount, "LinkedTxn": [link]}

    def _account_line(self, realm: Realm, line: Record, amount: Decimal) -> Record:
        detail_type = line.get("DetailType")
        if not detail_type:
            raise faults.required_param_missing("Line.DetailType")
        if detail_type != "DepositLineDetail":
            problem = f'DetailType "{detail_type}" is not supported on Deposit lines'
            raise faults.unsupported_property(self.name, "DetailType", problem)
        detail = dict(object_value(self.name, line, "DepositLineDetail"))
        resolve_account(realm, detail, "AccountRef")
        entity = object_value(self.name, detail, "Entity", required=False)
        if entity.get("Type") == "Customer":
            entity = dict(entity)
            resolve_customer(realm, entity, "EntityRef")
            detail["Entity"] = entity
        return line | {"Amount": amount, "DepositLineDetail": detail}


def check_deposited_change(realm: Realm, books: Books, entity: str, record: Record) -> None:
    """A deposited payment or refund keeps its amount, account and customer (6000)."""
    deposit_id = books.deposited_in.get((entity, record["Id"]))
    if deposit_id is None:
        return
    stored = realm.table(entity)[record["Id"]]
    for element in ("TotalAmt", "DepositToAccountRef", "CustomerRef"):
        before, after = stored.get(element), record.get(element)
        if isinstance(before, dict) and isinstance(after, dict):
            before, after = before.get("value"), after.get("value")
        if before != after:
            raise faults.business_validation(
                f"{entity} {record['Id']} is in Deposit {deposit_id}: its {element} can't "
                "change. Remove it from the deposit first."
            )


def refuse_if_deposited(realm: Realm, entity: str, record: Record, what: str) -> None:
    """A deposited payment or refund can't be deleted or voided (6000)."""
    deposit_id = Books.of(realm).deposited_in.get((entity, record["Id"]))
    if deposit_id is not None:
        raise faults.business_validation(
            f"{entity} {record['Id']} is in Deposit {deposit_id}: it can't be {what}. "
            "Delete the deposit (or remove the transaction from it) first."
        )
