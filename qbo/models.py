"""The QBO entities this service reads and writes, with QBO's own field names."""

from __future__ import annotations

from decimal import Decimal
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict


class QBOModel(BaseModel):
    model_config = ConfigDict(extra="allow", populate_by_name=True)

    def body(self) -> dict[str, Any]:
        """The JSON body for a write: unset fields are omitted, as QBO expects."""
        return self.model_dump(exclude_none=True)


class Ref(QBOModel):
    value: str
    name: str | None = None


class EmailAddress(QBOModel):
    Address: str


class PhoneNumber(QBOModel):
    FreeFormNumber: str


class PhysicalAddress(QBOModel):
    Line1: str | None = None
    Line2: str | None = None
    City: str | None = None
    CountrySubDivisionCode: str | None = None
    PostalCode: str | None = None
    Country: str | None = None


class Customer(QBOModel):
    Id: str | None = None
    SyncToken: str | None = None
    sparse: bool | None = None
    DisplayName: str | None = None
    GivenName: str | None = None
    FamilyName: str | None = None
    CompanyName: str | None = None
    PrimaryEmailAddr: EmailAddress | None = None
    PrimaryPhone: PhoneNumber | None = None
    BillAddr: PhysicalAddress | None = None
    Active: bool | None = None
    Balance: Decimal | None = None
    CurrencyRef: Ref | None = None


ItemType = Literal["Service", "NonInventory", "Inventory", "Category", "Group"]


class Item(QBOModel):
    Id: str | None = None
    SyncToken: str | None = None
    sparse: bool | None = None
    Name: str | None = None
    Type: ItemType | None = None
    Description: str | None = None
    UnitPrice: Decimal | None = None
    Sku: str | None = None
    Active: bool | None = None
    IncomeAccountRef: Ref | None = None
    # Inventory items: QBO owns the quantity after creation (sales move it).
    TrackQtyOnHand: bool | None = None
    QtyOnHand: Decimal | None = None
    InvStartDate: str | None = None
    AssetAccountRef: Ref | None = None
    ExpenseAccountRef: Ref | None = None


class Account(QBOModel):
    Id: str
    Name: str
    AccountType: str | None = None
    AccountSubType: str | None = None
    Active: bool | None = None


# Transactions -------------------------------------------------------------------------------


class TxnLink(QBOModel):
    TxnId: str
    TxnType: Literal["Invoice", "Payment", "CreditMemo", "JournalEntry", "RefundReceipt", "Deposit"]
    TxnLineId: str | None = None


class LinkedRecord(QBOModel):
    TxnId: str
    TxnType: str


class SalesDetail(QBOModel):
    ItemRef: Ref
    Qty: Decimal | None = None
    UnitPrice: Decimal | None = None
    # US companies: "TAX" or "NON"; elsewhere a TaxCode id.
    TaxCodeRef: Ref | None = None


class JournalEntity(QBOModel):
    Type: Literal["Customer", "Vendor", "Employee"]
    EntityRef: Ref


class JournalDetail(QBOModel):
    PostingType: Literal["Debit", "Credit"]
    AccountRef: Ref
    Entity: JournalEntity | None = None


class DepositDetail(QBOModel):
    AccountRef: Ref | None = None


class TxnLine(QBOModel):
    Id: str | None = None
    LineNum: int | None = None
    Amount: Decimal
    DetailType: str | None = None
    Description: str | None = None
    SalesItemLineDetail: SalesDetail | None = None
    JournalEntryLineDetail: JournalDetail | None = None
    DepositLineDetail: DepositDetail | None = None
    LinkedTxn: list[TxnLink] | None = None


class Transaction(QBOModel):
    Id: str | None = None
    SyncToken: str | None = None
    sparse: bool | None = None
    TxnDate: str | None = None
    PrivateNote: str | None = None
    Line: list[TxnLine] | None = None
    TotalAmt: Decimal | None = None


class TaxDetail(QBOModel):
    TxnTaxCodeRef: Ref | None = None
    TotalTax: Decimal | None = None


class Invoice(Transaction):
    CustomerRef: Ref | None = None
    TxnTaxDetail: TaxDetail | None = None
    # Non-US companies: "TaxExcluded", "TaxInclusive" or "NotApplicable".
    GlobalTaxCalculation: str | None = None
    DocNumber: str | None = None
    DueDate: str | None = None
    Balance: Decimal | None = None
    # What QBO links to it: the payments that apply to it (QBO lists more kinds than TxnLink's).
    LinkedTxn: list[LinkedRecord] | None = None


class Payment(Transaction):
    CustomerRef: Ref | None = None
    DepositToAccountRef: Ref | None = None
    UnappliedAmt: Decimal | None = None
    PaymentRefNum: str | None = None


class RefundReceipt(Transaction):
    CustomerRef: Ref | None = None
    DepositToAccountRef: Ref | None = None
    DocNumber: str | None = None


class CreditMemo(Transaction):
    CustomerRef: Ref | None = None
    Balance: Decimal | None = None
    RemainingCredit: Decimal | None = None


class JournalEntry(Transaction):
    DocNumber: str | None = None


class Deposit(Transaction):
    DepositToAccountRef: Ref | None = None


class CompanyInfo(QBOModel):
    Id: str | None = None
    CompanyName: str | None = None
    Country: str | None = None


class Preferences(QBOModel):
    TaxPrefs: dict[str, Any] | None = None


class TaxAgency(QBOModel):
    Id: str | None = None
    DisplayName: str | None = None


class TaxRate(QBOModel):
    Id: str | None = None
    Name: str | None = None
    RateValue: Decimal | None = None


class TaxCode(QBOModel):
    Id: str | None = None
    Name: str | None = None
    Active: bool | None = None
