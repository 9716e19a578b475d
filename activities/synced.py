"""look_up_synced: which of an event's customer and items QBO already holds as last written.

A look-up in the service's store only, run as a local activity: records that need no QBO call
cost the event no activity task at all, only the workflow task it already has.
"""

from __future__ import annotations

from collections.abc import Sequence

from temporalio import activity

from activities.common import Deps, active_connection
from activities.customers import synced_customer
from activities.items import synced_item
from activities.models import SyncedQuery, SyncedRecords
from store import Store


class SyncedActivities:
    def __init__(self, deps: Deps) -> None:
        self._store = deps.store

    @activity.defn(name="look_up_synced")
    async def look_up_synced(self, input: SyncedQuery) -> SyncedRecords:
        realm = (await active_connection(self._store, input.company_id)).realm_id
        return await synced_records(self._store, realm, input)


async def synced_records(
    store: Store, realm: str, query: SyncedQuery, also: Sequence[tuple[str, str]] = ()
) -> SyncedRecords:
    """Per record of the query: what ensuring it would report, when QBO holds it as last
    written; None when it must be ensured. The links of `also` (record kind, id) are read with
    theirs, for the activity's later steps."""
    # One read for all of them (kept for the checks below and the activity's later steps).
    await store.get_links(query.company_id, realm, synced_links(query, also))
    customer = None
    if query.customer is not None:
        customer = await synced_customer(store, realm, query.company_id, query.customer)
    items = [await synced_item(store, realm, item) for item in query.items]
    return SyncedRecords(customer=customer, items=items)


def synced_links(query: SyncedQuery, also: Sequence[tuple[str, str]] = ()) -> list[tuple[str, str]]:
    """The (record kind, id) of the links `synced_records` looks at."""
    wanted: list[tuple[str, str]] = [*also, *((i.item_type, i.item.id) for i in query.items)]
    if query.customer is not None:
        wanted.append(("customer", query.customer.id))
    return wanted
