"""Everything one sandbox process remembers: companies, tokens, limits and injected faults."""

from __future__ import annotations

from dataclasses import dataclass, field

from qbo_sandbox.injection import FaultInjector
from qbo_sandbox.limits import Limits
from qbo_sandbox.oauth import TokenStore
from qbo_sandbox.realms import Realm, RealmRegistry, Record
from qbo_sandbox.seed import seed_chart_of_accounts

DEFAULT_COMPANY_NAME = "Sandbox Company"


@dataclass
class Sandbox:
    realms: RealmRegistry
    tokens: TokenStore
    limits: Limits = field(default_factory=Limits)
    faults: FaultInjector = field(default_factory=FaultInjector)
    log_bodies: bool = False  # keep each call's request and reply bodies in the request log

    async def new_company(
        self, company_name: str = DEFAULT_COMPANY_NAME
    ) -> tuple[Realm, list[Record]]:
        """A new company and its seeded accounts (for the control API and the authorize page)."""
        realm = self.realms.add(company_name)
        async with realm.lock:
            accounts = seed_chart_of_accounts(realm)
        return realm, accounts
