"""ensure_item: a Skimmer product, work order type or dosage exists in QBO as an Item, linked.

The default income account is sent on create only: a change made in QBO stays.
"""

from __future__ import annotations

from temporalio import activity

from activities.common import Deps, active_connection, mapped_account, qbo_errors, request_id
from activities.linking import first_free_name, read_linked
from activities.models import EnsureItemInput, SyncOutcome
from activities.naming import candidate_names, is_variant_of
from billing.snapshots import Item
from qbo import models as q
from qbo.client import quote

QBO_ITEM_TYPE: dict[str, q.ItemType] = {
    "service": "Service",
    "non_inventory": "NonInventory",
    # Inventory needs asset/expense accounts that the settings do not map yet.
    "inventory": "NonInventory",
}

LABEL = {"product": "Product", "work_order_type": "Work order type", "dosage": "Dosage"}


def qbo_item_name(item: Item) -> str:
    # QBO item names may not contain a colon (it separates sub-items).
    return item.name.replace(":", " -").strip()


def item_fields(item: Item) -> q.Item:
    """What Skimmer owns on an item; never the income account."""
    return q.Item(
        Description=item.description,
        UnitPrice=item.unit_price,
        Sku=item.sku,
        Active=item.active,
    )


class ItemActivities:
    def __init__(self, deps: Deps) -> None:
        self._store = deps.store
        self._qbo = deps.qbo

    @activity.defn(name="ensure_item")
    async def ensure_item(self, input: EnsureItemInput) -> SyncOutcome:
        item = input.item
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        record = f"{input.item_type} {item.id}"
        with qbo_errors(record):
            current = await read_linked(
                self._store, self._qbo, realm, input.company_id, input.item_type, item.id, q.Item
            )
            if current is not None:
                return await self._update(input, realm, current, "updated")

            existing = await self._qbo.query(
                realm, q.Item, f"SELECT * FROM Item WHERE Name = {quote(qbo_item_name(item))}"
            )
            if existing:
                return await self._update(input, realm, existing[0], "linked")
            income_account_id = mapped_account(conn, "income", record)
            return await self._create(input, realm, income_account_id)

    async def _create(
        self, input: EnsureItemInput, realm: str, income_account_id: str
    ) -> SyncOutcome:
        fields = item_fields(input.item).model_copy(
            update={
                "Type": QBO_ITEM_TYPE[input.item.kind],
                "IncomeAccountRef": q.Ref(value=income_account_id),
            }
        )

        async def create(name: str) -> q.Item:
            body = fields.model_copy(update={"Name": name})
            return await self._qbo.create(realm, body, request_id(f"create/{name}"))

        created, name = await first_free_name(candidate_names(qbo_item_name(input.item)), create)
        return await self._linked(input, realm, created, "created", name)

    async def _update(
        self, input: EnsureItemInput, realm: str, current: q.Item, action: str
    ) -> SyncOutcome:
        assert current.Id is not None and current.SyncToken is not None
        base = qbo_item_name(input.item)
        fields = item_fields(input.item).model_copy(
            update={"Id": current.Id, "SyncToken": current.SyncToken}
        )
        names = (
            [current.Name or base] if is_variant_of(current.Name, base) else candidate_names(base)
        )

        async def update(name: str) -> q.Item:
            step = f"update/{current.Id}/{current.SyncToken}/{name}"
            return await self._qbo.update(
                realm, fields.model_copy(update={"Name": name}), request_id(step)
            )

        updated, name = await first_free_name(names, update)
        return await self._linked(input, realm, updated, action, name)

    async def _linked(
        self, input: EnsureItemInput, realm: str, saved: q.Item, action: str, name: str
    ) -> SyncOutcome:
        assert saved.Id is not None
        await self._store.save_link(
            input.company_id,
            realm,
            input.item_type,
            input.item.id,
            "Item",
            saved.Id,
            saved.SyncToken,
        )
        label = LABEL[input.item_type]
        if action == "created":
            message = f"{label} {name} created in QuickBooks with the default income account"
        elif action == "linked":
            message = f"{label} {name} linked to the existing QuickBooks item of that name"
        else:
            message = f"{label} {name} updated in QuickBooks"
        if name != qbo_item_name(input.item):
            message += f" (the name {input.item.name} is taken in QuickBooks, so it is {name})"
        return SyncOutcome(action=action, qbo_type="Item", qbo_id=saved.Id, message=message)
