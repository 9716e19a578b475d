"""A test's view of one sandbox company: control API calls plus QBO API calls with its token."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import httpx


@dataclass
class Company:
    http: httpx.AsyncClient
    realm_id: str
    access_token: str
    refresh_token: str
    accounts: list[dict[str, Any]] = field(default_factory=list)

    @classmethod
    async def new(cls, http: httpx.AsyncClient, company_name: str | None = None) -> Company:
        body = {"company_name": company_name} if company_name else None
        response = await http.post("/__sandbox/realms", json=body)
        assert response.status_code == 201, response.text
        realm = response.json()
        return cls(
            http,
            realm["realm_id"],
            realm["access_token"],
            realm["refresh_token"],
            realm["accounts"],
        )

    # --- QBO API --------------------------------------------------------------------------

    def path(self, tail: str) -> str:
        return f"/v3/company/{self.realm_id}/{tail}"

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.access_token}", "Accept": "application/json"}

    async def post(self, entity: str, body: object, **params: str) -> httpx.Response:
        params.setdefault("minorversion", "75")
        return await self.http.post(
            self.path(entity.lower()), json=body, params=params, headers=self.headers
        )

    async def get(self, entity: str, record_id: str) -> httpx.Response:
        return await self.http.get(
            self.path(f"{entity.lower()}/{record_id}"),
            params={"minorversion": "75"},
            headers=self.headers,
        )

    async def query(self, text: str) -> httpx.Response:
        return await self.http.get(
            self.path("query"), params={"query": text, "minorversion": "75"}, headers=self.headers
        )

    async def rows(self, text: str) -> list[dict[str, Any]]:
        """The rows of a query (whatever the entity), [] when QBO answers an empty QueryResponse."""
        response = await self.query(text)
        assert response.status_code == 200, response.text
        reply = response.json()["QueryResponse"]
        lists = [value for value in reply.values() if isinstance(value, list)]
        return lists[0] if lists else []

    async def create(self, entity: str, body: dict[str, Any], **params: str) -> dict[str, Any]:
        response = await self.post(entity, body, **params)
        assert response.status_code == 200, response.text
        return response.json()[entity]  # type: ignore[no-any-return]

    async def update(self, entity: str, body: dict[str, Any]) -> dict[str, Any]:
        return await self.create(entity, body)

    def account_id(self, name: str) -> str:
        return str(next(account["Id"] for account in self.accounts if account["Name"] == name))

    async def service_item(self, name: str, **fields: Any) -> dict[str, Any]:
        body = {
            "Name": name,
            "Type": "Service",
            "IncomeAccountRef": {"value": self.account_id("Services")},
        }
        return await self.create("Item", body | fields)

    # --- control API ----------------------------------------------------------------------

    async def request_log(self) -> list[dict[str, Any]]:
        response = await self.http.get(f"/__sandbox/realms/{self.realm_id}/requests")
        assert response.status_code == 200
        return response.json()["requests"]  # type: ignore[no-any-return]

    async def state(self) -> dict[str, list[dict[str, Any]]]:
        response = await self.http.get(f"/__sandbox/realms/{self.realm_id}")
        assert response.status_code == 200
        return response.json()["entities"]  # type: ignore[no-any-return]


def fault(response: httpx.Response) -> dict[str, str]:
    """The first error of a validation fault, after checking QBO's fault envelope."""
    assert response.status_code == 400, response.text
    body = response.json()
    assert set(body) == {"Fault", "time"}
    assert body["Fault"]["type"] == "ValidationFault"
    return body["Fault"]["Error"][0]  # type: ignore[no-any-return]


def exact_json(response: httpx.Response) -> Any:
    """The body with numbers as Decimal, to check money to the cent."""
    return json.loads(response.text, parse_float=Decimal, parse_int=Decimal)
