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


class Account(QBOModel):
    Id: str
    Name: str
    AccountType: str | None = None
    AccountSubType: str | None = None
    Active: bool | None = None
