"""The TaxService endpoint (`POST /taxservice/taxcode`: new rates and a code in one call) and
the company's sales tax settings (AST on or off, its rate, the country), as the control API sets
them and Preferences/CompanyInfo show them."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from qbo_sandbox import accounting, faults, writes
from qbo_sandbox.entities import ENTITIES
from qbo_sandbox.entities.sales_tax import US, ast_tax_code, tax_prefs
from qbo_sandbox.entities.schema import base_name
from qbo_sandbox.entities.tax import SYSTEM_GENERATED
from qbo_sandbox.realms import Realm, Record

SERVICE = "TaxService"
SERVICE_KEYS = frozenset({"TaxCode", "TaxCodeId", "TaxRateDetails"})
DETAIL_KEYS = frozenset(
    {"TaxRateName", "TaxRateId", "RateValue", "TaxAgencyId", "TaxApplicableOn", "TaxRateDetails"}
)
APPLICABLE_ON = ("Sales", "Purchase")
AST_AGENCY = "California Department of Tax and Fee Administration"
AST_RATE = "California (Automated Sales Tax)"
AST_CODE = "Automated Sales Tax"
"""What the sandbox's AST engine is called; the company address is in Mountain View, CA."""


# --- TaxService ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _NewRate:
    name: str
    rate_value: Decimal
    agency_id: str
    applicable_on: str


def create_tax_code(realm: Realm, body: object) -> Record:
    """`POST /taxservice/taxcode`: check everything, then make the new rates and the code.

    Answers QBO's bare TaxService object (no envelope, no `time`):
    `{"TaxCode", "TaxCodeId", "TaxRateDetails": [{"TaxRateName", "TaxRateId", "RateValue",
    "TaxAgencyId", "TaxApplicableOn"}]}`.
    """
    if not isinstance(body, dict):
        raise faults.malformed_body(SERVICE, "expected a JSON object")
    unknown = next((key for key in body if key not in SERVICE_KEYS), None)
    if unknown is not None:
        raise faults.unrecognized_field(SERVICE, unknown)
    code_name = body.get("TaxCode")
    if not isinstance(code_name, str) or not code_name.strip():
        raise faults.required_param_missing("TaxCode")
    code_name = code_name.strip()
    details = body.get("TaxRateDetails")
    if not isinstance(details, list) or not details:
        raise faults.required_param_missing("TaxRateDetails")
    _check_name_free(realm, "TaxCode", "Name", code_name, "Another tax code")
    planned: list[tuple[str, _NewRate | Record]] = []
    new_names: set[str] = set()
    for detail in details:
        planned.append(_planned_rate(realm, detail, new_names))

    rate_details: list[Record] = []
    answer: list[Record] = []
    for applicable_on, rate in planned:
        if isinstance(rate, _NewRate):
            rate = writes.save(
                realm,
                ENTITIES["TaxRate"],
                {
                    "Name": rate.name,
                    "RateValue": rate.rate_value,
                    "AgencyRef": {"value": rate.agency_id},
                },
            )
        if applicable_on == "Sales":
            rate_details.append(
                {
                    "TaxRateRef": {"value": rate["Id"], "name": rate["Name"]},
                    "TaxTypeApplicable": "TaxOnAmount",
                    "TaxOrder": 0,
                }
            )
        answer.append(
            {
                "TaxRateName": rate["Name"],
                "TaxRateId": rate["Id"],
                "RateValue": rate["RateValue"],
                "TaxAgencyId": rate["AgencyRef"]["value"],
                "TaxApplicableOn": applicable_on,
            }
        )
    code = writes.save(
        realm,
        ENTITIES["TaxCode"],
        {
            "Name": code_name,
            "SalesTaxRateList": {"TaxRateDetail": rate_details},
            "PurchaseTaxRateList": {"TaxRateDetail": []},
        },
    )
    if not realm.using_sales_tax:
        realm.using_sales_tax = True
        reflect_settings(realm)
    return {"TaxCode": code["Name"], "TaxCodeId": code["Id"], "TaxRateDetails": answer}


