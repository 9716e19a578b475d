"""ensure_item: a Skimmer product, work order type or dosage exists in QBO as an Item, linked.

Item names are unique among items, so a name taken in QBO means "that item": created once however
many lanes need it at the same instant. The income account (and an inventory item's stock
accounts and starting quantity) are sent on create only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from temporalio import activity
from temporalio.exceptions import ApplicationError

from activities.common import Deps, active_connection, mapped_account, qbo_errors, request_id
from activities.linking import fingerprint, first_free_name, read_link_target, trusted_state
from activities.models import EnsureItemInput, SyncOutcome
from activities.naming import candidate_names, is_variant_of
from billing.snapshots import Invoice, Item
from qbo import DuplicateNameError, ObjectNotFoundError, QBOClient, StaleObjectError
from qbo import models as q
from qbo.client import quote
from store import Connection, Store

QBO_ITEM_TYPE: dict[str, q.ItemType] = {
    "service": "Service",
    "non_inventory": "NonInventory",
    "inventory": "Inventory",
}

LABEL = {"product": "Product", "work_order_type": "Work order type", "dosage": "Dosage"}

# Part of every fingerprint: a change to what is sent (item_fields) bumps it, so links
# fingerprinted before the change are written once more.
FINGERPRINT_SHAPE = "item/1"

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
        conn = await active_connection(self._store, input.company_id)
        with qbo_errors(f"{input.item_type} {input.item.id}"):
            try:
                return await self._ensure(input, conn)
            except StaleObjectError:
                # Changed in QBO since our last write: the next attempt reads it once.
                await self._store.forget_link_state(
                    input.company_id, conn.realm_id, input.item_type, input.item.id
                )
                raise

    async def _ensure(self, input: EnsureItemInput, conn: Connection) -> SyncOutcome:
        item, realm = input.item, conn.realm_id
        link = await self._store.get_link(input.company_id, realm, input.item_type, item.id)
        state = None if input.recheck else trusted_state(link)
        if link is not None and state is not None:
            if link.fingerprint == item_fingerprint(input):
                return unchanged(input, link.qbo_id, state)
            known = q.Item(Id=link.qbo_id, SyncToken=link.sync_token, Name=state["name"])
            try:
                return await self._update(input, realm, known, "updated")
            except ObjectNotFoundError:
                # Gone from QBO (merged or deleted there): create or link it again.
                await self._store.delete_link(input.company_id, realm, input.item_type, item.id)
        elif link is not None:
            # A link from an older release keeps no state: read the item once.
            current = await read_link_target(self._store, self._qbo, link, q.Item)
            if current is not None:
                return await self._update(input, realm, current, "updated")
        return await self._create(input, conn)

    async def _create(self, input: EnsureItemInput, conn: Connection) -> SyncOutcome:
        """Create first; QBO's 6240 (the name is taken) means "that item": link it."""
        item, realm = input.item, conn.realm_id
        name = qbo_item_name(item)
        try:
            body = new_item(conn, input)
        except ApplicationError:
            # No account to create it with: an item of that name in QBO can still be linked.
            existing = await find_item(self._qbo, realm, name)
            if existing is None:
                raise
            return await self._update(input, realm, existing, "linked")
        existing, created = await create_or_find_item(
            self._qbo, realm, body, request_id(f"create/{name}")
        )
        if created:
            return await self._linked(input, realm, existing, "created", name)
        return await self._update(input, realm, existing, "linked")

    async def _update(
        self, input: EnsureItemInput, realm: str, current: q.Item, action: str
    ) -> SyncOutcome:
        """Skimmer's fields, sparse, on the Id and SyncToken stored or read; a "(2)" name is kept."""
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
            fingerprint=item_fingerprint(input),
            state={"name": saved.Name or name},  # a "(2)" name QBO holds is kept on a re-save
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


def new_item(conn: Connection, input: EnsureItemInput) -> q.Item:
    """The body that creates the item: the mapped income account (and stock, for inventory)."""
    item = input.item
    record = f"{input.item_type} {item.id}"
    body = item_fields(item).model_copy(
        update={
            "Name": qbo_item_name(item),
            "Type": QBO_ITEM_TYPE[item.kind],
            "IncomeAccountRef": q.Ref(value=mapped_account(conn, "income", record)),
        }
    )
    if item.kind == "inventory":
        body = with_stock(body, conn, item, record)
    return body


def item_fingerprint(input: EnsureItemInput) -> str:
    """What ensure_item writes for this snapshot: the same one again needs no QBO call."""
    item = input.item
    return fingerprint(
        FINGERPRINT_SHAPE, input.item_type, item.kind, item_fields(item), qbo_item_name(item)
    )


def unchanged(input: EnsureItemInput, qbo_id: str, state: dict[str, Any]) -> SyncOutcome:
    message = f"{LABEL[input.item_type]} {state['name']} already matches QuickBooks"
    return SyncOutcome(action="unchanged", qbo_type="Item", qbo_id=qbo_id, message=message)


async def synced_item(store: Store, realm: str, input: EnsureItemInput) -> SyncOutcome | None:
    """What ensure_item would report, when the link says QBO holds this very snapshot; None
    when it must run."""
    link = await store.get_link(input.company_id, realm, input.item_type, input.item.id)
    state = trusted_state(link)
    if link is None or state is None or link.fingerprint != item_fingerprint(input):
        return None
    return unchanged(input, link.qbo_id, state)


def invoice_items(
    company_id: str, invoice: Invoice, recheck: bool = False
) -> list[EnsureItemInput]:
    """Every distinct item the invoice sells that comes with a snapshot."""
    distinct = {(line.item_type, line.item_id): line for line in invoice.lines if line.item}
    return [
        EnsureItemInput(
            company_id=company_id, item_type=line.item_type, item=line.item, recheck=recheck
        )
        for line in distinct.values()
        if line.item is not None
    ]
