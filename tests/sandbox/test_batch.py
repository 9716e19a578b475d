"""`POST /batch`: items answered one by one (entity, fault or query), in order, no rollback."""

from __future__ import annotations

from typing import Any

import httpx

from tests.sandbox.helpers import Company, fault


async def run_batch(company: Company, items: list[dict[str, Any]], **params: str) -> httpx.Response:
    params.setdefault("minorversion", "75")
    return await company.http.post(
        company.path("batch"),
        json={"BatchItemRequest": items},
        params=params,
        headers=company.headers,
    )


async def answers(company: Company, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await run_batch(company, items)
    assert response.status_code == 200, response.text
    body = response.json()
    assert list(body) == ["BatchItemResponse", "time"]
    return body["BatchItemResponse"]  # type: ignore[no-any-return]


async def test_each_item_gets_its_entity_fault_or_query_response(company: Company) -> None:
    stale = await company.create("Customer", {"DisplayName": "Stale Target"})
    await company.update(
        "Customer", {"Id": stale["Id"], "SyncToken": "0", "sparse": True, "Notes": "x"}
    )
    replies = await answers(
        company,
        [
            {"bId": "bid1", "operation": "create", "Customer": {"DisplayName": "Batch One"}},
            {"bId": "bid2", "operation": "create", "Customer": {"DisplayName": "batch one"}},
            {
                "bId": "bid3",
                "operation": "update",
                "Customer": {"Id": stale["Id"], "SyncToken": "0", "sparse": True, "Notes": "y"},
            },
            {"bId": "bid4", "Query": "select * from Customer where DisplayName = 'Batch One'"},
            {"bId": "bid5", "Query": "select * from Nothing"},
            {"bId": "bid6", "Query": "select * from Customer where DisplayName = 'Nobody'"},
        ],
    )
    assert [list(reply) for reply in replies] == [
        ["Customer", "bId"],
        ["Fault", "bId"],
        ["Fault", "bId"],
        ["QueryResponse", "bId"],
        ["Fault", "bId"],
        ["QueryResponse", "bId"],
    ]
    assert [reply["bId"] for reply in replies] == ["bid1", "bid2", "bid3", "bid4", "bid5", "bid6"]
    created = replies[0]["Customer"]
    assert created["DisplayName"] == "Batch One" and created["Id"] and created["SyncToken"] == "0"
    assert set(created["MetaData"]) == {"CreateTime", "LastUpdatedTime"}
    assert replies[1]["Fault"]["type"] == "ValidationFault"
    assert [e["code"] for e in replies[1]["Fault"]["Error"]] == ["6240"]
    assert set(replies[1]["Fault"]["Error"][0]) == {"Message", "Detail", "code", "element"}
    assert replies[2]["Fault"]["Error"][0]["code"] == "5010"
    query = replies[3]["QueryResponse"]
    assert [c["Id"] for c in query["Customer"]] == [created["Id"]]
    assert (query["startPosition"], query["maxResults"]) == (1, 1)
    assert replies[4]["Fault"]["Error"][0]["code"] == "4001"
    assert replies[5]["QueryResponse"] == {}


async def test_items_run_in_order_without_rollback(company: Company) -> None:
    replies = await answers(
        company,
        [
            {"bId": "1", "operation": "create", "Customer": {"DisplayName": "First"}},
            {"bId": "2", "operation": "create", "Customer": {"Nonsense": True}},
            {"bId": "3", "operation": "create", "Customer": {"DisplayName": "Third"}},
            {"bId": "4", "Query": "select count(*) from Customer"},
        ],
    )
    assert replies[1]["Fault"]["Error"][0]["code"] == "2010"
    assert replies[3]["QueryResponse"] == {"totalCount": 2}
    names = [c["DisplayName"] for c in (await company.state())["Customer"]]
    assert names == ["First", "Third"]


async def test_items_use_the_same_write_path_as_single_calls(company: Company) -> None:
    item = await company.service_item("Mowing")
    replies = await answers(
        company,
        [
            {
                "bId": "1",
                "operation": "update",
                "Item": {"Id": item["Id"], "SyncToken": "0", "sparse": True, "UnitPrice": 45.5},
            },
            {"bId": "2", "operation": "delete", "Customer": {"Id": "1", "SyncToken": "0"}},
            {"bId": "3", "operation": "create", "Bill": {"DocNumber": "Not Served"}},
            {"bId": "4", "operation": "create", "Item": {"Name": "No Type"}},
            {"bId": "5"},
        ],
    )
    assert replies[0]["Item"]["UnitPrice"] == 45.5 and replies[0]["Item"]["SyncToken"] == "1"
    assert replies[1]["Fault"]["type"] == "ValidationFault"  # name-list records are not deleted
    assert replies[2]["Fault"]["Error"][0]["code"] == "500"
    assert replies[3]["Fault"]["Error"][0]["code"] == "2020"
    assert replies[4]["Fault"]["Error"][0]["code"] == "2020"
    assert (await company.get("Item", item["Id"])).json()["Item"]["UnitPrice"] == 45.5


async def test_at_most_30_items(company: Company) -> None:
    items = [{"bId": str(n), "Query": "select * from Account"} for n in range(30)]
    assert len(await answers(company, items)) == 30
    too_many = await run_batch(company, [*items, {"bId": "30", "Query": "select * from Item"}])
    error = fault(too_many)
    assert error["code"] == "6000" and "30" in error["Detail"]


async def test_requestid_replays_the_whole_batch(company: Company) -> None:
    items = [{"bId": "1", "operation": "create", "Customer": {"DisplayName": "Once"}}]
    first = await run_batch(company, items, requestid="b" * 36)
    again = await run_batch(company, items, requestid="b" * 36)
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert len((await company.state())["Customer"]) == 1
    assert [e["replayed"] for e in await company.request_log()] == [False, True]


async def test_batch_requestid_and_bid_lengths(company: Company) -> None:
    items = [{"bId": "x" * 11, "Query": "select * from Account"}]
    error = fault(await run_batch(company, items, requestid="r" * 37))
    assert (error["code"], error["element"]) == ("2050", "requestid")
    error = fault(await run_batch(company, items, requestid="r" * 36))
    assert (error["code"], error["element"]) == ("2050", "bId")
    # without a requestid a longer bId is accepted (QBO limits bIds only alongside a requestid)
    assert (await answers(company, items))[0]["bId"] == "x" * 11
    ok = await run_batch(company, [{"bId": "x" * 10, "Query": "select * from Item"}], requestid="r")
    assert ok.status_code == 200


async def test_malformed_batches_are_refused_whole(company: Company) -> None:
    def post(body: object) -> Any:
        return company.http.post(company.path("batch"), json=body, headers=company.headers)

    assert fault(await post({"BatchItemRequest": []}))["code"] == "2020"
    assert fault(await post({"Items": []}))["code"] == "2010"
    assert fault(await post([]))["code"] == "2010"
    missing_bid = {"BatchItemRequest": [{"Query": "select * from Item"}]}
    assert fault(await post(missing_bid))["element"] == "bId"
    twice = {"BatchItemRequest": [{"bId": "1", "Query": "select * from Item"}] * 2}
    assert fault(await post(twice))["code"] == "6000"
    not_json = await company.http.post(
        company.path("batch"), content=b"{nope", headers=company.headers
    )
    assert fault(not_json)["code"] == "2010"
    assert (await company.request_log())[0]["status"] == 400


async def test_batch_only_answers_post(company: Company) -> None:
    response = await company.http.get(company.path("batch"), headers=company.headers)
    assert fault(response)["code"] == "500"
