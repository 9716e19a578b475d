"""Sales tax as QBO models it: TaxAgency/TaxRate/TaxCode made through the TaxService, TAX/NON
line codes, `TxnTaxDetail` worked out per rate (manual) or by the AST engine (with override), and
the taxed total flowing into balances, payments, voids and the Sales Tax Payable account."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import httpx

from tests.sandbox.helpers import Company, exact_json, fault
from tests.sandbox.tx_support import customer, money, number, post_exact, read, refused

# Field names Intuit's API reference shows on each record (besides Id, SyncToken, MetaData,
# domain, sparse). No recording of these entities exists in ../shared/qbo-recordings.
TAX_AGENCY_FIELDS = {"DisplayName", "TaxTrackedOnSales", "TaxTrackedOnPurchases", "TaxAgencyConfig"}
TAX_RATE_FIELDS = {
    *("Name", "Description", "Active", "RateValue", "AgencyRef", "SpecialTaxType", "DisplayType"),
}
TAX_CODE_FIELDS = {
    *("Name", "Description", "Active", "Hidden", "Taxable", "TaxGroup", "SalesTaxRateList"),
    *("PurchaseTaxRateList", "TaxCodeConfigType"),
}
RECORD_FIELDS = {"Id", "SyncToken", "MetaData", "domain", "sparse"}


async def tax_service(company: Company, body: dict[str, Any]) -> httpx.Response:
    return await company.http.post(
        company.path("taxservice/taxcode"),
        json=body,
        params={"minorversion": "75"},
        headers=company.headers,
    )


async def agency(company: Company, name: str = "Florida Department of Revenue") -> str:
    return str((await company.create("TaxAgency", {"DisplayName": name}))["Id"])


async def florida_code(company: Company) -> dict[str, Any]:
    """A tax group of two rates, FL State 6% and County 1%, made in one TaxService call."""
    agency_id = await agency(company)
    response = await tax_service(
        company,
        {
            "TaxCode": "Pinellas County",
            "TaxRateDetails": [
                {"TaxRateName": "FL State", "RateValue": 6, "TaxAgencyId": agency_id},
                {"TaxRateName": "County", "RateValue": 1, "TaxAgencyId": agency_id},
            ],
        },
    )
    assert response.status_code == 200, response.text
    return exact_json(response)  # type: ignore[no-any-return]


async def settings(company: Company, **changes: Any) -> httpx.Response:
    return await company.http.put(f"/__sandbox/realms/{company.realm_id}/settings", json=changes)


async def chemicals(company: Company, taxable: bool = True) -> str:
    body = {
        "Name": "Chlorine" if taxable else "Labor",
        "Type": "NonInventory",
        "Taxable": taxable,
        "IncomeAccountRef": {"value": company.account_id("Sales of Product Income")},
    }
    return str((await company.create("Item", body))["Id"])


def line(item_id: str, amount: str, code: str | None) -> dict[str, Any]:
    detail: dict[str, Any] = {"ItemRef": {"value": item_id}}
    if code is not None:
        detail["TaxCodeRef"] = {"value": code}
    return {
        "Amount": number(amount),
        "DetailType": "SalesItemLineDetail",
        "SalesItemLineDetail": detail,
    }


async def account_balance(company: Company, name: str) -> Decimal:
    return (await read(company, "Account", company.account_id(name)))["CurrentBalance"]  # type: ignore[no-any-return]


# --- the name lists ------------------------------------------------------------------------


async def test_tax_service_creates_the_rates_and_a_tax_group_code_in_one_call(
    company: Company,
) -> None:
    created = await florida_code(company)
    # QBO's bare TaxService answer: no entity envelope, no `time`.
    assert set(created) == {"TaxCode", "TaxCodeId", "TaxRateDetails"}
    assert created["TaxCode"] == "Pinellas County"
    state_rate, county_rate = created["TaxRateDetails"]
    assert set(state_rate) == {
        *("TaxRateName", "TaxRateId", "RateValue", "TaxAgencyId", "TaxApplicableOn"),
    }
    assert (state_rate["TaxRateName"], state_rate["RateValue"]) == ("FL State", 6)
    assert state_rate["TaxApplicableOn"] == "Sales"

    code = await read(company, "TaxCode", created["TaxCodeId"])
    assert set(code) == TAX_CODE_FIELDS | RECORD_FIELDS
    assert code["Taxable"] is True and code["TaxGroup"] is True and code["Active"] is True
    assert code["TaxCodeConfigType"] == "USER_DEFINED"
    assert code["SalesTaxRateList"]["TaxRateDetail"] == [
        {
            "TaxRateRef": {"value": state_rate["TaxRateId"], "name": "FL State"},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        },
        {
            "TaxRateRef": {"value": county_rate["TaxRateId"], "name": "County"},
            "TaxTypeApplicable": "TaxOnAmount",
            "TaxOrder": 0,
        },
    ]
    assert code["PurchaseTaxRateList"] == {"TaxRateDetail": []}

    rate = await read(company, "TaxRate", county_rate["TaxRateId"])
    assert set(rate) == TAX_RATE_FIELDS | RECORD_FIELDS
    assert rate["RateValue"] == 1 and rate["AgencyRef"]["value"] == state_rate["TaxAgencyId"]
    assert (rate["SpecialTaxType"], rate["DisplayType"]) == ("NONE", "ReadOnly")
    tax_agency = await read(company, "TaxAgency", state_rate["TaxAgencyId"])
    assert set(tax_agency) == TAX_AGENCY_FIELDS | RECORD_FIELDS
    assert tax_agency["TaxAgencyConfig"] == "USER_DEFINED"

    names = [row["Name"] for row in await company.rows("select * from TaxRate")]
    assert names == ["County", "FL State"]
    assert [row["Name"] for row in await company.rows("select * from TaxCode")] == [
        "Pinellas County"
    ]
    prefs = (await company.rows("select * from Preferences"))[0]
    assert prefs["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": False}


async def test_tax_service_refuses_a_bad_request_whole(company: Company) -> None:
    agency_id = await agency(company)
    good = {"TaxRateName": "FL State", "RateValue": 6, "TaxAgencyId": agency_id}
    unknown_agency = {"TaxRateName": "County", "RateValue": 1, "TaxAgencyId": "999"}
    response = await tax_service(
        company, {"TaxCode": "Pinellas", "TaxRateDetails": [good, unknown_agency]}
    )
    assert fault(response)["code"] == "2500"
    missing_rate = {"TaxRateName": "County", "TaxAgencyId": agency_id}
    response = await tax_service(
        company, {"TaxCode": "Pinellas", "TaxRateDetails": [good, missing_rate]}
    )
    assert fault(response)["code"] == "2020"
    assert await company.rows("select * from TaxRate") == []  # nothing made by refused calls

    assert (
        await tax_service(company, {"TaxCode": "Pinellas", "TaxRateDetails": [good]})
    ).is_success
    again = {"TaxRateName": "Other", "RateValue": 2, "TaxAgencyId": agency_id}
    duplicate = await tax_service(company, {"TaxCode": "pinellas", "TaxRateDetails": [again]})
    assert fault(duplicate)["code"] == "6240"
    reused = await tax_service(company, {"TaxCode": "Tampa", "TaxRateDetails": [good]})
    assert fault(reused)["code"] == "6240"  # a rate name is taken too


async def test_rates_and_codes_are_made_only_through_the_tax_service(company: Company) -> None:
    made = await florida_code(company)
    error = await refused(company, "TaxRate", {"Name": "Sneaky", "RateValue": 5})
    assert error["code"] == "500"
    code = await read(company, "TaxCode", made["TaxCodeId"])
    update = {"Id": code["Id"], "SyncToken": code["SyncToken"], "sparse": True, "Active": False}
    assert (await refused(company, "TaxCode", update))["code"] == "500"
    tax_agency = await read(company, "TaxAgency", made["TaxRateDetails"][0]["TaxAgencyId"])
    rename = {"Id": tax_agency["Id"], "SyncToken": "0", "sparse": True, "DisplayName": "New"}
    assert (await refused(company, "TaxAgency", rename))["code"] == "500"
    assert (await refused(company, "TaxAgency", {"TaxTrackedOnSales": True}))["code"] == "2020"


# --- manual sales tax ----------------------------------------------------------------------


async def test_manual_tax_rounds_each_rate_on_its_own_and_skips_non_lines(
    company: Company,
) -> None:
    code = await florida_code(company)
    taxable, labor = await chemicals(company), await chemicals(company, taxable=False)
    customer_id = await customer(company, "Dana Pool")
    invoice = await post_exact(
        company,
        "Invoice",
        {
            "CustomerRef": {"value": customer_id},
            "Line": [
                line(taxable, "10.05", "TAX"),
                line(taxable, "3.33", None),  # the item is taxable: TAX
                line(labor, "20.00", None),  # the item is not: NON
            ],
            # manual sales tax works the total out itself: a sent TotalTax changes nothing
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": code["TaxCodeId"]}, "TotalTax": 5},
        },
    )
    codes = [row["SalesItemLineDetail"]["TaxCodeRef"] for row in invoice["Line"][:3]]
    assert codes == [{"value": "TAX"}, {"value": "TAX"}, {"value": "NON"}]
    state_id, county_id = (rate["TaxRateId"] for rate in code["TaxRateDetails"])
    # 6% of 13.38 = 0.8028 → 0.80 and 1% = 0.1338 → 0.13: 0.93, where 7% at once gives 0.94.
    assert invoice["TxnTaxDetail"] == {
        "TxnTaxCodeRef": {"value": code["TaxCodeId"]},
        "TotalTax": money("0.93"),
        "TaxLine": [
            {
                "Amount": money("0.80"),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": state_id},
                    "PercentBased": True,
                    "TaxPercent": 6,
                    "NetAmountTaxable": money("13.38"),
                },
            },
            {
                "Amount": money("0.13"),
                "DetailType": "TaxLineDetail",
                "TaxLineDetail": {
                    "TaxRateRef": {"value": county_id},
                    "PercentBased": True,
                    "TaxPercent": 1,
                    "NetAmountTaxable": money("13.38"),
                },
            },
        ],
    }
    assert invoice["Line"][-1] == {
        "Amount": money("33.38"),
        "DetailType": "SubTotalLineDetail",
        "SubTotalLineDetail": {},
    }
    assert invoice["TotalAmt"] == invoice["Balance"] == money("34.31")
    assert (await read(company, "Customer", customer_id))["Balance"] == money("34.31")
    assert await account_balance(company, "Sales Tax Payable") == money("0.93")
    assert await account_balance(company, "Accounts Receivable (A/R)") == money("34.31")

    await post_exact(
        company,
        "Payment",
        {
            "CustomerRef": {"value": customer_id},
            "TotalAmt": number("34.31"),
            "Line": [
                {
                    "Amount": number("34.31"),
                    "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
                }
            ],
        },
    )
    assert (await read(company, "Invoice", invoice["Id"]))["Balance"] == 0
    assert (await read(company, "Customer", customer_id))["Balance"] == 0
    assert await account_balance(company, "Sales Tax Payable") == money("0.93")


async def test_an_invoice_without_a_tax_code_or_with_an_unknown_one(company: Company) -> None:
    taxable = await chemicals(company)
    customer_id = await customer(company, "No Tax Yet")
    body = {"CustomerRef": {"value": customer_id}, "Line": [line(taxable, "10.00", "TAX")]}
    untaxed = await post_exact(company, "Invoice", body)
    assert untaxed["TxnTaxDetail"] == {"TotalTax": 0} and untaxed["TotalAmt"] == 10
    unknown = body | {"TxnTaxDetail": {"TxnTaxCodeRef": {"value": "77"}}}
    assert (await refused(company, "Invoice", unknown))["code"] == "2500"
    bad_line = body | {"Line": [line(taxable, "10.00", "GST")]}
    assert (await refused(company, "Invoice", bad_line))["code"] == "2500"


async def test_voiding_a_taxed_invoice_zeroes_its_tax_and_what_is_owed(company: Company) -> None:
    code = await florida_code(company)
    taxable = await chemicals(company)
    customer_id = await customer(company, "Void Me")
    invoice = await post_exact(
        company,
        "Invoice",
        {
            "CustomerRef": {"value": customer_id},
            "Line": [line(taxable, "100.00", "TAX")],
            "TxnTaxDetail": {"TxnTaxCodeRef": {"value": code["TaxCodeId"]}},
        },
    )
    assert invoice["TotalAmt"] == 107 and await account_balance(company, "Sales Tax Payable") == 7
    voided = exact_json(
        await company.post(
            "Invoice", {"Id": invoice["Id"], "SyncToken": invoice["SyncToken"]}, operation="void"
        )
    )["Invoice"]
    assert voided["TxnTaxDetail"]["TotalTax"] == 0 and voided["TotalAmt"] == 0
    assert [tax["Amount"] for tax in voided["TxnTaxDetail"]["TaxLine"]] == [0, 0]
    assert await account_balance(company, "Sales Tax Payable") == 0
    assert (await read(company, "Customer", customer_id))["Balance"] == 0


# --- Automated Sales Tax -------------------------------------------------------------------


async def test_ast_taxes_tax_lines_at_its_own_rate_and_shows_in_preferences(
    company: Company,
) -> None:
    answer = await settings(company, automated_sales_tax=True, ast_rate_percent=8.25)
    assert answer.json() == {"automated_sales_tax": True, "ast_rate_percent": 8.25, "country": "US"}
    prefs = (await company.rows("select * from Preferences"))[0]
    assert prefs["TaxPrefs"] == {"UsingSalesTax": True, "PartnerTaxEnabled": True}
    ast_code = (await company.rows("select * from TaxCode"))[0]
    assert ast_code["TaxCodeConfigType"] == "SYSTEM_GENERATED"

    taxable, labor = await chemicals(company), await chemicals(company, taxable=False)
    customer_id = await customer(company, "Ast Customer")
    invoice = await post_exact(
        company,
        "Invoice",
        {
            "CustomerRef": {"value": customer_id},
            "Line": [line(taxable, "33.33", "TAX"), line(labor, "50.00", "NON")],
        },
    )
    detail = invoice["TxnTaxDetail"]
    assert detail["TxnTaxCodeRef"] == {"value": ast_code["Id"]}
    assert detail["TotalTax"] == money("2.75")  # 8.25% of 33.33 = 2.749725
    [tax_line] = detail["TaxLine"]
    assert tax_line["TaxLineDetail"]["TaxPercent"] == money("8.25")
    assert tax_line["TaxLineDetail"]["NetAmountTaxable"] == money("33.33")
    assert invoice["TotalAmt"] == invoice["Balance"] == money("86.08")
    assert (await read(company, "Customer", customer_id))["Balance"] == money("86.08")


async def test_a_total_tax_sent_overrides_ast_until_a_full_update_leaves_it_out(
    company: Company,
) -> None:
    assert (await settings(company, automated_sales_tax=True, ast_rate_percent=7)).is_success
    taxable = await chemicals(company)
    customer_id = await customer(company, "Override Customer")
    body = {"CustomerRef": {"value": customer_id}, "Line": [line(taxable, "13.38", "TAX")]}
    invoice = await post_exact(company, "Invoice", body | {"TxnTaxDetail": {"TotalTax": 0.93}})
    assert invoice["TxnTaxDetail"]["TotalTax"] == money("0.93")  # AST alone would say 0.94
    assert [tax["Amount"] for tax in invoice["TxnTaxDetail"]["TaxLine"]] == [money("0.93")]
    assert invoice["TotalAmt"] == invoice["Balance"] == money("14.31")
    assert await account_balance(company, "Sales Tax Payable") == money("0.93")

    # A sparse update that does not touch TxnTaxDetail keeps the override.
    noted = await post_exact(
        company,
        "Invoice",
        {
            "Id": invoice["Id"],
            "SyncToken": invoice["SyncToken"],
            "sparse": True,
            "PrivateNote": "x",
        },
    )
    assert noted["TxnTaxDetail"]["TotalTax"] == money("0.93")
    # A full update without it asks AST again.
    recomputed = await post_exact(
        company, "Invoice", body | {"Id": noted["Id"], "SyncToken": noted["SyncToken"]}
    )
    assert recomputed["TxnTaxDetail"]["TotalTax"] == money("0.94")
    assert recomputed["TotalAmt"] == money("14.32")

    payment = {
        "CustomerRef": {"value": customer_id},
        "TotalAmt": number("14.32"),
        "Line": [
            {
                "Amount": number("14.32"),
                "LinkedTxn": [{"TxnId": invoice["Id"], "TxnType": "Invoice"}],
            }
        ],
    }
    await post_exact(company, "Payment", payment)
    assert (await read(company, "Invoice", invoice["Id"]))["Balance"] == 0
    assert (await read(company, "Customer", customer_id))["Balance"] == 0


async def test_changing_the_ast_rate_changes_the_system_rate_record(company: Company) -> None:
    assert (await settings(company, automated_sales_tax=True)).json()["ast_rate_percent"] == 8.25
    assert (await settings(company, ast_rate_percent=6.5)).is_success
    [rate] = await company.rows("select * from TaxRate")
    assert rate["RateValue"] == 6.5 and rate["SyncToken"] == "1"
    off = await settings(company, automated_sales_tax=False)
    assert off.json()["automated_sales_tax"] is False
    prefs = (await company.rows("select * from Preferences"))[0]
    assert prefs["TaxPrefs"]["PartnerTaxEnabled"] is False


async def test_settings_refuse_what_they_cannot_mean(company: Company) -> None:
    for body in (
        {"automated_sales_tax": "yes"},
        {"ast_rate_percent": 101},
        {"country": "USA"},
        {"automated_sales_tax": True, "country": "CA"},
        {"colour": "blue"},
    ):
        reply = await settings(company, **body)
        assert reply.status_code == 400 and reply.json()["error"], body
    assert (await company.http.get(f"/__sandbox/realms/{company.realm_id}/settings")).json() == {
        "automated_sales_tax": False,
        "ast_rate_percent": 8.25,
        "country": "US",
    }


# --- outside the US ------------------------------------------------------------------------


async def test_a_canadian_company_puts_a_tax_code_on_every_line(company: Company) -> None:
    assert (await settings(company, country="CA")).is_success
    info = await read(company, "CompanyInfo", company.realm_id)
    assert info["Country"] == "CA"
    agency_id = await agency(company, "Canada Revenue Agency")
    gst = exact_json(
        await tax_service(
            company,
            {
                "TaxCode": "GST",
                "TaxRateDetails": [
                    {"TaxRateName": "GST", "RateValue": 5, "TaxAgencyId": agency_id}
                ],
            },
        )
    )
    taxable, labor = await chemicals(company), await chemicals(company, taxable=False)
    customer_id = await customer(company, "Maple Pools")
    body = {
        "CustomerRef": {"value": customer_id},
        "Line": [line(taxable, "10.10", gst["TaxCodeId"]), line(labor, "9.90", gst["TaxCodeId"])],
    }
    invoice = await post_exact(company, "Invoice", body)
    assert invoice["GlobalTaxCalculation"] == "TaxExcluded"
    [tax_line] = invoice["TxnTaxDetail"]["TaxLine"]
    assert tax_line["TaxLineDetail"]["NetAmountTaxable"] == 20 and tax_line["Amount"] == 1
    assert invoice["TotalAmt"] == 21

    assert (await refused(company, "Invoice", body | {"Line": [line(taxable, "1", "TAX")]}))[
        "code"
    ] == "2500"
    no_code = body | {"Line": [line(taxable, "1", None)]}
    assert (await refused(company, "Invoice", no_code))["code"] == "6000"


async def test_a_canadian_company_starts_with_zero_rated_and_exempt_codes_that_carry_no_tax(
    company: Company,
) -> None:
    assert (await settings(company, country="CA")).is_success
    assert (await settings(company, country="CA")).is_success  # made once
    found = (await company.query("SELECT * FROM TaxCode")).json()["QueryResponse"]["TaxCode"]
    assert sorted((c["Name"], c["Taxable"]) for c in found) == [
        ("Exempt", False),
        ("Zero-rated", False),
    ]
    zero_rated = next(c["Id"] for c in found if c["Name"] == "Zero-rated")
    taxable = await chemicals(company)
    customer_id = await customer(company, "Maple Pools")
    body = {"CustomerRef": {"value": customer_id}, "Line": [line(taxable, "10.10", zero_rated)]}
    invoice = await post_exact(company, "Invoice", body)
    assert invoice["TxnTaxDetail"]["TotalTax"] == 0 and invoice["TotalAmt"] == Decimal("10.10")


async def test_a_us_company_has_no_zero_rated_code(company: Company) -> None:
    assert (await settings(company, automated_sales_tax=False)).is_success
    answer = (await company.query("SELECT * FROM TaxCode")).json()["QueryResponse"]
    assert "TaxCode" not in answer
