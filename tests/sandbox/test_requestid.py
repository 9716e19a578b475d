"""`requestid`: a repeated write returns the original reply and is not performed again."""

from __future__ import annotations

import asyncio

from tests.sandbox.helpers import Company, fault


async def test_repeated_requestid_replays_identical_bytes_and_creates_once(
    company: Company,
) -> None:
    first = await company.post("Customer", {"DisplayName": "Once Only"}, requestid="rid-1")
    again = await company.post("Customer", {"DisplayName": "Once Only"}, requestid="rid-1")
    assert first.status_code == again.status_code == 200
    assert again.content == first.content
    assert again.headers["intuit_tid"] != first.headers["intuit_tid"]
    assert len((await company.state())["Customer"]) == 1
    log = await company.request_log()
    assert [entry["replayed"] for entry in log] == [False, True]


async def test_replay_ignores_a_changed_body(company: Company) -> None:
    first = await company.post("Customer", {"DisplayName": "Original"}, requestid="rid-2")
    again = await company.post("Customer", {"DisplayName": "Changed"}, requestid="rid-2")
    assert again.content == first.content
    assert [c["DisplayName"] for c in (await company.state())["Customer"]] == ["Original"]


async def test_requestid_is_per_realm(company: Company) -> None:
    other = await Company.new(company.http)
    await company.post("Customer", {"DisplayName": "Mine"}, requestid="shared")
    theirs = await other.post("Customer", {"DisplayName": "Theirs"}, requestid="shared")
    assert theirs.json()["Customer"]["DisplayName"] == "Theirs"


async def test_refused_write_is_not_remembered(company: Company) -> None:
    created = await company.create("Customer", {"DisplayName": "Retry Me"})
    stale = {"Id": created["Id"], "SyncToken": "7", "sparse": True, "Notes": "n"}
    assert fault(await company.post("Customer", stale, requestid="rid-3"))["code"] == "5010"
    fixed = await company.post("Customer", stale | {"SyncToken": "0"}, requestid="rid-3")
    assert fixed.status_code == 200
    assert fixed.json()["Customer"]["Notes"] == "n"


async def test_requestid_longer_than_50_characters_is_refused(company: Company) -> None:
    error = fault(await company.post("Customer", {"DisplayName": "Long"}, requestid="x" * 51))
    assert (error["code"], error["element"]) == ("2050", "requestid")
    ok = await company.post("Customer", {"DisplayName": "Long"}, requestid="x" * 50)
    assert ok.status_code == 200


async def test_concurrent_repeats_of_one_requestid_write_once(company: Company) -> None:
    responses = await asyncio.gather(
        *(
            company.post("Customer", {"DisplayName": "Racing"}, requestid="rid-race")
            for _ in range(10)
        )
    )
    assert {response.status_code for response in responses} == {200}
    assert len({response.content for response in responses}) == 1
    assert len((await company.state())["Customer"]) == 1


async def test_concurrent_creates_get_distinct_ids(company: Company) -> None:
    responses = await asyncio.gather(
        *(company.post("Customer", {"DisplayName": f"Parallel {n}"}) for n in range(10))
    )
    ids = sorted(int(response.json()["Customer"]["Id"]) for response in responses)
    assert ids == list(range(1, 11))