def _planned_rate(
    realm: Realm, detail: object, new_names: set[str]
) -> tuple[str, _NewRate | Record]:
    if not isinstance(detail, dict):
        raise faults.unsupported_property(SERVICE, "TaxRateDetails", "each must be an object")
    unknown = next((key for key in detail if key not in DETAIL_KEYS), None)
    if unknown is not None:
        raise faults.unrecognized_field(SERVICE, unknown)
    applicable_on = str(detail.get("TaxApplicableOn") or "Sales")
    if applicable_on not in APPLICABLE_ON:
        problem = f'Cannot deserialize value "{applicable_on}": not one of Sales, Purchase'
        raise faults.unsupported_property(SERVICE, "TaxApplicableOn", problem)
    if detail.get("TaxRateId") not in (None, ""):
        rate_id = str(detail["TaxRateId"]).strip()
        rate = realm.table("TaxRate").get(rate_id)
        if rate is None or rate.get("Active") is False:
            raise faults.invalid_reference("TaxRateId", "TaxRate", rate_id, rate is not None)
        return applicable_on, rate
    name = detail.get("TaxRateName")
    if not isinstance(name, str) or not name.strip():
        raise faults.required_param_missing("TaxRateName")
    name = name.strip()
    if name.casefold() in new_names:
        raise faults.duplicate_name("Another tax rate")
    _check_name_free(realm, "TaxRate", "Name", name, "Another tax rate")
    new_names.add(name.casefold())
    rate_value = _rate_value(detail.get("RateValue"))
    agency_id = str(detail.get("TaxAgencyId") or "").strip()
    if not agency_id:
        raise faults.required_param_missing("TaxAgencyId")
    if agency_id not in realm.table("TaxAgency"):
        raise faults.invalid_reference("TaxAgencyId", "TaxAgency", agency_id, inactive=False)
    return applicable_on, _NewRate(name, rate_value, agency_id, applicable_on)


def _rate_value(value: object) -> Decimal:
    if value in (None, ""):
        raise faults.required_param_missing("RateValue")
    try:
        rate = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except ArithmeticError:
        rate = Decimal("NaN")
    if isinstance(value, bool) or not rate.is_finite() or not Decimal(0) <= rate <= Decimal(100):
        problem = f'RateValue must be a number from 0 to 100; "{value}" was supplied'
        raise faults.unsupported_property(SERVICE, "RateValue", problem)
    return rate


def _check_name_free(realm: Realm, entity: str, field: str, name: str, taken_by: str) -> None:
    wanted = name.casefold()
    for other in realm.table(entity).values():
        if base_name(other, field).strip().casefold() == wanted:
            raise faults.duplicate_name(taken_by)


# --- settings -----------------------------------------------------------------------------------


def settings_json(realm: Realm) -> dict[str, Any]:
    return {
        "automated_sales_tax": realm.automated_sales_tax,
        "ast_rate_percent": realm.ast_rate_percent,
        "country": realm.country,
    }


def apply_settings(realm: Realm, changes: object) -> None:
    """`PUT /__sandbox/realms/{id}/settings`: the keys given change, the others stay.

    Raises ValueError (→ 400) for anything but a bool, a rate from 0 to 100 and a 2-letter country.
    """
    if not isinstance(changes, Mapping):
        raise ValueError("the body must be a JSON object")
    unknown = sorted(set(changes) - {"automated_sales_tax", "ast_rate_percent", "country"})
    if unknown:
        raise ValueError(f"unknown setting {unknown[0]!r}")
    ast = changes.get("automated_sales_tax", realm.automated_sales_tax)
    if not isinstance(ast, bool):
        raise ValueError('"automated_sales_tax" must be true or false')
    rate = changes.get("ast_rate_percent", realm.ast_rate_percent)
    if isinstance(rate, bool) or not isinstance(rate, int | Decimal) or not 0 <= rate <= 100:
        raise ValueError('"ast_rate_percent" must be a number from 0 to 100')
    country = changes.get("country", realm.country)
    if not isinstance(country, str) or len(country) != 2 or not country.isalpha():
        raise ValueError('"country" must be a two-letter country code such as "US" or "CA"')
    if ast and country.upper() != US:
        raise ValueError("Automated Sales Tax is modelled for US companies only")
    realm.automated_sales_tax = ast
    realm.ast_rate_percent = Decimal(rate)
    realm.country = country.upper()
    if ast:
        realm.using_sales_tax = True
        _ensure_ast_records(realm)
    if realm.country != US:
        _ensure_untaxed_codes(realm)
    reflect_settings(realm)


