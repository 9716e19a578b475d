"""What transactions share: no Active flag, deletable, TxnDate/CurrencyRef defaults, line
numbering, money values, customer references, and the sales forms (Invoice, CreditMemo,
RefundReceipt) with their item lines, SubTotal line and DocNumber.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, ClassVar

from qbo_sandbox import clock, faults
from qbo_sandbox.accounting import ZERO, Books, money, receivable_fields, ref_id
from qbo_sandbox.entities import sales_tax
from qbo_sandbox.entities.intuit_schema import LINE_FIELDS
from qbo_sandbox.entities.schema import (
    ARRAY,
    BOOLEAN,
    DATE,
    HOME_CURRENCY,
    NUMBER,
    OBJECT,
    REFERENCE,
    STRING,
    EntityRules,
    Field,
    Kind,
    resolve_reference,
)
from qbo_sandbox.realms import Realm, Record

SALES_FORMS = ("Invoice", "CreditMemo", "RefundReceipt")
"""They share one DocNumber sequence ("1001", "1002", ...)."""
SALES_LINE_KEYS = frozenset(
    {
        "Id",
        "LineNum",
        "Description",
        "Amount",
        "DetailType",
        "SalesItemLineDetail",
        "SubTotalLineDetail",
        "DescriptionLineDetail",
        "LinkedTxn",
        "CustomField",
        "LineEx",
    }
)
DUE_IN_DAYS = 30
"""Net 30: QBO's default terms when the customer has none."""
NOTE_LENGTH = 4000

TXN_FIELDS: Mapping[str, Field] = {
    "TxnDate": DATE,
    "PrivateNote": Field(Kind.STRING, max_length=NOTE_LENGTH),
    "Line": ARRAY,
    "CurrencyRef": REFERENCE,
    "ExchangeRate": NUMBER,
    "DepartmentRef": REFERENCE,
    "TransactionLocationType": STRING,
    "TxnSource": STRING,
}
"""Writable on every transaction type served here."""


class TransactionRules(EntityRules):
    deletable = True

    def complete(self, realm: Realm, record: Record) -> None:
        record.setdefault("TxnDate", clock.now().date().isoformat())
        record.setdefault("CurrencyRef", dict(HOME_CURRENCY))


# --- values -----------------------------------------------------------------------------------


def number_value(entity: str, element: str, value: object) -> Decimal:
    """A JSON number (or numeric string) inside a line; anything else → 2010."""
    number: Decimal | None = None
    if isinstance(value, Decimal):
        number = value
    elif isinstance(value, str) and value.strip():
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            number = None
    if number is None or not number.is_finite():
        problem = f'Cannot deserialize value of type number from "{value}"'
        raise faults.unsupported_property(entity, element, problem)
    return number


def required_amount(entity: str, line: Record, element: str = "Amount") -> Decimal:
    if line.get(element) in (None, ""):
        raise faults.required_param_missing(f"Line.{element}")
    return money(number_value(entity, element, line[element]))


def object_value(entity: str, holder: Record, element: str, required: bool = True) -> Record:
    value = holder.get(element)
    if value in (None, {}):
        if required:
            raise faults.required_param_missing(element)
        return {}
    if not isinstance(value, dict):
        raise faults.unsupported_property(entity, element, f"{element} must be an object")
    return value


def line_fields(entity: str, line: Record, kept: frozenset[str]) -> Record:
    """A line's keys this entity models; other keys of Intuit's Line schema (details of other
    DetailTypes, `Received`, ...) are accepted and dropped; a key outside the schema → 2010."""
    unknown = next((key for key in line if key not in LINE_FIELDS), None)
    if unknown is not None:
        raise faults.unrecognized_field(entity, unknown)
    return {key: value for key, value in line.items() if key in kept}


def line_list(entity: str, record: Record) -> list[Record]:
    lines = record.get("Line")
    if not lines:
        raise faults.required_param_missing("Line")
    if not all(isinstance(line, dict) for line in lines):
        raise faults.unsupported_property(entity, "Line", "each Line must be an object")
    return [dict(line) for line in lines]


