"""How `make bench-calls` reads the sandbox's request log: GETs, queries, CDC and reports are
reads, every other call a write, and calls QBO refused (401, 429, 5xx, unanswered) are left out."""

from __future__ import annotations

from typing import Any

from bench.qbo_calls import Scenario, count, met

REALM = "/v3/company/9130350000000001"


def logged(method: str, tail: str, status: int | None = 200, query: str = "") -> dict[str, Any]:
    return {"method": method, "path": f"{REALM}/{tail}", "query": query, "status": status}


def test_gets_queries_cdc_and_reports_are_reads_and_posted_entities_are_writes() -> None:
    tally = count(
        [
            logged("GET", "customer/12"),
            logged("POST", "query"),
            logged("GET", "cdc", query="entities=Payment"),
            logged("GET", "reports/CustomerBalance"),
            logged("POST", "customer", query="requestid=r1"),
            logged("POST", "payment", query="operation=update&include=void&requestid=r2"),
            logged("POST", "invoice", query="operation=delete&requestid=r3"),
        ]
    )
    assert (tally.reads, tally.writes, tally.refused) == (4, 3, 0)
    assert tally.calls == [
        "GET customer",
        "query",
        "cdc",
        "reports",
        "POST customer",
        "POST payment void",
        "POST invoice delete",
    ]


def test_calls_quickbooks_refused_are_counted_apart_and_not_as_work() -> None:
    tally = count(
        [
            logged("POST", "customer", status=429),
            logged("GET", "customer/12", status=401),
            logged("POST", "customer", status=503),
            logged("POST", "customer", status=None),  # dropped before an answer
            logged("POST", "customer", status=400),  # a validation fault was still a call made
        ]
    )
    assert (tally.reads, tally.writes, tally.refused) == (0, 1, 4)


def test_a_scenario_meets_its_floor_only_when_neither_reads_nor_writes_exceed_it() -> None:
    payment = Scenario("payment", (0, 2), [], {})
    at_floor = count([logged("POST", "invoice"), logged("POST", "payment")])
    one_read_more = count([logged("GET", "customer/1"), *[logged("POST", "payment")] * 2])
    assert met(payment, at_floor) and not met(payment, one_read_more)