UNTAXED_CODES = ("Zero-rated", "Exempt")
"""The codes a non-US QBO company ships with for lines that carry no tax (Taxable false)."""


def _ensure_untaxed_codes(realm: Realm) -> None:
    """A non-US company's "Zero-rated" and "Exempt" codes, made once: every line there needs a
    code, untaxed ones too."""
    taken = {str(code["Name"]).casefold() for code in realm.table("TaxCode").values()}
    for name in UNTAXED_CODES:
        if name.casefold() not in taken:
            writes.save(
                realm, ENTITIES["TaxCode"], {"Name": name, "Taxable": False, "TaxGroup": False}
            )


def _ensure_ast_records(realm: Realm) -> None:
    """The AST engine's agency, rate and code (system generated), made once; the rate follows
    the configured percentage."""
    code = ast_tax_code(realm)
    if code is None:
        agency = writes.save(
            realm, ENTITIES["TaxAgency"], {"DisplayName": _free_name(realm, AST_AGENCY)}
        )
        agency["TaxAgencyConfig"] = SYSTEM_GENERATED
        rate = writes.save(
            realm,
            ENTITIES["TaxRate"],
            {
                "Name": AST_RATE,
                "RateValue": realm.ast_rate_percent,
                "AgencyRef": {"value": agency["Id"]},
            },
        )
        code = writes.save(
            realm,
            ENTITIES["TaxCode"],
            {
                "Name": AST_CODE,
                "SalesTaxRateList": {
                    "TaxRateDetail": [
                        {
                            "TaxRateRef": {"value": rate["Id"], "name": rate["Name"]},
                            "TaxTypeApplicable": "TaxOnAmount",
                            "TaxOrder": 0,
                        }
                    ]
                },
            },
        )
        code["TaxCodeConfigType"] = SYSTEM_GENERATED
        return
    rate_id = code["SalesTaxRateList"]["TaxRateDetail"][0]["TaxRateRef"]["value"]
    rates = realm.table("TaxRate")
    if rates[rate_id]["RateValue"] != realm.ast_rate_percent:
        rates[rate_id] = accounting.touched(rates[rate_id] | {"RateValue": realm.ast_rate_percent})


def _free_name(realm: Realm, name: str) -> str:
    taken = {str(agency["DisplayName"]).casefold() for agency in realm.table("TaxAgency").values()}
    candidate, number = name, 1
    while candidate.casefold() in taken:
        number += 1
        candidate = f"{name} ({number})"
    return candidate


def reflect_settings(realm: Realm) -> None:
    """Show the settings where QBO does: Preferences.TaxPrefs and CompanyInfo.Country (a new
    SyncToken when they change)."""
    for entity, section in (("Preferences", "TaxPrefs"), ("CompanyInfo", "Country")):
        table = realm.table(entity)
        for record_id, record in list(table.items()):
            wanted = copy.deepcopy(record)
            if section == "TaxPrefs":
                wanted["TaxPrefs"] = tax_prefs(realm, record.get("TaxPrefs"))
            else:
                wanted["Country"] = realm.country
            if wanted != record:
                table[record_id] = accounting.touched(wanted)
