"""What ensuring any linked QBO record shares: follow the link, and find a free name."""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

from activities.models import SyncOutcome
from qbo import DuplicateNameError, ObjectNotFoundError, QBOClient, wire
from qbo.models import QBOModel
from store import Link, Store

M = TypeVar("M", bound=QBOModel)


async def read_linked(
    store: Store,
    qbo: QBOClient,
    realm_id: str,
    company_id: str,
    record_kind: str,
    record_id: str,
    model: type[M],
) -> M | None:
    """The QBO record the link points at; None (and the link dropped) when QBO no longer has it."""
    link = await store.get_link(company_id, realm_id, record_kind, record_id)
    if link is None:
        return None
    return await read_link_target(store, qbo, link, model)


async def read_link_target(store: Store, qbo: QBOClient, link: Link, model: type[M]) -> M | None:
    """One read of the QBO record `link` points at; None (and the link dropped) when it is gone."""
    try:
        return await qbo.read(link.realm_id, model, link.qbo_id)
    except ObjectNotFoundError:
        # Gone from QBO (merged or deleted there): match or create it again, then re-link.
        await store.delete_link(link.company_id, link.realm_id, link.record_kind, link.record_id)
        return None


def trusted_state(link: Link | None) -> dict[str, Any] | None:
    """The link's state when it and the SyncToken can stand in for a read of the QBO record;
    None for no link, or one whose state is unknown (older releases, or a stale SyncToken)."""
    state = link_state(link)
    if link is None or state is None or link.sync_token is None:
        return None
    return state


async def link_and_report(
    store: Store,
    company_id: str,
    realm_id: str,
    record_kind: str,
    record_id: str,
    saved: QBOModel,
    action: str,
    message: str,
) -> SyncOutcome:
    """Remember the QBO record a Skimmer record is now linked to, and say what was done."""
    qbo_id: str | None = getattr(saved, "Id", None)
    assert qbo_id is not None, "QBO answered a write without an Id"
    qbo_type = type(saved).__name__
    await store.save_link(
        company_id,
        realm_id,
        record_kind,
        record_id,
        qbo_type,
        qbo_id,
        getattr(saved, "SyncToken", None),
    )
    return SyncOutcome(action=action, qbo_type=qbo_type, qbo_id=qbo_id, message=message)


async def first_free_name(
    names: Sequence[str], write: Callable[[str], Awaitable[M]]
) -> tuple[M, str]:
    """`write` under each name in turn until QBO does not answer 6240 (duplicate name)."""
    for name in names:
        try:
            return await write(name), name
        except DuplicateNameError:
            continue
    # The names may be a customer's: the failure counts them, the caller names the record by id.
    tried = "the one name tried is" if len(names) == 1 else f"all {len(names)} names tried are"
    raise DuplicateNameError(
        f"{tried} taken in QuickBooks (another customer, vendor, employee or item uses it); "
        "rename the record in Skimmer or the entry in QuickBooks",
        code="6240",
    )


def fingerprint(*parts: object) -> str:
    """A stable hash of what is sent for a record (pydantic models, dicts, strings): equal
    fingerprints mean the same write, so the second one is skipped."""
    canonical = [p.model_dump(mode="json") if isinstance(p, BaseModel) else p for p in parts]
    return hashlib.sha256(wire.dumps(canonical).encode()).hexdigest()


def link_state(link: Link | None) -> dict[str, Any] | None:
    """What the link keeps of QBO's last answer; None when it keeps nothing."""
    if link is None or link.state is None:
        return None
    state: dict[str, Any] = wire.loads(link.state)
    return state
