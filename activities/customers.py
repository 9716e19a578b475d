"""ensure_customer: the Skimmer customer exists in QBO, linked, with Skimmer's fields."""

from __future__ import annotations

from temporalio import activity

from activities.common import Deps, active_connection, qbo_errors, request_id
from activities.linking import first_free_name, read_linked
from activities.models import EnsureCustomerInput, SyncOutcome
from activities.naming import candidate_names, is_variant_of, same_text
from billing.snapshots import Customer
from qbo import models as q
from qbo.client import quote

RECORD_KIND = "customer"


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
            current = await read_linked(
                self._store,
                self._qbo,
                realm,
                input.company_id,
                RECORD_KIND,
                customer.id,
                q.Customer,
            )
            if current is not None:
                return await self._update(input, realm, current, "updated")

            match = await self._find_match(realm, customer)
            if match is not None:
                return await self._update(input, realm, match, "linked")
            return await self._create(input, realm)

    async def _find_match(self, realm: str, customer: Customer) -> q.Customer | None:
        same_name = await self._qbo.query(
            realm,
            q.Customer,
            f"SELECT * FROM Customer WHERE DisplayName = {quote(customer.display_name)}",
        )
        return next((c for c in same_name if matches(c, customer)), None)

    async def _create(self, input: EnsureCustomerInput, realm: str) -> SyncOutcome:
        customer = input.customer
        fields = customer_fields(customer)

        async def create(name: str) -> q.Customer:
            body = fields.model_copy(update={"DisplayName": name})
            return await self._qbo.create(realm, body, request_id(f"create/{name}"))

        created, name = await first_free_name(candidate_names(customer.display_name), create)
        return await self._linked(input, realm, created, "created", name)

    async def _update(
        self, input: EnsureCustomerInput, realm: str, current: q.Customer, action: str
    ) -> SyncOutcome:
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
        await self._store.save_link(
            input.company_id, realm, RECORD_KIND, customer.id, "Customer", saved.Id, saved.SyncToken
        )
        verb = {"created": "created", "updated": "updated", "linked": "matched and linked"}[action]
        message = f"Customer {name} {verb} in QuickBooks"
        if name != customer.display_name:
            message += (
                f" (the name {customer.display_name} is taken in QuickBooks, so it is {name})"
            )
        currency = saved.CurrencyRef.value if saved.CurrencyRef else None
        return SyncOutcome(
            action=action, qbo_type="Customer", qbo_id=saved.Id, message=message, currency=currency
        )
