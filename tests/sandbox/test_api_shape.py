"""What every QBO API answer looks like: headers, envelopes, unsupported paths."""

from __future__ import annotations

import re

from tests.sandbox.helpers import Company, fault

RESPONSE_TIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d$")


async def test_every_answer_has_a_fresh_intuit_tid(company: Company) -> None:
    ok = await company.get("Account", "1")
    refused = await company.get("Account", "999")
    tids = {ok.headers["intuit_tid"], refused.headers["intuit_tid"]}
    assert len(tids) == 2 and all(tids)
    assert ok.headers["content-type"].startswith("application/json")


async def test_envelope_time_has_milliseconds_and_offset(company: Company) -> None:
    body = (await company.get("Account", "1")).json()
    assert set(body) == {"Account", "time"}
    assert RESPONSE_TIME.match(body["time"])
    refused = await company.get("Account", "999")
    fault(refused)
    assert RESPONSE_TIME.match(refused.json()["time"])


async def test_unknown_path_is_unsupported_operation_500(company: Company) -> None:
    for response in (
        await company.http.get(company.path("customer/1/5"), headers=company.headers),
        await company.http.get(company.path("spaceship/1"), headers=company.headers),
        await company.http.delete(company.path("customer/1"), headers=company.headers),
        await company.http.get("/v3/customer/1", headers=company.headers),
    ):
        error = fault(response)
        assert error["code"] == "500"
        assert error["Message"] == "Unsupported Operation"


async def test_name_list_entities_cannot_be_deleted(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Permanent"})
    response = await company.post(
        "Customer", {"Id": created["Id"], "SyncToken": "0"}, operation="delete"
    )
    assert fault(response)["code"] == "500"


async def test_malformed_json_body_is_2010(company: Company) -> None:
    response = await company.http.post(
        company.path("customer"),
        content=b"{not json",
        headers=company.headers | {"Content-Type": "application/json"},
    )
    assert fault(response)["code"] == "2010"


async def test_empty_fields_are_omitted_not_null(company: Company) -> None:
    customer = await company.create("Customer", {"DisplayName": "Sparse Data", "GivenName": ""})
    assert "GivenName" not in customer
    assert None not in customer.values()
