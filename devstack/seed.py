"""Connect a Skimmer company to a fresh QBO sandbox realm (what the OAuth connect flow stores)."""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from store import Store


@dataclass(frozen=True)
class SandboxCompany:
    company_id: str
    realm_id: str
    accounts: dict[str, str]  # name -> QBO account id


async def connect_sandbox_company(
    store: Store, http: httpx.AsyncClient, sandbox_url: str, company_id: str
) -> SandboxCompany:
    reply = await http.post(f"{sandbox_url}/__sandbox/realms", json={"company_name": company_id})
    reply.raise_for_status()
    realm = reply.json()
    await store.save_connection(
        company_id,
        realm["realm_id"],
        realm["access_token"],
        realm["refresh_token"],
        int(realm["expires_in"]),
        realm.get("x_refresh_token_expires_in"),
    )
    accounts = {a["Name"]: a["Id"] for a in realm["accounts"]}
    return SandboxCompany(company_id, realm["realm_id"], accounts)
