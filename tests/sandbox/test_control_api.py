"""The sandbox's own control API: health, companies, request log."""

from __future__ import annotations

import json

import httpx

from qbo_sandbox.app import create_app
from tests.sandbox.helpers import Company


async def test_health_answers_ok(http: httpx.AsyncClient) -> None:
    response = await http.get("/__sandbox/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_new_realm_comes_with_tokens_and_the_standard_chart_of_accounts(
    http: httpx.AsyncClient,
) -> None:
    response = await http.post("/__sandbox/realms", json={"company_name": "Blue Pools LLC"})
    assert response.status_code == 201
    realm = response.json()
    assert realm["realm_id"].isdigit() and realm["realm_id"].startswith("9341452")
    assert realm["token_type"] == "bearer"
    assert realm["expires_in"] == 3600
    assert realm["x_refresh_token_expires_in"] == 8726400
    assert realm["access_token"] and realm["refresh_token"]
    accounts = {account["Name"]: account for account in realm["accounts"]}
    expected = {
        "Sales of Product Income": ("Income", "SalesOfProductIncome", "Revenue"),
        "Services": ("Income", "ServiceFeeIncome", "Revenue"),
        "Undeposited Funds": ("Other Current Asset", "UndepositedFunds", "Asset"),
        "Checking": ("Bank", "Checking", "Asset"),
        "Accounts Receivable (A/R)": ("Accounts Receivable", "AccountsReceivable", "Asset"),
        "Merchant Account Fees": ("Expense", "BankCharges", "Expense"),
        "Miscellaneous": ("Other Expense", "OtherMiscellaneousExpense", "Expense"),
        "Mastercard": ("Credit Card", "CreditCard", "Liability"),
        "Inventory": ("Other Current Asset", "Inventory", "Asset"),
        "Supplies & Materials - COGS": ("Cost of Goods Sold", "SuppliesMaterialsCogs", "Expense"),
        "Sales Tax Payable": ("Other Current Liability", "SalesTaxPayable", "Liability"),
    }
    assert set(accounts) == set(expected)
    # The first five keep the Ids they always had (tests and seeds pick accounts by name).
    assert [account["Id"] for account in realm["accounts"][:5]] == ["1", "2", "3", "4", "5"]
    for name, (account_type, sub_type, classification) in expected.items():
        account = accounts[name]
        assert account["AccountType"] == account_type
        assert account["AccountSubType"] == sub_type
        assert account["Classification"] == classification
        assert account["Active"] is True
        assert isinstance(account["Id"], str) and account["SyncToken"] == "0"


async def test_realm_body_is_optional_and_realms_are_distinct(http: httpx.AsyncClient) -> None:
    first = await http.post("/__sandbox/realms")
    second = await http.post("/__sandbox/realms")
    assert first.status_code == second.status_code == 201
    assert first.json()["realm_id"] != second.json()["realm_id"]


async def test_realm_state_lists_every_record_including_inactive(company: Company) -> None:
    customer = await company.create("Customer", {"DisplayName": "Gone Soon"})
    await company.update(
        "Customer",
        {"Id": customer["Id"], "SyncToken": customer["SyncToken"], "sparse": True, "Active": False},
    )
    entities = await company.state()
    assert set(entities) == {
        *("Customer", "Vendor", "Employee", "Item", "Account", "CompanyInfo", "Preferences"),
        *("Invoice", "Payment", "RefundReceipt", "JournalEntry", "CreditMemo", "Deposit"),
        *("TaxAgency", "TaxRate", "TaxCode"),
    }
    assert [c["DisplayName"] for c in entities["Customer"]] == ["Gone Soon (deleted)"]
    assert len(entities["Account"]) == len(company.accounts) == 11
    assert entities["Item"] == []


async def test_unknown_realm_is_404_on_the_control_api(http: httpx.AsyncClient) -> None:
    for response in (
        await http.get("/__sandbox/realms/123"),
        await http.get("/__sandbox/realms/123/requests"),
        await http.post("/__sandbox/realms/123/expire-access-tokens"),
        await http.post("/__sandbox/realms/123/revoke"),
    ):
        assert response.status_code == 404


async def test_request_log_counts_qbo_calls_but_not_control_or_oauth_calls(
    company: Company,
) -> None:
    await company.create("Customer", {"DisplayName": "Logged"}, requestid="log-1")
    await company.get("Customer", "999")
    await company.query("SELECT * FROM Customer")
    await company.state()
    await company.http.post(
        "/oauth2/v1/tokens/bearer",
        data={"grant_type": "refresh_token", "refresh_token": company.refresh_token},
        auth=("client", "secret"),
    )
    log = await company.request_log()
    assert [(entry["method"], entry["status"]) for entry in log] == [
        ("POST", 200),
        ("GET", 400),
        ("GET", 200),
    ]
    assert log[0]["path"] == f"/v3/company/{company.realm_id}/customer"
    assert "requestid=log-1" in log[0]["query"]
    assert log[0]["request_id"] == "log-1"
    assert log[1]["request_id"] is None
    assert all(entry["intuit_tid"] for entry in log)


async def test_request_log_records_refused_calls_too(company: Company) -> None:
    await company.http.get(company.path("customer/1"))  # no token
    log = await company.request_log()
    assert [entry["status"] for entry in log] == [401]


async def test_request_log_from_the_nth_call_on_with_since(company: Company) -> None:
    await company.get("Customer", "998")
    await company.get("Customer", "999")
    tail = await company.http.get(f"/__sandbox/realms/{company.realm_id}/requests?since=1")
    assert [entry["path"].rsplit("/", 1)[1] for entry in tail.json()["requests"]] == ["999"]
    refused = await company.http.get(f"/__sandbox/realms/{company.realm_id}/requests?since=x")
    assert refused.status_code == 400


async def test_request_log_has_no_bodies_unless_the_sandbox_keeps_them(company: Company) -> None:
    await company.create("Customer", {"DisplayName": "No body kept"})
    (entry,) = await company.request_log()
    assert "body" not in entry and "reply" not in entry


async def test_a_sandbox_started_with_log_bodies_logs_what_each_call_sent_and_got() -> None:
    app = create_app(log_bodies=True)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://sandbox"
    ) as http:
        realm = (await http.post("/__sandbox/realms")).json()
        created = await http.post(
            f"/v3/company/{realm['realm_id']}/customer",
            json={"DisplayName": "Body kept"},
            headers={"Authorization": f"Bearer {realm['access_token']}"},
        )
        log = (await http.get(f"/__sandbox/realms/{realm['realm_id']}/requests")).json()
    (entry,) = log["requests"]
    assert entry["content_type"] == "application/json"
    assert json.loads(entry["body"]) == {"DisplayName": "Body kept"}
    assert json.loads(entry["reply"]) == created.json()
