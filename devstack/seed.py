"""Connect a Skimmer company the way a person does: the API's OAuth connect flow, which the
sandbox approves at once, then the account mapping through the settings API."""

from __future__ import annotations

from dataclasses import dataclass

import httpx


@dataclass(frozen=True)
class ConnectedCompany:
    company_id: str
    realm_id: str
    accounts: dict[str, str]  # name -> QBO account id


async def connect_company(
    http: httpx.AsyncClient, api_url: str, company_id: str
) -> ConnectedCompany:
    """Connect → Intuit (sandbox) approves → callback → settings; returns the realm and accounts."""
    landed = await http.get(
        f"{api_url}/companies/{company_id}/quickbooks/connect", follow_redirects=True
    )
    if landed.status_code != 200:
        raise RuntimeError(f"connecting {company_id} failed: {landed.status_code} {landed.text}")
    realm_id = landed.json()["realm_id"]
    listed = await http.get(f"{api_url}/companies/{company_id}/quickbooks/accounts")
    listed.raise_for_status()
    accounts = {a["name"]: a["id"] for a in listed.json()}
    return ConnectedCompany(company_id, realm_id, accounts)


async def choose_accounts_and_sync(
    http: httpx.AsyncClient, api_url: str, company: ConnectedCompany
) -> dict[str, object]:
    """The recommended mapping: income, Undeposited Funds for deposits, refunds from Checking."""
    reply = await http.put(
        f"{api_url}/companies/{company.company_id}/quickbooks/settings",
        json={
            "income_account_id": company.accounts["Sales of Product Income"],
            "deposit_account_id": company.accounts["Undeposited Funds"],
            "refund_account_id": company.accounts["Checking"],
            "sync_enabled": True,
        },
    )
    reply.raise_for_status()
    return dict(reply.json())
