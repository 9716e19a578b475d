"""Sales tax on sales forms: line tax codes and the `TxnTaxDetail` QBO works out from them.

US companies mark each line `TAX` or `NON`; the transaction's tax comes from one tax code
(`TxnTaxCodeRef`, manual sales tax) or from the AST engine (Automated Sales Tax, the sandbox's
configured rate). Other countries put a real tax code on every line. Each rate's amount is
rounded to the cent on its own (half up), as QBO shows one TaxLine per rate.
"""

from __future__ import annotations

from collections import defaultdict
from decimal import Decimal, InvalidOperation

from qbo_sandbox import faults
from qbo_sandbox.accounting import ZERO, money
from qbo_sandbox.entities.tax import SYSTEM_GENERATED, sales_rate_ids
from qbo_sandbox.realms import Realm, Record

TAX = "TAX"
NON = "NON"
"""The US pseudo tax codes a sales line carries: taxable or not."""
US = "US"
HUNDRED = Decimal("100")


def is_us(realm: Realm) -> bool:
    return realm.country == US


def fill_line_tax_code(realm: Realm, detail: Record, item: Record | None) -> None:
    """Check (or default) a sales line's `TaxCodeRef`: TAX/NON in the US, a tax code elsewhere."""
    reference = detail.get("TaxCodeRef")
    value = str(reference.get("value", "")).strip() if isinstance(reference, dict) else ""
    if is_us(realm):
        if not value:
            # QBO takes the item's sales tax setting when the line does not say.
            value = TAX if item is not None and item.get("Taxable") is True else NON
        if value.upper() not in (TAX, NON):
            raise faults.invalid_reference("TaxCodeRef", "TaxCode", value, inactive=False)
        detail["TaxCodeRef"] = {"value": value.upper()}
        return
    if not value:
        raise faults.business_validation(
            "Make sure all your transactions have a tax code (TaxCodeRef) on every line "
            "before you save."
        )
    code = realm.table("TaxCode").get(value)
    if code is None or code.get("Active") is False:
        raise faults.invalid_reference("TaxCodeRef", "TaxCode", value, inactive=code is not None)
    detail["TaxCodeRef"] = {"value": value}


def transaction_tax(realm: Realm, entity: str, record: Record, lines: list[Record]) -> Record:
    """The `TxnTaxDetail` of a sales form with these (checked) lines."""
    sent = record.get("TxnTaxDetail")
    sent = sent if isinstance(sent, dict) else {}
    item_lines = [line for line in lines if line.get("DetailType") == "SalesItemLineDetail"]
    if not is_us(realm):
        return _per_line_codes(realm, record, item_lines)
    taxable = money(
        sum(
            (line["Amount"] for line in item_lines if _line_code(line) == TAX),
            ZERO,
        )
    )
    if realm.automated_sales_tax:
        code = ast_tax_code(realm)
        if code is None:
            return {"TotalTax": ZERO}
        detail = _detail(realm, code, {rate_id: taxable for rate_id in sales_rate_ids(code)})
        override = sent.get("TotalTax")
        if override not in (None, ""):
            _override(detail, money(_number(entity, "TotalTax", override)))
        return detail
    code_ref = sent.get("TxnTaxCodeRef")
    if not isinstance(code_ref, dict) or not str(code_ref.get("value", "")).strip():
        return {"TotalTax": ZERO}
    code_id = str(code_ref["value"]).strip()
    code = realm.table("TaxCode").get(code_id)
    if code is None or code.get("Active") is False:
        raise faults.invalid_reference("TxnTaxCodeRef", "TaxCode", code_id, code is not None)
    return _detail(realm, code, {rate_id: taxable for rate_id in sales_rate_ids(code)})


def ast_tax_code(realm: Realm) -> Record | None:
    """The tax code the AST engine uses (made when AST is switched on, tax_service.py)."""
    for code in sorted(realm.table("TaxCode").values(), key=lambda c: int(c["Id"])):
        if code.get("TaxCodeConfigType") == SYSTEM_GENERATED:
            return code
    return None


