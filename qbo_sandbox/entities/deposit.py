"""Deposit: money put into a bank account. Lines either deposit payments waiting in Undeposited
Funds (`LinkedTxn` TxnType Payment) or post an amount to any account (`DepositLineDetail`; a
negative line is a fee). Deleting the deposit puts its payments back in Undeposited Funds.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.accounting import UNDEPOSITED_FUNDS, ZERO, Books, money, ref_id
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
        deposited: set[str] = set()
        lines: list[Record] = []
        for line in line_list(self.name, record):
            line = line_fields(self.name, line, DEPOSIT_LINE_KEYS)
            amount = required_amount(self.name, line)
            if line.get("LinkedTxn"):
                lines.append(self._payment_line(realm, books, line, amount, deposited))
            else:
                lines.append(self._account_line(realm, line, amount))
        total = money(sum((line["Amount"] for line in lines), ZERO))
        if total < ZERO:
            raise faults.business_validation(f"A deposit's total can't be negative: {total}.")
        record["Line"] = number_lines(lines)
        record["TotalAmt"] = total

    def _payment_line(
        self, realm: Realm, books: Books, line: Record, amount: Decimal, deposited: set[str]
    ) -> Record:
        linked = line["LinkedTxn"]
        if not isinstance(linked, list) or len(linked) != 1 or not isinstance(linked[0], dict):
            problem = "LinkedTxn must hold exactly one {TxnId, TxnType}"
            raise faults.unsupported_property(self.name, "LinkedTxn", problem)
        link = linked[0]
        if link.get("TxnType") != "Payment":
            raise faults.business_validation(
                f"A deposit line can link a Payment, not {link.get('TxnType')}."
            )
        payment_id = str(link.get("TxnId", "")).strip()
        if not payment_id:
            raise faults.required_param_missing("LinkedTxn.TxnId")
        if not payment_id.isdigit():
            raise faults.invalid_id(link["TxnId"], "TxnId")
        payment_id = str(int(payment_id))
        payment = realm.table("Payment").get(payment_id)
        if payment is None:
            raise faults.invalid_reference("LinkedTxn", "Payment", payment_id, inactive=False)
        if ("Payment", payment_id) in realm.voided:
            raise faults.business_validation(f"Payment {payment_id} is voided: nothing to deposit.")
        holder = realm.table("Account").get(ref_id(payment, "DepositToAccountRef") or "")
        if holder is None or holder.get("AccountSubType") != UNDEPOSITED_FUNDS:
            raise faults.business_validation(
                f"Payment {payment_id} went straight to account "
                f"{ref_id(payment, 'DepositToAccountRef')}, not to Undeposited Funds: "
                "there is nothing to deposit."
            )
        other = books.deposited_in.get(payment_id)
        if other is not None or payment_id in deposited:
            where = f"Deposit {other}" if other is not None else "another line of this deposit"
            raise faults.business_validation(
                f"Payment {payment_id} is already deposited ({where}): a payment can be "
                "deposited only once."
            )
        if amount != payment["TotalAmt"]:
            raise faults.business_validation(
                f"The line deposits {amount} of Payment {payment_id}, whose amount is "
                f"{payment['TotalAmt']}: a payment is deposited whole."
            )
        deposited.add(payment_id)
        link = link | {
            "TxnId": payment_id,
            "TxnType": "Payment",
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
