"""RefundReceipt: money paid back to a customer from a bank (or other current asset) account.

It is a cash transaction: it never touches A/R or the customer's Balance. One paid out of
Undeposited Funds is deposited (as a negative line) like a payment, and is then held by it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox.accounting import Books
from qbo_sandbox.entities.deposit import check_deposited_change, refuse_if_deposited
from qbo_sandbox.entities.schema import OBJECT, REFERENCE, STRING, Field, Kind
from qbo_sandbox.entities.transactions import (
    SALES_FORM_FIELDS,
    SalesFormRules,
    require_account_type,
    resolve_account,
)
from qbo_sandbox.realms import Realm, Record

REFUND_FROM_TYPES = ("Bank", "Other Current Asset")


class RefundReceiptRules(SalesFormRules):
    name = "RefundReceipt"
    writable: ClassVar[Mapping[str, Field]] = {
        **SALES_FORM_FIELDS,
        "DepositToAccountRef": REFERENCE,
        "PaymentMethodRef": REFERENCE,
        "PaymentRefNum": Field(Kind.STRING, max_length=21),
        "PaymentType": Field(Kind.STRING, choices=("Cash", "Check", "CreditCard", "Other")),
        "CheckPayment": OBJECT,
        "CreditCardPayment": OBJECT,
        "ShipFromAddr": OBJECT,
        "TrackingNum": STRING,
    }

    def validate(self, realm: Realm, record: Record) -> None:
        super().validate(realm, record)
        account = resolve_account(realm, record, "DepositToAccountRef")
        require_account_type(account, REFUND_FROM_TYPES, "The account a refund is paid from")
        if record.get("Id") is not None:
            check_deposited_change(realm, Books.of(realm), self.name, record)

    def check_delete(self, realm: Realm, record: Record) -> None:
        refuse_if_deposited(realm, self.name, record, "deleted")
