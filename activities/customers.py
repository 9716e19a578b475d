"""ensure_customer: the Skimmer customer exists in QBO, linked, with Skimmer's fields."""

from __future__ import annotations

from typing import Any

from temporalio import activity

from activities.common import Deps, active_connection, qbo_errors, request_id
from activities.linking import fingerprint, first_free_name, read_link_target, trusted_state
from activities.models import EnsureCustomerInput, SyncOutcome
from activities.naming import candidate_names, is_variant_of, same_text
from billing.snapshots import Customer
from qbo import DuplicateNameError, ObjectNotFoundError, StaleObjectError
from qbo import models as q
from qbo.client import quote
from store import Store

RECORD_KIND = "customer"
# Part of every fingerprint: a change to what is sent (customer_fields) bumps it, so links
# fingerprinted before the change are written once more.
FINGERPRINT_SHAPE = "customer/1"


def customer_fields(customer: Customer) -> q.Customer:
    """Skimmer's customer as QBO fields (DisplayName is chosen separately)."""
    address = customer.billing_address
    return q.Customer(
        GivenName=customer.first_name or None,
        FamilyName=customer.last_name or None,
        CompanyName=customer.company_name or None,
        PrimaryEmailAddr=q.EmailAddress(Address=customer.email) if customer.email else None,
        PrimaryPhone=q.PhoneNumber(FreeFormNumber=customer.phone) if customer.phone else None,
        BillAddr=q.PhysicalAddress(
            Line1=address.line1,
            Line2=address.line2,
            City=address.city,
            CountrySubDivisionCode=address.state,
            PostalCode=address.postal_code,
            Country=address.country,
        )
        if address
        else None,
        Active=customer.active,
    )


def matches(qbo_customer: q.Customer, customer: Customer) -> bool:
    """Same name already checked: link only when the street address or the email also matches."""
    if (
        customer.billing_address
        and qbo_customer.BillAddr
        and same_text(qbo_customer.BillAddr.Line1, customer.billing_address.line1)
    ):
        return True
    email = qbo_customer.PrimaryEmailAddr.Address if qbo_customer.PrimaryEmailAddr else None
    return same_text(email, customer.email)


