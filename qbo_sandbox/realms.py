"""In-memory companies (realms): their records, Id counters, request log and `requestid` replies."""

from __future__ import annotations

import asyncio
import secrets
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

Record = dict[str, Any]
"""One QBO object exactly as the API shows it (money as `Decimal`)."""


@dataclass(frozen=True)
class LoggedRequest:
    method: str
    path: str
    query: str
    status: int | None
    """The status answered (or, for a dropped connection, produced); None if nothing was."""
    request_id: str | None
    intuit_tid: str
    replayed: bool
    injected: str | None = None
    """The injected fault kind(s) that shaped this answer (see injection.py), joined by "+"."""
    bodies: LoggedBodies | None = None
    """The request and reply bodies, kept only by a sandbox started with `--log-bodies`."""

    def as_json(self) -> dict[str, object]:
        bodies = {} if self.bodies is None else self.bodies.as_json()
        return {
            "method": self.method,
            "path": self.path,
            "query": self.query,
            "status": self.status,
            "request_id": self.request_id,
            "intuit_tid": self.intuit_tid,
            "replayed": self.replayed,
            "injected": self.injected,
            **bodies,
        }


@dataclass(frozen=True)
class LoggedBodies:
    """What a call sent and got back, as text, so a benchmark can replay it (`--log-bodies`)."""

    content_type: str | None
    body: str
    reply: str

    def as_json(self) -> dict[str, object]:
        return {"content_type": self.content_type, "body": self.body, "reply": self.reply}


@dataclass(frozen=True)
class StoredResponse:
    """A write's reply kept under its `requestid`, sent again byte for byte on a repeat."""

    status_code: int
    body: bytes


@dataclass(frozen=True)
class Tombstone:
    """A deleted record, for CDC (`cdc.py`): append one to `Realm.tombstones` on every delete."""

    entity: str
    """The entity name, e.g. "Invoice"."""
    record_id: str
    deleted_at: str
    """`clock.metadata_timestamp(clock.now())` at the delete: CDC shows it as LastUpdatedTime."""


@dataclass
class Realm:
    realm_id: str
    company_name: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    tables: dict[str, dict[str, Record]] = field(default_factory=dict)
    last_ids: dict[str, int] = field(default_factory=dict)
    requests: list[LoggedRequest] = field(default_factory=list)
    responses_by_request_id: dict[str, StoredResponse] = field(default_factory=dict)
    tombstones: list[Tombstone] = field(default_factory=list)
    """Deleted records, oldest first (a delete path appends; CDC reads)."""
    voided: set[tuple[str, str]] = field(default_factory=set)
    """(entity, Id) of voided transactions: they stay readable but cannot be changed."""
    custom_txn_numbers: bool = False
    """The company's "custom transaction numbers" setting (Preferences.SalesFormsPrefs.
    CustomTxnNumbers): when on, a DocNumber already used by the same transaction type → 6140."""
    last_doc_number: int = 1000
    """The last DocNumber given to a sales form (Invoice, CreditMemo, RefundReceipt)."""
    automated_sales_tax: bool = False
    """Automated Sales Tax (AST) on: QBO works out sales tax itself (control API `settings`)."""
    ast_rate_percent: Decimal = Decimal("8.25")
    """The combined rate the sandbox's AST engine charges on TAX lines (QBO's depends on addresses)."""
    country: str = "US"
    """CompanyInfo.Country: "US" uses TAX/NON line codes; other countries a tax code per line."""
    using_sales_tax: bool = False
    """Preferences.TaxPrefs.UsingSalesTax: on once a tax code exists or AST is on."""

    def table(self, entity: str) -> dict[str, Record]:
        return self.tables.setdefault(entity, {})

    def next_id(self, entity: str) -> str:
        # Ids count per entity type within a company, as in QBO (Customer 1 and Item 1 coexist).
        self.last_ids[entity] = self.last_ids.get(entity, 0) + 1
        return str(self.last_ids[entity])


class RealmRegistry:
    def __init__(self) -> None:
        self._realms: dict[str, Realm] = {}

    def add(self, company_name: str) -> Realm:
        realm_id = self._new_realm_id()
        realm = Realm(realm_id, company_name)
        self._realms[realm_id] = realm
        return realm

    def get(self, realm_id: str) -> Realm | None:
        return self._realms.get(realm_id)

    def _new_realm_id(self) -> str:
        while True:
            realm_id = "9341452" + "".join(secrets.choice("0123456789") for _ in range(9))
            if realm_id not in self._realms:
                return realm_id
