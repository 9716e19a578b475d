"""What every QBO activity shares: its dependencies, requestids, and QBO faults → Temporal errors."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from qbo import QBOClient
from qbo.errors import (
    InvalidReferenceError,
    ObjectNotFoundError,
    QBOError,
    ReconnectRequiredError,
    StaleObjectError,
    ThrottledError,
)
from store import Connection, Store

# Error types a workflow may name in `non_retryable_error_types`.
BAD_INPUT = "BadInput"
NOT_CONNECTED = "NotConnected"
RECONNECT_REQUIRED = "ReconnectRequired"
QBO_REJECTED = "QBORejected"
# QBO refused a reference to another record (inactive or gone there): that record may have been
# changed by hand in QBO since our last write, so the workflow checks it once and tries again.
STALE_REFERENCE = "QBOStaleReference"
NON_RETRYABLE = [BAD_INPUT, NOT_CONNECTED, RECONNECT_REQUIRED, QBO_REJECTED, STALE_REFERENCE]


@dataclass(frozen=True)
class Deps:
    store: Store
    qbo: QBOClient


# The part of an activity a step belongs to, when one activity does the work of several (their
# steps would otherwise share names, and so requestids and journal keys).
PART: ContextVar[str] = ContextVar("activity_part", default="")


@contextmanager
def part(name: str) -> Iterator[None]:
    token = PART.set(f"{name}/")
    try:
        yield
    finally:
        PART.reset(token)


def request_id(step: str) -> str:
    """QBO `requestid` for one logical write: stable across retries and worker restarts."""
    info = activity.info()
    return str(
        uuid.uuid5(uuid.NAMESPACE_URL, f"{info.workflow_id}/{info.activity_id}/{PART.get()}{step}")
    )


def request_key(key: str) -> str:
    """QBO `requestid` for a write that must happen once whichever workflow makes it."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, key))


def permanent(message: str, kind: str = BAD_INPUT) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


async def active_connection(store: Store, company_id: str) -> Connection:
    conn = await store.get_connection(company_id)
    if conn is None or conn.status == "disconnected":
        raise permanent(f"company {company_id} has no QuickBooks connection", NOT_CONNECTED)
    if conn.status == "reconnect_required":
        raise permanent(
            f"company {company_id}: QuickBooks connection expired or was revoked; "
            "reconnect QuickBooks in Integrations",
            RECONNECT_REQUIRED,
        )
    return conn


ACCOUNT_LABELS = {
    "income": "default income account",
    "deposit": "deposit account",
    "refund": "refund-from account",
    "inventory_asset": "inventory asset account",
    "cogs": "cost of goods sold account",
}


def mapped_account(
    conn: Connection,
    which: Literal["income", "deposit", "refund", "inventory_asset", "cogs"],
    record: str,
) -> str:
    """The QBO account the company mapped for `which`; missing → a permanent, actionable error."""
    account_id: str | None = getattr(conn, f"{which}_account_id")
    if not account_id:
        raise permanent(
            f"{record}: no {ACCOUNT_LABELS[which]} is chosen for company {conn.company_id}; "
            "choose one in Integrations → QuickBooks settings"
        )
    return account_id


@contextmanager
def qbo_errors(record: str) -> Iterator[None]:
    """Classify QBO faults for Temporal: permanent ones stop, the rest retry (429 after a wait)."""
    try:
        yield
    except ReconnectRequiredError as exc:
        raise permanent(
            f"{record}: QuickBooks refused the saved login; reconnect QuickBooks in Integrations",
            RECONNECT_REQUIRED,
        ) from exc
    except ThrottledError as exc:
        raise ApplicationError(
            f"{record}: QuickBooks rate limit reached; retrying in {exc.retry_after_seconds:.0f}s",
            type="QBOThrottled",
            next_retry_delay=timedelta(seconds=exc.retry_after_seconds),
        ) from exc
    except StaleObjectError as exc:
        # Another writer changed the record: the next attempt re-reads it and re-applies.
        raise ApplicationError(f"{record}: {exc}", type="QBOStaleObject") from exc
    except (InvalidReferenceError, ObjectNotFoundError) as exc:
        # 2500 / 610: something the write names is inactive or gone in QBO.
        raise permanent(f"{record}: {exc}", STALE_REFERENCE) from exc
    except QBOError as exc:
        if exc.retryable:
            raise ApplicationError(f"{record}: {exc}", type="QBOUnavailable") from exc
        raise permanent(f"{record}: {exc}", QBO_REJECTED) from exc