class CustomerActivities:
    def __init__(self, deps: Deps) -> None:
        self._store = deps.store
        self._qbo = deps.qbo

    @activity.defn(name="ensure_customer")
    async def ensure_customer(self, input: EnsureCustomerInput) -> SyncOutcome:
        customer = input.customer
        conn = await active_connection(self._store, input.company_id)
        realm = conn.realm_id
        with qbo_errors(f"customer {customer.id}"):
            try:
                return await self._ensure(input, realm)
            except StaleObjectError:
                # Changed in QBO since our last write: the next attempt reads it once.
                await self._store.forget_link_state(
                    input.company_id, realm, RECORD_KIND, customer.id
                )
                raise

    async def _ensure(self, input: EnsureCustomerInput, realm: str) -> SyncOutcome:
        customer = input.customer
        link = await self._store.get_link(input.company_id, realm, RECORD_KIND, customer.id)
        state = None if input.recheck else trusted_state(link)
        if link is not None and state is not None:
            if link.fingerprint == customer_fingerprint(customer):
                return unchanged(link.qbo_id, state)
            known = q.Customer(Id=link.qbo_id, SyncToken=link.sync_token, DisplayName=state["name"])
            try:
                return await self._update(input, realm, known, "updated")
            except ObjectNotFoundError:
                # Gone from QBO (merged or deleted there): create or match it again, then re-link.
                await self._store.delete_link(input.company_id, realm, RECORD_KIND, customer.id)
        elif link is not None:
            # A link from an older release keeps no state: read the record once.
            current = await read_link_target(self._store, self._qbo, link, q.Customer)
            if current is not None:
                return await self._update(input, realm, current, "updated")
        return await self._create(input, realm)

    async def _find_match(self, realm: str, customer: Customer) -> q.Customer | None:
        same_name = await self._qbo.query(
            realm,
            q.Customer,
            f"SELECT * FROM Customer WHERE DisplayName = {quote(customer.display_name)}",
        )
        return next((c for c in same_name if matches(c, customer)), None)

    async def _create(self, input: EnsureCustomerInput, realm: str) -> SyncOutcome:
        """Create first; only when QBO says the name is taken (6240) look for that customer."""
        customer = input.customer
        fields = customer_fields(customer)

        async def create(name: str) -> q.Customer:
            body = fields.model_copy(update={"DisplayName": name})
            return await self._qbo.create(realm, body, request_id(f"create/{name}"))

        base, *others = candidate_names(customer.display_name)
        try:
            return await self._linked(input, realm, await create(base), "created", base)
        except DuplicateNameError:
            match = await self._find_match(realm, customer)
            if match is not None:
                return await self._update(input, realm, match, "linked")
        created, name = await first_free_name(others, create)
        return await self._linked(input, realm, created, "created", name)

    async def _update(
        self, input: EnsureCustomerInput, realm: str, current: q.Customer, action: str
    ) -> SyncOutcome:
        """Skimmer's fields, sparse, on the Id and SyncToken stored or read; a "(2)" name is kept."""
        customer = input.customer
        assert current.Id is not None and current.SyncToken is not None
        fields = customer_fields(customer).model_copy(
            update={"Id": current.Id, "SyncToken": current.SyncToken}
        )
        if is_variant_of(current.DisplayName, customer.display_name):
            names = [current.DisplayName or customer.display_name]  # keep a disambiguated name
        else:
            names = candidate_names(customer.display_name)  # renamed in Skimmer

        async def update(name: str) -> q.Customer:
            body = fields.model_copy(update={"DisplayName": name})
            step = f"update/{current.Id}/{current.SyncToken}/{name}"
            return await self._qbo.update(realm, body, request_id(step))

        updated, name = await first_free_name(names, update)
        return await self._linked(input, realm, updated, action, name)

    async def _linked(
        self, input: EnsureCustomerInput, realm: str, saved: q.Customer, action: str, name: str
    ) -> SyncOutcome:
        customer = input.customer
        assert saved.Id is not None
        currency = saved.CurrencyRef.value if saved.CurrencyRef else None
        await self._store.save_link(
            input.company_id,
            realm,
            RECORD_KIND,
            customer.id,
            "Customer",
            saved.Id,
            saved.SyncToken,
            fingerprint=customer_fingerprint(customer),
            # The name QBO holds now (a "(2)" one is kept) and the currency payments check.
            state={"name": saved.DisplayName or name, "currency": currency},
        )
        verb = {"created": "created", "updated": "updated", "linked": "matched and linked"}[action]
        message = f"Customer {name} {verb} in QuickBooks"
        if name != customer.display_name:
            message += (
                f" (the name {customer.display_name} is taken in QuickBooks, so it is {name})"
            )
        return SyncOutcome(
            action=action, qbo_type="Customer", qbo_id=saved.Id, message=message, currency=currency
        )


def customer_fingerprint(customer: Customer) -> str:
    """What ensure_customer writes for this snapshot: the same one again needs no QBO call."""
    return fingerprint(FINGERPRINT_SHAPE, customer_fields(customer), customer.display_name)


def unchanged(qbo_id: str, state: dict[str, Any]) -> SyncOutcome:
    name: str = state["name"]
    currency: str | None = state.get("currency")
    return SyncOutcome(
        action="unchanged",
        qbo_type="Customer",
        qbo_id=qbo_id,
        message=f"Customer {name} already matches QuickBooks",
        currency=currency,
    )


async def synced_customer(
    store: Store, realm: str, company_id: str, customer: Customer
) -> SyncOutcome | None:
    """What ensure_customer would report, when the link says QBO holds this very snapshot (so
    nothing is to send); None when it must run."""
    link = await store.get_link(company_id, realm, RECORD_KIND, customer.id)
    state = trusted_state(link)
    if link is None or state is None or link.fingerprint != customer_fingerprint(customer):
        return None
    return unchanged(link.qbo_id, state)
