"""Tables of the service store."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import UniqueConstraint
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    # SQLite drops the zone; every time we store is UTC.
    return value if value.tzinfo else value.replace(tzinfo=UTC)


class Connection(SQLModel, table=True):
    """One Skimmer company's QuickBooks connection: realm, encrypted tokens, account mapping."""

    company_id: str = Field(primary_key=True, max_length=100)
    realm_id: str = Field(index=True, unique=True, max_length=50)
    status: str = Field(
        default="connected", max_length=20
    )  # connected | reconnect_required | disconnected
    status_reason: str | None = None
    access_token_enc: str
    refresh_token_enc: str
    access_expires_at: datetime
    refresh_expires_at: datetime | None = None
    token_version: int = 0
    # The cross-process token refresh lease: who refreshes `token_version` now, and until when.
    refresh_lease_owner: str | None = Field(default=None, max_length=200)
    refresh_lease_until: datetime | None = None
    income_account_id: str | None = None
    deposit_account_id: str | None = None
    refund_account_id: str | None = None
    payouts_account_id: str | None = None
    fees_account_id: str | None = None
    inventory_asset_account_id: str | None = None
    cogs_account_id: str | None = None
    sync_enabled: bool = False
    sync_started_at: datetime | None = None
    # How the QBO company taxes sales, read once when an invoice first carries tax:
    # "ast" (Automated Sales Tax), "manual", or the country code of a non-US company.
    sales_tax_mode: str | None = Field(default=None, max_length=20)
    # QBO records every event of the company needs, kept from the answer that made or found
    # them (so no event reads them again): the Accounts Receivable account, the refund item.
    receivable_account_id: str | None = Field(default=None, max_length=40)
    refund_item_id: str | None = Field(default=None, max_length=40)
    # The company's IANA time zone: the activity page shows times as the office reads them.
    timezone: str = Field(default="UTC", max_length=64)
    connected_at: datetime = Field(default_factory=utcnow)
    updated_at: datetime = Field(default_factory=utcnow)


class Link(SQLModel, table=True):
    """Skimmer record ↔ QBO entity. After the first match this is the truth; names never re-match."""

    # Scoped by realm: a company that reconnects to another QBO company starts with no links.
    __table_args__ = (UniqueConstraint("company_id", "realm_id", "record_kind", "record_id"),)

    id: int | None = Field(default=None, primary_key=True)
    company_id: str = Field(index=True, max_length=100)
    realm_id: str = Field(max_length=50)
    record_kind: str = Field(max_length=40)  # customer | product | work_order_type | dosage | ...
    record_id: str = Field(max_length=100)
    qbo_type: str = Field(max_length=40)
    qbo_id: str = Field(max_length=40)
    sync_token: str | None = None
    # What was last written for the Skimmer record (a hash of the snapshot sent): the same
    # snapshot again needs no QBO call. None: unknown, so the next event writes.
    fingerprint: str | None = Field(default=None, max_length=64)
    # What later events need from QBO's last answer about the record (JSON: its name, balance,
    # customer, lines...), so they do not read it back. None: read it when needed.
    state: str | None = None
    updated_at: datetime = Field(default_factory=utcnow)


class AcceptedEvent(SQLModel, table=True):
    """Every billing event accepted once; a repeat of the same event id is answered "duplicate".

    Also the outbox: the event is stored before it is handed to Temporal (`dispatched_at` set
    once its lane has it), so an event answered 202 runs even if the API dies right after, or
    Temporal is down for a while: undispatched rows are sent again by the API's sweeper.
    """

    event_id: str = Field(primary_key=True, max_length=200)
    company_id: str = Field(index=True, max_length=100)
    type: str = Field(max_length=40)
    record_kind: str = Field(max_length=40)
    record_id: str = Field(max_length=100)
    workflow_id: str = Field(max_length=400)
    accepted_at: datetime = Field(default_factory=utcnow)
    realm_id: str | None = Field(default=None, max_length=50)
    payload: str | None = None  # the event as accepted (JSON), for the sweeper
    dispatched_at: datetime | None = Field(default=None, index=True)
    # Operator retries: attempt n runs as workflow "<first workflow id>/retry-<n>".
    attempt: int = 0


class RecordOwner(SQLModel, table=True):
    """Which customer a payment, invoice or credit belongs to (learnt when its events arrive), so
    later events that name only the payment still run in that customer's lane."""

    company_id: str = Field(primary_key=True, max_length=100)
    record_kind: str = Field(primary_key=True, max_length=40)
    record_id: str = Field(primary_key=True, max_length=100)
    customer_id: str = Field(max_length=100)


class ActivityLogEntry(SQLModel, table=True):
    """One line of a company's Integrations → Activity log."""

    id: int | None = Field(default=None, primary_key=True)
    # Makes retried log writes harmless: one line per (workflow, step).
    entry_key: str = Field(unique=True, max_length=500)
    company_id: str = Field(index=True, max_length=100)
    at: datetime = Field(default_factory=utcnow, index=True)
    record_type: str = Field(max_length=40)
    record_id: str = Field(max_length=100)
    action: str = Field(max_length=40)
    outcome: str = Field(max_length=20)  # success | failed | retrying
    message: str
    qbo_type: str | None = None
    qbo_id: str | None = None
    workflow_id: str = Field(max_length=400)
    event_id: str | None = Field(default=None, max_length=200)
    # Who the line is about, for the office (ids alone mean nothing to them); None when unknown.
    customer_name: str | None = Field(default=None, max_length=200)
    # A failed line whose event was retried and then succeeded.
    resolved: bool = False


class JournaledWrite(SQLModel, table=True):
    """One QBO write of an activity step, noted before it is sent and again when it is done, so a
    retry after a lost reply or a killed worker finds the effect of this very request."""

    realm_id: str = Field(primary_key=True, max_length=50)
    journal_key: str = Field(primary_key=True, max_length=50)  # stable per activity step
    company_id: str = Field(index=True, max_length=100)
    request: str  # the write as sent, with its QBO requestid (wire JSON): sent again unchanged
    note: str  # what the step's report needs that only the look-up before the write knew
    outcome: str | None = None  # the step's report (JSON) once done; None: sent, may have committed
    sent_at: datetime = Field(default_factory=utcnow)
    done_at: datetime | None = None


class Reconciliation(SQLModel, table=True):
    """A company's last reconciliation with one QBO company: QBO's clock when its change feed
    was read, so the next run asks only for what changed since."""

    company_id: str = Field(primary_key=True, max_length=100)
    realm_id: str = Field(primary_key=True, max_length=50)
    checked_until: datetime
    finished_at: datetime = Field(default_factory=utcnow)
