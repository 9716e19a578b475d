"""Search attributes operators filter on in the Temporal UI (ids only: never names or emails)."""

from __future__ import annotations

from temporalio.common import SearchAttributeKey, SearchAttributePair, TypedSearchAttributes

COMPANY_ID = SearchAttributeKey.for_keyword("CompanyId")
REALM_ID = SearchAttributeKey.for_keyword("RealmId")
SKIMMER_RECORD = SearchAttributeKey.for_keyword("SkimmerRecord")
BILLING_EVENT = SearchAttributeKey.for_keyword("BillingEvent")
# running | waiting_for_reconnect (set by the workflow while it waits for the company).
SYNC_STATE = SearchAttributeKey.for_keyword("SyncState")

ALL_KEYS = [COMPANY_ID, REALM_ID, SKIMMER_RECORD, BILLING_EVENT, SYNC_STATE]


def attributes(
    company_id: str, record: str, realm_id: str | None = None, event_type: str | None = None
) -> TypedSearchAttributes:
    pairs = [
        SearchAttributePair(COMPANY_ID, company_id),
        SearchAttributePair(SKIMMER_RECORD, record),
    ]
    if realm_id:
        pairs.append(SearchAttributePair(REALM_ID, realm_id))
    if event_type:
        pairs.append(SearchAttributePair(BILLING_EVENT, event_type))
    return TypedSearchAttributes(pairs)