def number_lines(lines: list[Record], first_id: int = 1, line_nums: bool = True) -> list[Record]:
    """Give each line an `Id` (kept when the client sent a fresh one) and a 1-based `LineNum`."""
    taken: set[str] = set()
    for line in lines:
        line_id = str(line.get("Id", "")).strip()
        if line_id.isdigit() and str(int(line_id)) not in taken:
            taken.add(str(int(line_id)))
    next_id = max((int(line_id) for line_id in taken), default=first_id - 1) + 1
    numbered: list[Record] = []
    used: set[str] = set()
    for position, line in enumerate(lines, start=1):
        line_id = str(line.get("Id", "")).strip()
        line_id = str(int(line_id)) if line_id.isdigit() else ""
        if not line_id or line_id in used:
            line_id = str(next_id)
            next_id += 1
        used.add(line_id)
        rest = {key: value for key, value in line.items() if key not in ("Id", "LineNum")}
        head: Record = {"Id": line_id, "LineNum": position} if line_nums else {"Id": line_id}
        numbered.append(head | rest)
    return numbered


def voided_note(record: Record) -> str:
    """QBO puts "Voided" in front of the PrivateNote."""
    note = record.get("PrivateNote")
    return f"Voided - {note}"[:NOTE_LENGTH] if note else "Voided"


# --- references -------------------------------------------------------------------------------


def resolve_customer(realm: Realm, holder: Record, element: str = "CustomerRef") -> Record:
    """A required customer reference: missing → 2020, unknown → 2500, inactive → 610."""
    reference = holder.get(element)
    if not isinstance(reference, dict) or not reference.get("value"):
        raise faults.required_param_missing(element)
    customer_id = str(reference["value"]).strip()
    customer = realm.table("Customer").get(customer_id)
    if customer is None:
        raise faults.invalid_reference(element, "Customer", customer_id, inactive=False)
    if customer.get("Active") is False:
        raise faults.object_not_found()
    holder[element] = {"value": customer_id, "name": customer["FullyQualifiedName"]}
    return customer


def resolve_account(realm: Realm, holder: Record, element: str) -> Record:
    """A required account reference: missing → 2020; unknown or inactive → 2500."""
    if not isinstance(holder.get(element), dict) or not holder[element].get("value"):
        raise faults.required_param_missing(element)
    account = resolve_reference(realm, holder, element, "Account")
    assert account is not None
    return account


def require_account_type(account: Record, allowed: tuple[str, ...], role: str) -> None:
    if account.get("AccountType") not in allowed:
        raise faults.business_validation(
            f"{role} must be a {' or '.join(allowed)} account; account {account['Id']} "
            f"({account.get('Name')}) is {account.get('AccountType')}."
        )


# --- sales forms ------------------------------------------------------------------------------


def duplicate_doc_number(doc_number: str, entity: str, txn_id: str) -> faults.QboFault:
    return faults.QboFault(
        faults.FaultError(
            "6140",
            "Duplicate Document Number Error",
            "Duplicate Document Number Error : You must specify a different number. This number "
            f"has already been used. DocNumber={doc_number} is assigned to TxnType={entity} "
            f"with TxnId={txn_id}",
        )
    )


def amount_mismatch(amount: Decimal, qty: Decimal, unit_price: Decimal) -> faults.QboFault:
    return faults.QboFault(
        faults.FaultError(
            "6070",
            "Amount is not equal to UnitPrice * Qty",
            f"Amount is not equal to UnitPrice * Qty. Supplied value:{amount} "
            f"(Qty {qty} × UnitPrice {unit_price} = {money(qty * unit_price)})",
            "Amount",
        )
    )


SALES_FORM_FIELDS: Mapping[str, Field] = {
    **TXN_FIELDS,
    "DocNumber": Field(Kind.STRING, max_length=21),
    "CustomerRef": REFERENCE,
    "CustomerMemo": OBJECT,
    "BillAddr": OBJECT,
    "ShipAddr": OBJECT,
    "BillEmail": OBJECT,
    "ClassRef": REFERENCE,
    "SalesTermRef": REFERENCE,
    "PrintStatus": Field(Kind.STRING, choices=("NotSet", "NeedToPrint", "PrintComplete")),
    "EmailStatus": Field(Kind.STRING, choices=("NotSet", "NeedToSend", "EmailSent")),
    "ApplyTaxAfterDiscount": BOOLEAN,
    "GlobalTaxCalculation": Field(
        Kind.STRING, choices=("TaxExcluded", "TaxInclusive", "NotApplicable")
    ),
    "TxnTaxDetail": OBJECT,
    "CustomField": ARRAY,
    "ProjectRef": REFERENCE,
}

