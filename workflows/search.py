"""Search attributes operators filter on in the Temporal UI (ids only: never names or emails).

`ALL_KEYS` is what every server we set up registers (tests, `make up`, docker-compose).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from temporalio.common import (
    SearchAttributeIndexedValueType,
    SearchAttributeKey,
    SearchAttributePair,
    TypedSearchAttributes,
)

COMPANY_ID = SearchAttributeKey.for_keyword("CompanyId")
REALM_ID = SearchAttributeKey.for_keyword("RealmId")
# The record whose lane runs the event, "kind:id": `SkimmerRecord = "customer:cust_1"`.
SKIMMER_RECORD = SearchAttributeKey.for_keyword("SkimmerRecord")
BILLING_EVENT = SearchAttributeKey.for_keyword("BillingEvent")
# Every invoice, payment and credit an event's workflow touches, "kind:id" like SkimmerRecord:
# `SkimmerTouches = "invoice:inv_1043"` lists every sync of that invoice, whichever lane ran it.
# One list for all kinds: a server has only three KeywordList slots (SQLite and SQL visibility).
SKIMMER_TOUCHES = SearchAttributeKey.for_keyword_list("SkimmerTouches")
# Set by an event's workflow while it waits (e.g. for the company to reconnect QuickBooks).
SYNC_STATE = SearchAttributeKey.for_keyword("SyncState")
WAITING_FOR_RECONNECT = "waiting_for_reconnect"

ALL_KEYS: list[SearchAttributeKey[Any]] = [
    COMPANY_ID,
    REALM_ID,
    SKIMMER_RECORD,
    BILLING_EVENT,
    SKIMMER_TOUCHES,
    SYNC_STATE,
]

# The type names `temporal` (CLI and server) uses for the index types we register.
SERVER_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.KEYWORD_LIST: "KeywordList",
}


def registration(key: SearchAttributeKey[Any]) -> str:
    """`Name=Type`, as `temporal server start-dev --search-attribute` takes it."""
    return f"{key.name}={SERVER_TYPE_NAMES[key.indexed_value_type]}"


def dev_server_args(keys: Sequence[SearchAttributeKey[Any]] = ALL_KEYS) -> list[str]:
    """The `--search-attribute Name=Type` arguments registering `keys` on a dev server."""
    return [arg for key in keys for arg in ("--search-attribute", registration(key))]


def attributes(
    company_id: str,
    record: str,
    realm_id: str | None = None,
    event_type: str | None = None,
    touches: Iterable[tuple[str, str]] = (),
) -> TypedSearchAttributes:
    pairs: list[SearchAttributePair[Any]] = [
        SearchAttributePair(COMPANY_ID, company_id),
        SearchAttributePair(SKIMMER_RECORD, record),
    ]
    if realm_id:
        pairs.append(SearchAttributePair(REALM_ID, realm_id))
    if event_type:
        pairs.append(SearchAttributePair(BILLING_EVENT, event_type))
    touched = list(dict.fromkeys(f"{kind}:{record_id}" for kind, record_id in touches))
    if touched:
        pairs.append(SearchAttributePair(SKIMMER_TOUCHES, touched))
    return TypedSearchAttributes(pairs)
