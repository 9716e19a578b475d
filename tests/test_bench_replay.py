"""The e2e bench's direct variant: a service's logged QBO calls replayed against the sandbox make
records of their own, linked to each other as the originals were."""

from __future__ import annotations

import json
from typing import Any

import httpx

from bench.e2e import Replayer
from qbo_sandbox.app import create_app


async def write(http: httpx.AsyncClient, realm: dict[str, Any], entity: str, body: object) -> Any:
    reply = await http.post(
        f"/v3/company/{realm['realm_id']}/{entity}",
        params={"requestid": f"svc-{entity}-{id(body)}"},
        json=body,
        headers={"Authorization": f"Bearer {realm['access_token']}"},
    )
    assert reply.status_code == 200, reply.text
    return reply.json()


async def test_replayed_payment_calls_pay_a_new_invoice_of_their_own() -> None:
    """The service's calls for a payment (customer update, invoice, payment) sent again with
    another token: a second invoice with its own number, paid by a second payment."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=create_app(log_bodies=True)), base_url="http://sandbox"
    ) as http:
        realm = (await http.post("/__sandbox/realms")).json()
        income = next(a["Id"] for a in realm["accounts"] if a["AccountType"] == "Income")
        customer = (await write(http, realm, "customer", {"DisplayName": "Jane Smith"}))["Customer"]
        item = await write(
            http,
            realm,
            "item",
            {"Name": "Chlorine", "Type": "Service", "IncomeAccountRef": {"value": income}},
        )
        realm_url = f"/__sandbox/realms/{realm['realm_id']}"
        before = len((await http.get(f"{realm_url}/requests")).json()["requests"])
        # what a payment event makes the service do: update the customer, invoice, pay it
        sparse = {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True}
        await write(http, realm, "customer", {**sparse, "PrimaryPhone": {"FreeFormNumber": "1"}})
        line = {
            "Amount": "60.00",
            "DetailType": "SalesItemLineDetail",
            "SalesItemLineDetail": {"ItemRef": {"value": item["Item"]["Id"]}, "Qty": 1},
        }
        invoice = (
            await write(
                http,
                realm,
                "invoice",
                {"CustomerRef": {"value": customer["Id"]}, "Line": [line], "DocNumber": "A-1"},
            )
        )["Invoice"]
        await write(
            http,
            realm,
            "payment",
            {
                "CustomerRef": {"value": customer["Id"]},
                "TotalAmt": "60.00",
                "Line": [
                    {
                        "Amount": "60.00",
                        "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                    }
                ],
            },
        )
        logged = (await http.get(f"{realm_url}/requests", params={"since": before})).json()
        token = (await http.post(f"{realm_url}/tokens")).json()["access_token"]
        http.headers["Authorization"] = f"Bearer {token}"
        replayer = Replayer(http, "http://sandbox")
        for entry in logged["requests"]:
            replayer.learn(json.loads(entry["reply"]))  # the SyncTokens the service left
        statuses = [await replayer.replay(entry) for entry in logged["requests"]]
        state = (await http.get(realm_url)).json()["entities"]

    assert statuses == [200, 200, 200]  # the update carried the customer's current SyncToken
    invoices, payments = state["Invoice"], state["Payment"]
    assert len(invoices) == 2 and len(payments) == 2
    new_invoice = next(i for i in invoices if i["Id"] != invoice["Id"])
    paid = payments[-1]["Line"][0]["LinkedTxn"][0]["TxnId"]
    assert paid == new_invoice["Id"]
    assert new_invoice["DocNumber"] != "A-1"
    assert new_invoice["Balance"] in (0, "0", "0.00", 0.0)