SALES_FORM_READ_ONLY: Mapping[str, Field] = {
    "TotalAmt": NUMBER,
    "HomeTotalAmt": NUMBER,
    "Balance": NUMBER,
    "LinkedTxn": ARRAY,
}


class SalesFormRules(TransactionRules):
    """Invoice, CreditMemo and RefundReceipt: a customer, item lines, a SubTotal line, a total."""

    read_only: ClassVar[Mapping[str, Field]] = SALES_FORM_READ_ONLY
    receivable: ClassVar[bool] = False
    """Invoices and credit memos are open A/R: payments apply to them."""

    def validate(self, realm: Realm, record: Record) -> None:
        resolve_customer(realm, record)
        lines, subtotal = self.sales_lines(realm, record)
        tax_detail = sales_tax.transaction_tax(realm, self.name, record, lines)
        total = subtotal + tax_detail["TotalTax"]
        if total < ZERO:
            raise faults.business_validation(
                f"The {self.name} total can't be negative; the lines add up to {total}."
            )
        record["Line"] = lines
        record["TxnTaxDetail"] = tax_detail
        record["TotalAmt"] = total
        self._check_doc_number(realm, record)
        if self.receivable and record.get("Id") is not None:
            self._check_applied(realm, record)

    def complete(self, realm: Realm, record: Record) -> None:
        super().complete(realm, record)
        self._fill_doc_number(realm, record)
        customer = realm.table("Customer")[record["CustomerRef"]["value"]]
        for element, source in (
            ("BillAddr", "BillAddr"),
            ("ShipAddr", "ShipAddr"),
            ("BillEmail", "PrimaryEmailAddr"),
        ):
            if element not in record and customer.get(source):
                record[element] = dict(customer[source])
        record.setdefault("ApplyTaxAfterDiscount", False)
        record.setdefault("PrintStatus", "NeedToPrint")
        record.setdefault("EmailStatus", "NotSet")
        if self.receivable:
            record |= receivable_fields(self.name, record, Books.of(realm))
        else:
            record["Balance"] = ZERO

    def after_write(self, realm: Realm, record: Record) -> None:
        doc_number = str(record.get("DocNumber", ""))
        if doc_number.isdigit():
            realm.last_doc_number = max(realm.last_doc_number, int(doc_number))

    def sales_lines(self, realm: Realm, record: Record) -> tuple[list[Record], Decimal]:
        """The lines as stored: item lines checked, the SubTotal line (re)computed last."""
        lines: list[Record] = []
        for line in line_list(self.name, record):
            line = line_fields(self.name, line, SALES_LINE_KEYS)
            detail_type = line.get("DetailType")
            if detail_type == "SubTotalLineDetail":
                continue  # the server adds its own
            if detail_type == "SalesItemLineDetail":
                lines.append(self._item_line(realm, line))
            elif detail_type == "DescriptionOnly":
                lines.append(line)
            elif detail_type in (None, ""):
                raise faults.required_param_missing("Line.DetailType")
            else:
                problem = f'DetailType "{detail_type}" is not supported on {self.name} lines'
                raise faults.unsupported_property(self.name, "DetailType", problem)
        if not any(line["DetailType"] == "SalesItemLineDetail" for line in lines):
            raise faults.required_param_missing("Line")
        lines = number_lines(lines)
        total = money(
            sum(
                (line["Amount"] for line in lines if line["DetailType"] == "SalesItemLineDetail"),
                ZERO,
            )
        )
        subtotal = {"Amount": total, "DetailType": "SubTotalLineDetail", "SubTotalLineDetail": {}}
        return [*lines, subtotal], total

    def _item_line(self, realm: Realm, line: Record) -> Record:
        amount = required_amount(self.name, line)
        detail = dict(object_value(self.name, line, "SalesItemLineDetail"))
        if not isinstance(detail.get("ItemRef"), dict) or not detail["ItemRef"].get("value"):
            raise faults.required_param_missing("ItemRef")
        item = resolve_reference(realm, detail, "ItemRef", "Item")
        numbers: dict[str, Decimal] = {}
        for element in ("Qty", "UnitPrice"):
            if detail.get(element) not in (None, ""):
                numbers[element] = number_value(self.name, element, detail[element])
                detail[element] = numbers[element]
        if len(numbers) == 2 and money(numbers["Qty"] * numbers["UnitPrice"]) != amount:
            raise amount_mismatch(amount, numbers["Qty"], numbers["UnitPrice"])
        sales_tax.fill_line_tax_code(realm, detail, item)
        return line | {"Amount": amount, "SalesItemLineDetail": detail}

    def _check_doc_number(self, realm: Realm, record: Record) -> None:
        doc_number = record.get("DocNumber")
        if not realm.custom_txn_numbers or not doc_number:
            return
        wanted = str(doc_number).strip().casefold()
        for other in realm.table(self.name).values():
            if other["Id"] == record.get("Id"):
                continue
            if str(other.get("DocNumber", "")).strip().casefold() == wanted:
                raise duplicate_doc_number(str(doc_number), self.name, other["Id"])

    def _fill_doc_number(self, realm: Realm, record: Record) -> None:
        if record.get("DocNumber"):
            return
        stored = realm.table(self.name).get(record.get("Id", ""))
        if stored is not None and stored.get("DocNumber"):
            record["DocNumber"] = stored["DocNumber"]  # a full update keeps the number it had
        else:
            record["DocNumber"] = str(realm.last_doc_number + 1)

    def _check_applied(self, realm: Realm, record: Record) -> None:
        """An update may not take the total below what payments already apply to it, nor move
        it to another customer while payments of this one apply to it."""
        books = Books.of(realm)
        key = (self.name, record["Id"])
        applied = books.applied.get(key, ZERO)
        if not applied:
            return
        stored = realm.table(self.name)[record["Id"]]
        if ref_id(stored, "CustomerRef") != ref_id(record, "CustomerRef"):
            raise faults.business_validation(
                f"{self.name} {record['Id']} has payments applied ({applied}): "
                "its customer can't change."
            )
        if record["TotalAmt"] < applied:
            raise faults.business_validation(
                f"{self.name} {record['Id']} has {applied} applied by payments; its new total "
                f"{record['TotalAmt']} can't be less than that. Delete or change the payments first."
            )

    def check_delete(self, realm: Realm, record: Record) -> None:
        if not self.receivable:
            return
        payers = Books.of(realm).payers.get((self.name, record["Id"]), [])
        if payers:
            raise faults.business_validation(
                f"{self.name} {record['Id']} has payments applied (Payment "
                f"{', '.join(payers)}): delete or void them first."
            )


def default_due_date(record: Record) -> str:
    txn_date = clock.parse_timestamp(str(record["TxnDate"]))
    assert txn_date is not None
    return (txn_date.date() + timedelta(days=DUE_IN_DAYS)).isoformat()


def voided_sales_form(record: Record) -> Record:
    """A voided sales form: lines, tax and totals 0 (what pays or uses it is checked before)."""
    record["Line"] = zero_sales_lines(record.get("Line") or [])
    record["TxnTaxDetail"] = sales_tax.voided_tax(record.get("TxnTaxDetail") or {})
    record["TotalAmt"] = ZERO
    record["Balance"] = ZERO
    record["PrivateNote"] = voided_note(record)
    return record


def zero_sales_lines(lines: list[Any]) -> list[Any]:
    """A voided sales form's lines: every amount and quantity 0."""
    voided: list[Any] = []
    for line in lines:
        line = dict(line)
        if "Amount" in line:
            line["Amount"] = ZERO
        detail = line.get("SalesItemLineDetail")
        if isinstance(detail, dict) and "Qty" in detail:
            line["SalesItemLineDetail"] = detail | {"Qty": ZERO}
        voided.append(line)
    return voided
