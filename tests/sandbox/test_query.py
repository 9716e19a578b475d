"""The query language: filters, escapes, ordering, paging, counting and its errors."""

from __future__ import annotations

from typing import Any

from tests.sandbox.helpers import Company, fault


async def _customers(company: Company, *names: str) -> list[dict[str, Any]]:
    return [await company.create("Customer", {"DisplayName": name}) for name in names]


async def test_select_by_display_name_with_escaped_quote(company: Company) -> None:
    await _customers(company, "Amy's Bird Sanctuary", "Bob's Burger Joint")
    rows = await company.rows("SELECT * FROM Customer WHERE DisplayName = 'Amy\\'s Bird Sanctuary'")
    assert [row["DisplayName"] for row in rows] == ["Amy's Bird Sanctuary"]


async def test_reply_envelope_has_start_position_and_rows_returned(company: Company) -> None:
    await _customers(company, "A", "B")
    response = await company.query("select * from customer")
    body = response.json()
    assert set(body) == {"QueryResponse", "time"}
    reply = body["QueryResponse"]
    assert set(reply) == {"Customer", "startPosition", "maxResults"}
    assert (reply["startPosition"], reply["maxResults"]) == (1, 2)


async def test_no_rows_is_an_empty_query_response(company: Company) -> None:
    response = await company.query("SELECT * FROM Customer WHERE DisplayName = 'Nobody'")
    assert response.json()["QueryResponse"] == {}


async def test_string_equality_ignores_case_and_ampersand_is_plain(company: Company) -> None:
    await _customers(company, "Robertson & Associates")
    rows = await company.rows("SELECT * FROM Customer WHERE DisplayName = 'robertson & associates'")
    assert len(rows) == 1


async def test_like_in_and_number_filters(company: Company) -> None:
    await _customers(company, "Pool Pro", "Pool Masters", "Spa World")
    like = await company.rows("SELECT * FROM Customer WHERE DisplayName LIKE 'pool%'")
    assert sorted(row["DisplayName"] for row in like) == ["Pool Masters", "Pool Pro"]
    contains = await company.rows("SELECT * FROM Customer WHERE DisplayName LIKE '%o%'")
    assert len(contains) == 3
    in_list = await company.rows("SELECT * FROM Customer WHERE Id IN ('1', '3')")
    assert [row["DisplayName"] for row in in_list] == ["Pool Pro", "Spa World"]
    above = await company.rows("SELECT * FROM Customer WHERE Id > '1' AND Id <= '3'")
    assert sorted(row["Id"] for row in above) == ["2", "3"]
    await company.service_item("Cheap", UnitPrice=5)
    await company.service_item("Dear", UnitPrice=500)
    priced = await company.rows("SELECT * FROM Item WHERE UnitPrice >= 100")
    assert [row["Name"] for row in priced] == ["Dear"]


async def test_order_by_start_position_and_max_results(company: Company) -> None:
    await _customers(company, "Charlie", "alpha", "Bravo", "Delta")
    ascending = await company.rows("SELECT * FROM Customer ORDERBY DisplayName")
    assert [row["DisplayName"] for row in ascending] == ["alpha", "Bravo", "Charlie", "Delta"]
    descending = await company.rows("SELECT * FROM Customer ORDERBY Id DESC")
    assert [row["Id"] for row in descending] == ["4", "3", "2", "1"]
    response = await company.query(
        "SELECT * FROM Customer ORDERBY DisplayName MAXRESULTS 2 STARTPOSITION 2"
    )
    reply = response.json()["QueryResponse"]
    assert [row["DisplayName"] for row in reply["Customer"]] == ["Bravo", "Charlie"]
    assert (reply["startPosition"], reply["maxResults"]) == (2, 2)
    beyond = await company.query("SELECT * FROM Customer STARTPOSITION 9 MAXRESULTS 5")
    assert beyond.json()["QueryResponse"] == {}


async def test_order_by_metadata_time_and_filter_on_it(company: Company) -> None:
    [first] = await _customers(company, "Early")
    rows = await company.rows(
        "SELECT * FROM Customer WHERE MetaData.LastUpdatedTime >= "
        f"'{first['MetaData']['LastUpdatedTime']}' ORDERBY MetaData.LastUpdatedTime DESC"
    )
    assert [row["DisplayName"] for row in rows] == ["Early"]
    later = await company.rows(
        "SELECT * FROM Customer WHERE Metadata.LastUpdatedTime > '2999-01-01'"
    )
    assert later == []


