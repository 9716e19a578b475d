"""What an activity attempt has read, kept for its later steps: within `reads_kept()`, each link,
each company's connection and each journal entry read ahead is read from the store at most once,
and every link written is kept as written, so one activity's steps (the look-up, the invoice's
item lines, the payment) share what was read instead of asking the database again. A write this process makes through the store
drops what it changed; an attempt is short, so what another process changes meanwhile is seen
as the attempt began, as a single read would."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from store.tables import Connection, JournaledWrite, Link

# (company_id, realm_id, record_kind, record_id)
LinkKey = tuple[str, str, str, str]
# (realm_id, journal_key)
JournalKey = tuple[str, str]


@dataclass
class _Reads:
    links: dict[LinkKey, Link | None] = field(default_factory=dict)
    connections: dict[str, Connection | None] = field(default_factory=dict)
    journal: dict[JournalKey, JournaledWrite | None] = field(default_factory=dict)


_KEPT: ContextVar[_Reads | None] = ContextVar("kept_reads", default=None)


@contextmanager
def reads_kept() -> Iterator[None]:
    """Keep the links and connections read (and links written) until the block ends."""
    token = _KEPT.set(_Reads())
    try:
        yield
    finally:
        _KEPT.reset(token)


def active() -> bool:
    return _KEPT.get() is not None


# Links --------------------------------------------------------------------------------------


def kept_link(key: LinkKey) -> tuple[bool, Link | None]:
    """(True, the link or None for "no link") when it is kept; (False, None) otherwise."""
    reads = _KEPT.get()
    if reads is None or key not in reads.links:
        return False, None
    return True, reads.links[key]


def keep_link(key: LinkKey, link: Link | None) -> None:
    if (reads := _KEPT.get()) is not None:
        reads.links[key] = link


def forget_link(key: LinkKey) -> None:
    """The link changed in a way not kept here: the next read asks the store."""
    if (reads := _KEPT.get()) is not None:
        reads.links.pop(key, None)


def kept_link_to(company_id: str, realm_id: str, qbo_type: str, qbo_id: str) -> Link | None:
    """The kept link pointing at this QBO record, if one is kept."""
    reads = _KEPT.get()
    for link in reads.links.values() if reads is not None else ():
        if link is not None and (link.company_id, link.realm_id, link.qbo_type, link.qbo_id) == (
            company_id,
            realm_id,
            qbo_type,
            qbo_id,
        ):
            return link
    return None


# Connections --------------------------------------------------------------------------------


def kept_connection(company_id: str) -> tuple[bool, Connection | None]:
    reads = _KEPT.get()
    if reads is None or company_id not in reads.connections:
        return False, None
    return True, reads.connections[company_id]


def keep_connection(company_id: str, connection: Connection | None) -> None:
    if (reads := _KEPT.get()) is not None:
        reads.connections[company_id] = connection


def forget_connections() -> None:
    """A connection was written (settings, tokens, ids found in QBO): read them again."""
    if (reads := _KEPT.get()) is not None:
        reads.connections.clear()


# Journal entries ----------------------------------------------------------------------------


def kept_journal(key: JournalKey) -> tuple[bool, JournaledWrite | None]:
    """(True, the entry or None for "none") when read ahead and not written since."""
    reads = _KEPT.get()
    if reads is None or key not in reads.journal:
        return False, None
    return True, reads.journal[key]


def keep_journal(key: JournalKey, entry: JournaledWrite | None) -> None:
    if (reads := _KEPT.get()) is not None:
        reads.journal[key] = entry


def forget_journal(key: JournalKey) -> None:
    """The entry is being written: the next read asks the store."""
    if (reads := _KEPT.get()) is not None:
        reads.journal.pop(key, None)
