"""Invoice: a sale on credit. Its Balance is what payments and credits have not yet covered."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from qbo_sandbox import faults
from qbo_sandbox.accounting import Books
from qbo_sandbox.entities.schema import BOOLEAN, DATE, OBJECT, REFERENCE, STRING, Field
from qbo_sandbox.entities.transactions import (
    SALES_FORM_FIELDS,
    SalesFormRules,
    default_due_date,
    voided_sales_form,
)
from qbo_sandbox.realms import Realm, Record


class InvoiceRules(SalesFormRules):
    name = "Invoice"
    writable: ClassVar[Mapping[str, Field]] = {
        **SALES_FORM_FIELDS,
        "DueDate": DATE,
        "ShipFromAddr": OBJECT,
        "BillEmailCc": OBJECT,
        "BillEmailBcc": OBJECT,
        "ShipMethodRef": REFERENCE,
        "ShipDate": DATE,
        "TrackingNum": STRING,
        "AllowIPNPayment": BOOLEAN,
        "AllowOnlinePayment": BOOLEAN,
        "AllowOnlineCreditCardPayment": BOOLEAN,
        "AllowOnlineACHPayment": BOOLEAN,
        "DeliveryInfo": OBJECT,
    }
    receivable = True
    void_style = "operation"

    def complete(self, realm: Realm, record: Record) -> None:
        super().complete(realm, record)
        record.setdefault("DueDate", default_due_date(record))
        for flag in (
            "AllowIPNPayment",
            "AllowOnlinePayment",
            "AllowOnlineCreditCardPayment",
            "AllowOnlineACHPayment",
        ):
            record.setdefault(flag, False)

    def voided(self, realm: Realm, record: Record) -> Record:
        payers = Books.of(realm).payers.get((self.name, record["Id"]), [])
        if payers:
            raise faults.business_validation(
                f"Invoice {record['Id']} has payments applied (Payment {', '.join(payers)}): "
                "delete or void them before voiding the invoice."
            )
        record["LinkedTxn"] = []
        return voided_sales_form(record)
