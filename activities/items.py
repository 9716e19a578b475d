"""ensure_item: a Skimmer product, work order type or dosage exists in QBO as an Item, linked.

Item names are unique among items, so a name taken in QBO means "that item": created once however
many lanes need it at the same instant. The income account (and an inventory item's stock
accounts and starting quantity) are sent on create only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common import Deps, active_connection, mapped_account, qbo_errors, request_id
from activities.linking import first_free_name, read_linked
from activities.models import EnsureItemInput, SyncOutcome
from activities.naming import candidate_names, is_variant_of
from billing.snapshots import Item
from qbo import DuplicateNameError, QBOClient
from qbo import models as q
from qbo.client import quote
from store import Connection

QBO_ITEM_TYPE: dict[str, q.ItemType] = {
    "service": "Service",
    "non_inventory": "NonInventory",
    "inventory": "Inventory",
}

LABEL = {"product": "Product", "work_order_type": "Work order type", "dosage": "Dosage"}

# QBO renames an item it makes inactive "<name> (deleted)"; the name stays taken.
DELETED_SUFFIX = " (deleted)"


async def find_item(qbo: QBOClient, realm_id: str, name: str) -> q.Item | None:
    """The QBO item holding `name`, an inactive one too (plain queries hide inactive items)."""
    rows = await qbo.query(
        realm_id,
        q.Item,
        "SELECT * FROM Item WHERE Active IN (true, false) "
        f"AND Name IN ({quote(name)}, {quote(name + DELETED_SUFFIX)})",
    )
    rows.sort(key=lambda row: row.Active is False)  # an active one first, should QBO hold both
    return rows[0] if rows else None


async def create_or_find_item(
    qbo: QBOClient, realm_id: str, body: q.Item, request_id: str
) -> tuple[q.Item, bool]:
    """Create the item, or (6240: another lane made it meanwhile) the one of that name.

    True when this call created it. Items are their own name list, so a 6240 always means an item.
    """
    assert body.Name is not None
    try:
        return await qbo.create(realm_id, body, request_id), True
    except DuplicateNameError:
        found = await find_item(qbo, realm_id, body.Name)
        if found is None:
            # QBO's queries can trail its writes by a moment: look again on the next attempt.
            raise ApplicationError(
                f"QuickBooks says an item named {body.Name!r} exists but does not list it yet",
                type="QBOUnavailable",
            ) from None
        return found, False


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


def with_stock(body: q.Item, conn: Connection, item: Item, record: str) -> q.Item:
    """A new Inventory item: the mapped stock accounts and Skimmer's count today.

    Sent on create only: from then on QBO owns the quantity (each sale lowers it).
    """
    return body.model_copy(
        update={
            "TrackQtyOnHand": True,
            "QtyOnHand": item.quantity_on_hand or Decimal(0),
            "InvStartDate": datetime.now(UTC).date().isoformat(),
            "AssetAccountRef": q.Ref(value=mapped_account(conn, "inventory_asset", record)),
            "ExpenseAccountRef": q.Ref(value=mapped_account(conn, "cogs", record)),
        }
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

            existing = await find_item(self._qbo, realm, qbo_item_name(item))
            if existing is None:
                income_account_id = mapped_account(conn, "income", record)
                body = item_fields(item).model_copy(
                    update={
                        "Name": qbo_item_name(item),
                        "Type": QBO_ITEM_TYPE[item.kind],
                        "IncomeAccountRef": q.Ref(value=income_account_id),
                    }
                )
                if item.kind == "inventory":
                    body = with_stock(body, conn, item, record)
                existing, created = await create_or_find_item(
                    self._qbo, realm, body, request_id(f"create/{body.Name}")
                )
                if created:
                    return await self._linked(input, realm, existing, "created", body.Name or "")
            return await self._update(input, realm, existing, "linked")

    async def _update(
        self, input: EnsureItemInput, realm: str, current: q.Item, action: str
    ) -> SyncOutcome:
        assert current.Id is not None and current.SyncToken is not None
        base = qbo_item_name(input.item)
        fields = item_fields(input.item).model_copy(
            update={"Id": current.Id, "SyncToken": current.SyncToken}
        )
        # A rename in Skimmer onto a name another QBO item holds keeps both items: "(2)".
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
        if action == "created" and saved.Type == "Inventory":
            message = (
                f"{label} {name} created in QuickBooks as an inventory item with the default "
                f"income account and {saved.QtyOnHand or 0} on hand"
            )
        elif action == "created":
            message = f"{label} {name} created in QuickBooks with the default income account"
        elif action == "linked":
            message = f"{label} {name} linked to the existing QuickBooks item of that name"
        else:
            message = f"{label} {name} updated in QuickBooks"
        if name != qbo_item_name(input.item):
            message += f" (the name {input.item.name} is taken in QuickBooks, so it is {name})"
        return SyncOutcome(action=action, qbo_type="Item", qbo_id=saved.Id, message=message)