def voided_tax(detail: Record) -> Record:
    """A voided form's TxnTaxDetail: every amount 0, the codes and rates kept."""
    voided: Record = dict(detail) | {"TotalTax": ZERO}
    if detail.get("TaxLine"):
        voided["TaxLine"] = [
            line
            | {
                "Amount": ZERO,
                "TaxLineDetail": dict(line.get("TaxLineDetail") or {}) | {"NetAmountTaxable": ZERO},
            }
            for line in detail["TaxLine"]
        ]
    return voided


def _line_code(line: Record) -> str:
    reference = (line.get("SalesItemLineDetail") or {}).get("TaxCodeRef") or {}
    return str(reference.get("value", ""))


def _number(entity: str, element: str, value: object) -> Decimal:
    try:
        number = value if isinstance(value, Decimal) else Decimal(str(value).strip())
    except InvalidOperation:
        number = None
    if number is None or not number.is_finite() or isinstance(value, bool):
        problem = f'Cannot deserialize value of type number from "{value}"'
        raise faults.unsupported_property(entity, element, problem)
    return number


def _tax_line(rate: Record, net: Decimal) -> Record:
    percent = Decimal(rate["RateValue"])
    return {
        "Amount": money(net * percent / HUNDRED),
        "DetailType": "TaxLineDetail",
        "TaxLineDetail": {
            "TaxRateRef": {"value": rate["Id"]},
            "PercentBased": True,
            "TaxPercent": percent,
            "NetAmountTaxable": money(net),
        },
    }


def _detail(realm: Realm, code: Record | None, net_by_rate: dict[str, Decimal]) -> Record:
    rates = realm.table("TaxRate")
    tax_lines = [_tax_line(rates[rate_id], net) for rate_id, net in net_by_rate.items()]
    detail: Record = {}
    if code is not None:
        detail["TxnTaxCodeRef"] = {"value": code["Id"]}
    detail["TotalTax"] = money(sum((line["Amount"] for line in tax_lines), ZERO))
    if tax_lines:
        detail["TaxLine"] = tax_lines
    return detail


def _override(detail: Record, total_tax: Decimal) -> None:
    """AST override: the total sent stands; the last rate's line takes the difference."""
    tax_lines = detail.get("TaxLine") or []
    if tax_lines:
        others = sum((line["Amount"] for line in tax_lines[:-1]), ZERO)
        tax_lines[-1]["Amount"] = total_tax - others
    detail["TotalTax"] = total_tax


def _per_line_codes(realm: Realm, record: Record, item_lines: list[Record]) -> Record:
    """Non-US: each line's own tax code; one TaxLine per rate over the lines that carry it."""
    calculation = record.get("GlobalTaxCalculation") or "TaxExcluded"
    record["GlobalTaxCalculation"] = calculation
    if calculation == "NotApplicable":
        return {"TotalTax": ZERO}
    if calculation != "TaxExcluded":
        raise faults.business_validation(
            f"GlobalTaxCalculation {calculation} is not modelled by this sandbox: "
            "use TaxExcluded or NotApplicable."
        )
    codes = realm.table("TaxCode")
    net_by_rate: dict[str, Decimal] = defaultdict(Decimal)
    for line in item_lines:
        code = codes.get(_line_code(line))
        if code is None or code.get("Taxable") is False:
            continue
        for rate_id in sales_rate_ids(code):
            net_by_rate[rate_id] += line["Amount"]
    return _detail(realm, None, dict(net_by_rate))


def tax_prefs(realm: Realm, current: object) -> Record:
    """Preferences.TaxPrefs as QBO shows the company's settings (the server owns these two)."""
    prefs = dict(current) if isinstance(current, dict) else {}
    prefs["UsingSalesTax"] = realm.using_sales_tax
    prefs["PartnerTaxEnabled"] = realm.automated_sales_tax
    return prefs