async def test_count(company: Company) -> None:
    await _customers(company, "One", "Two", "Three")
    response = await company.query("SELECT COUNT(*) FROM Customer WHERE DisplayName LIKE 'T%'")
    assert response.json()["QueryResponse"] == {"totalCount": 2}
    accounts = await company.query("select count(*) from Account")
    assert accounts.json()["QueryResponse"] == {"totalCount": len(company.accounts)}


async def test_inactive_rows_hidden_unless_the_query_filters_on_active(company: Company) -> None:
    _, gone = await _customers(company, "Kept", "Gone")
    await company.update(
        "Customer", {"Id": gone["Id"], "SyncToken": "0", "sparse": True, "Active": False}
    )
    default = await company.rows("SELECT * FROM Customer")
    assert [row["DisplayName"] for row in default] == ["Kept"]
    both = await company.rows("SELECT * FROM Customer WHERE Active IN (true, false)")
    assert sorted(row["DisplayName"] for row in both) == ["Gone (deleted)", "Kept"]
    only_inactive = await company.rows("SELECT * FROM Customer WHERE Active = false")
    assert [row["DisplayName"] for row in only_inactive] == ["Gone (deleted)"]
    count = await company.query("SELECT COUNT(*) FROM Customer")
    assert count.json()["QueryResponse"] == {"totalCount": 1}
    by_id = await company.get("Customer", gone["Id"])
    assert by_id.status_code == 200


async def test_entity_names_and_keywords_are_case_insensitive(company: Company) -> None:
    rows = await company.rows("select * from ACCOUNT where accounttype = 'Bank' orderby name asc")
    assert [row["Name"] for row in rows] == ["Checking"]


async def test_reference_fields_compare_by_id(company: Company) -> None:
    await company.service_item("Linked")
    services = company.account_id("Services")
    rows = await company.rows(f"SELECT * FROM Item WHERE IncomeAccountRef = '{services}'")
    assert [row["Name"] for row in rows] == ["Linked"]


async def test_post_query_with_application_text_body(company: Company) -> None:
    await _customers(company, "Posted")
    response = await company.http.post(
        company.path("query"),
        params={"minorversion": "75"},
        content="SELECT * FROM Customer WHERE DisplayName = 'Posted'",
        headers=company.headers | {"Content-Type": "application/text"},
    )
    assert response.status_code == 200
    assert response.json()["QueryResponse"]["Customer"][0]["DisplayName"] == "Posted"


async def test_garbage_is_4000_query_parser_error(company: Company) -> None:
    for text in (
        "hello world",
        "SELECT * FROM Customer WHERE",
        "SELECT * FROM Customer WHERE DisplayName = 'unterminated",
        "SELECT * FROM Customer WHERE DisplayName = 'a' OR DisplayName = 'b'",
        "SELECT * FROM Customer WHERE DisplayName LIKE 50%",
        "SELECT * FROM Customer MAXRESULTS ten",
        "",
    ):
        error = fault(await company.query(text))
        assert error["code"] == "4000", text
        assert error["Message"] == "Error parsing query"
        assert error["Detail"].startswith("QueryParserError: ")


async def test_unknown_property_or_entity_is_4001(company: Company) -> None:
    unknown_field = fault(await company.query("SELECT * FROM Customer WHERE Nickname = 'x'"))
    assert unknown_field["code"] == "4001"
    assert unknown_field["Detail"].startswith("QueryValidationError: ")
    unknown_entity = fault(await company.query("SELECT * FROM Spaceship"))
    assert unknown_entity["code"] == "4001"


async def test_max_results_above_1000_is_refused(company: Company) -> None:
    error = fault(await company.query("SELECT * FROM Customer MAXRESULTS 1001"))
    assert error["code"] == "4001"
    ok = await company.query("SELECT * FROM Customer MAXRESULTS 1000")
    assert ok.status_code == 200


async def test_default_page_is_100_rows(company: Company) -> None:
    for number in range(105):
        await company.create("Customer", {"DisplayName": f"Customer {number:03}"})
    reply = (await company.query("SELECT * FROM Customer")).json()["QueryResponse"]
    assert reply["maxResults"] == 100 and len(reply["Customer"]) == 100
    rest = (await company.query("SELECT * FROM Customer STARTPOSITION 101")).json()
    assert rest["QueryResponse"]["maxResults"] == 5
