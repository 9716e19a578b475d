"""QBO reads and writes per event type, counted in the sandbox's request log on the dev stack,
against the floors of the "Performance at the floor" issue; prints one table and what each call was.

`python -m bench.qbo_calls [--check] [--temporal-address H:P]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx

from config import DEFAULT_DATA_DIR
from devstack.sample_events import (
    credit,
    customer,
    event_json,
    invoice,
    item,
    new_id,
    payment_recorded_json,
    refund,
)
from devstack.seed import choose_accounts_and_sync, connect_company
from devstack.stack import Ports, Stack
from starter.dispatch import IN_PROGRESS

COMPANY_ID = "co_bench_calls"
READ_SEGMENTS = ("query", "cdc", "reports")  # POSTed queries read too
REFUSED = (401, 429)  # with 5xx and unanswered calls: QBO refused them, so they cost no work
SETTLED_FOR = 0.3  # seconds the request log must stay still before it is counted
EVENT_TIMEOUT = 60.0

Event = dict[str, Any]


def say(text: str) -> None:
    print(text, flush=True)


# --- the scenarios ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Scenario:
    name: str
    floor: tuple[int, int]  # (reads, writes)
    given: list[Event]  # run first, not counted
    measured: Event


def customer_saved(cid: str, **changes: Any) -> Event:
    return event_json(COMPANY_ID, "customer.saved", {"customer": customer(cid, **changes)})


def product_saved(item_id: str, name: str, price: str) -> Event:
    return event_json(COMPANY_ID, "product.saved", {"item": item(item_id, name=name, price=price)})


def items_of(invoice_lines: list[tuple[str, str, str]]) -> list[Event]:
    """The items of an invoice's lines synced first, with the snapshots the invoice carries."""
    events = []
    for item_id, _, price in invoice_lines:
        type_ = "work_order_type.saved" if item_id.startswith("wot") else "product.saved"
        snapshot = item(item_id, name=f"Item {item_id}", price=price)
        events.append(event_json(COMPANY_ID, type_, {"item": snapshot}))
    return events


def lines() -> list[tuple[str, str, str]]:
    """Two lines on items of the scenario's own, so nothing is shared with an earlier one."""
    return [(new_id("prod"), "2", "30.00"), (new_id("wot"), "1", "60.00")]


def paid(cid: str, iid: str, pid: str, amount: str, **invoice_args: Any) -> Event:
    return payment_recorded_json(COMPANY_ID, cid, iid, pid, amount, **invoice_args)


def a_customer_with_items() -> tuple[str, list[tuple[str, str, str]], list[Event]]:
    cid, invoice_lines = new_id("cust"), lines()
    return cid, invoice_lines, [customer_saved(cid), *items_of(invoice_lines)]


def payment_new_invoice() -> Scenario:
    cid, invoice_lines, given = a_customer_with_items()
    measured = paid(cid, new_id("inv"), new_id("pay"), "120.00", lines=invoice_lines)
    return Scenario("payment: existing customer, new invoice", (0, 2), given, measured)


def second_payment() -> Scenario:
    cid, invoice_lines, given = a_customer_with_items()
    iid = new_id("inv")
    first = paid(cid, iid, new_id("pay"), "50.00", lines=invoice_lines, amount_due="70.00")
    second = paid(cid, iid, new_id("pay"), "70.00", lines=invoice_lines, amount_due="0.00")
    return Scenario("second payment on an invoice", (0, 1), [*given, first], second)


def customer_unchanged() -> Scenario:
    cid = new_id("cust")
    return Scenario("customer unchanged", (0, 0), [customer_saved(cid)], customer_saved(cid))


def customer_renamed() -> Scenario:
    cid = new_id("cust")
    renamed = customer_saved(cid, last="Smith-Jones")
    return Scenario("customer renamed", (0, 1), [customer_saved(cid)], renamed)


def new_customer() -> Scenario:
    # A name of its own: the bench's other customers are all "Jane Smith" with one email, so
    # that name is taken by a matching customer (the 6240 path, which links instead).
    cid = new_id("cust")
    return Scenario("new customer", (0, 1), [], customer_saved(cid, last=f"Newcomer {cid[-6:]}"))


def item_unchanged() -> Scenario:
    pid = new_id("prod")
    given = product_saved(pid, "Bench tabs", "24.50")
    return Scenario("item unchanged", (0, 0), [given], product_saved(pid, "Bench tabs", "24.50"))


def item_renamed() -> Scenario:
    pid = new_id("prod")
    given = product_saved(pid, "Bench tabs", "24.50")
    renamed = product_saved(pid, "Bench tablets", "24.50")
    return Scenario("item renamed", (0, 1), [given], renamed)


def new_item() -> Scenario:
    return Scenario("new item", (0, 1), [], product_saved(new_id("prod"), "Bench net", "12.00"))


def payment_gone(type_: str) -> Callable[[], Scenario]:
    def scenario() -> Scenario:
        cid, invoice_lines, given = a_customer_with_items()
        iid, pid = new_id("inv"), new_id("pay")
        recorded = paid(cid, iid, pid, "120.00", lines=invoice_lines)
        gone = event_json(COMPANY_ID, type_, {"payment_id": pid, "invoice_id": iid})
        return Scenario(type_.replace(".", " "), (0, 1), [*given, recorded], gone)

    return scenario


def payment_refunded() -> Scenario:
    cid, invoice_lines, given = a_customer_with_items()
    pid = new_id("pay")
    recorded = paid(cid, new_id("inv"), pid, "120.00", lines=invoice_lines)
    refunded = event_json(
        COMPANY_ID,
        "payment.refunded",
        {"payment_id": pid, "refund": refund(new_id("ref"), "20.00")},
    )
    return Scenario("payment refunded", (0, 1), [*given, recorded], refunded)


def credit_recorded_json(crid: str, cid: str, amount: str) -> Event:
    return event_json(
        COMPANY_ID,
        "credit.recorded",
        {"credit": credit(crid, cid, amount), "customer": customer(cid)},
    )


def credit_recorded() -> Scenario:
    cid = new_id("cust")
    recorded = credit_recorded_json(new_id("cr"), cid, "100.00")
    return Scenario("credit recorded", (0, 1), [customer_saved(cid)], recorded)


def credit_applied() -> Scenario:
    cid, invoice_lines, given = a_customer_with_items()
    crid = new_id("cr")
    applied = event_json(
        COMPANY_ID,
        "credit.applied",
        {
            "credit_id": crid,
            "invoice": invoice(new_id("inv"), cid, lines=invoice_lines, amount_due="0.00"),
            "customer": customer(cid),
            "amount": "120.00",
        },
    )
    recorded = credit_recorded_json(crid, cid, "150.00")
    return Scenario("credit applied to a new invoice", (0, 2), [*given, recorded], applied)


def credit_refunded() -> Scenario:
    cid, crid = new_id("cust"), new_id("cr")
    given = [customer_saved(cid), credit_recorded_json(crid, cid, "100.00")]
    refunded = event_json(
        COMPANY_ID,
        "credit.refunded",
        {"credit_id": crid, "refund": refund(new_id("ref"), "20.00")},
    )
    return Scenario("credit refunded", (0, 2), given, refunded)


SCENARIOS: list[Callable[[], Scenario]] = [
    payment_new_invoice,
    second_payment,
    customer_unchanged,
    customer_renamed,
    item_unchanged,
    item_renamed,
    payment_gone("payment.deleted"),
    payment_gone("payment.voided"),
    payment_refunded,
    credit_recorded,
    credit_applied,
    credit_refunded,
    new_customer,
    new_item,
]


def once_per_company() -> list[Scenario]:
    """The company's first payment (it reads CompanyInfo and Preferences once), first refund
    (it makes the "Skimmer refund" item once) and first credit refund (it finds the A/R account)."""
    cid, invoice_lines, given = a_customer_with_items()
    pid = new_id("pay")
    first_payment = paid(cid, new_id("inv"), pid, "120.00", lines=invoice_lines)
    first_refund = event_json(
        COMPANY_ID,
        "payment.refunded",
        {"payment_id": pid, "refund": refund(new_id("ref"), "10.00")},
    )
    crid = new_id("cr")
    first_credit_refund = event_json(
        COMPANY_ID,
        "credit.refunded",
        {"credit_id": crid, "refund": refund(new_id("ref"), "10.00")},
    )
    return [
        Scenario("the company's first payment", (0, 2), given, first_payment),
        Scenario("the company's first refund", (0, 1), [], first_refund),
        # It looks up the Accounts Receivable account once.
        Scenario(
            "the company's first credit refund",
            (0, 2),
            [credit_recorded_json(crid, cid, "50.00")],
            first_credit_refund,
        ),
    ]


# --- counting ---------------------------------------------------------------------------------


@dataclass
class Count:
    reads: int = 0
    writes: int = 0
    refused: int = 0
    calls: list[str] = field(default_factory=list)  # what each counted call was, in order


def is_refused(status: int | None) -> bool:
    return status is None or status in REFUSED or status >= 500


def tail_of(path: str) -> list[str]:
    """The path after /v3/company/{realm}/."""
    return path.split("/")[4:]


def describe(entry: dict[str, Any]) -> str:
    """One call in a few words: `GET customer`, `query`, `POST invoice delete`."""
    tail = tail_of(str(entry["path"]))
    name = tail[0] if tail else "?"
    if name in READ_SEGMENTS:
        return name
    query = parse_qs(str(entry.get("query") or ""))
    # a payment is voided by `operation=update&include=void`, an invoice by `operation=void`
    operation = (query.get("include") or query.get("operation") or [""])[0]
    return " ".join(part for part in (str(entry["method"]), name, operation) if part)


def count(entries: list[dict[str, Any]]) -> Count:
    tally = Count()
    for entry in entries:
        if is_refused(entry.get("status")):
            tally.refused += 1
            continue
        tail = tail_of(str(entry["path"]))
        if entry["method"] == "GET" or (tail and tail[0] in READ_SEGMENTS):
            tally.reads += 1
        else:
            # a /batch call would count as one write here: the log does not show its items
            tally.writes += 1
        tally.calls.append(describe(entry))
    return tally


# --- the run ----------------------------------------------------------------------------------


class CallsBench:
    def __init__(self, http: httpx.AsyncClient, api_url: str, log_url: str) -> None:
        self.http = http
        self.api_url = api_url
        self.log_url = log_url

    async def request_log(self, since: int = 0) -> list[dict[str, Any]]:
        """The sandbox's log of the company's calls, from the `since`-th on."""
        reply = await self.http.get(self.log_url, params={"since": since})
        reply.raise_for_status()
        return list(reply.json()["requests"])

    async def settled_log(self, since: int = 0) -> list[dict[str, Any]]:
        """The log (from the `since`-th call) once no call has come in for SETTLED_FOR seconds
        (late calls belong to the event that made them, not to the next one)."""
        log = await self.request_log(since)
        while True:
            await asyncio.sleep(SETTLED_FOR)
            again = await self.request_log(since)
            if len(again) == len(log):
                return again
            log = again

    async def log_length(self) -> int:
        return len(await self.settled_log())

    async def run_event(self, event: Event) -> None:
        """POST the event and wait for it to finish; anything but completed stops the bench."""
        reply = await self.http.post(f"{self.api_url}/events", json=event)
        if reply.status_code != 202:
            raise RuntimeError(f"{event['type']} refused: {reply.status_code} {reply.text}")
        deadline = time.monotonic() + EVENT_TIMEOUT
        while time.monotonic() < deadline:
            state = (await self.http.get(f"{self.api_url}/events/{event['event_id']}")).json()
            if state.get("status") not in IN_PROGRESS:
                if state.get("status") != "completed":
                    raise RuntimeError(f"{event['type']} ended {state.get('status')}: {state}")
                return
            await asyncio.sleep(0.05)
        raise RuntimeError(f"{event['type']} did not finish in {EVENT_TIMEOUT:.0f} s")

    async def measure(self, scenario: Scenario) -> Count:
        for event in scenario.given:
            await self.run_event(event)
        before = await self.log_length()
        await self.run_event(scenario.measured)
        return count(await self.settled_log(before))


def met(scenario: Scenario, tally: Count) -> bool:
    return tally.reads <= scenario.floor[0] and tally.writes <= scenario.floor[1]


def table(results: list[tuple[Scenario, Count]]) -> list[str]:
    width = max(len(s.name) for s, _ in results)
    rows = [
        f"{'scenario':<{width}} | reads | writes | floor | met?",
        f"{'-' * width}-|-------|--------|-------|-----",
    ]
    for scenario, tally in results:
        floor = f"{scenario.floor[0]}/{scenario.floor[1]}"
        verdict = "yes" if met(scenario, tally) else "no"
        rows.append(
            f"{scenario.name:<{width}} | {tally.reads:>5} | {tally.writes:>6} | {floor:>5} | "
            f"{verdict}"
        )
    return rows


@dataclass
class CallsResult:
    results: list[tuple[Scenario, Count]]
    once: list[tuple[Scenario, Count]]  # once-per-company costs, not in the table

    def details(self) -> list[str]:
        """What each counted call was, the once-per-company costs and the refused calls."""
        lines = ["what each counted call was:"]
        lines += [f"  {s.name}: {', '.join(t.calls) or '(none)'}" for s, t in self.results]
        lines.append("once per company, run first and not in the table:")
        lines += [
            f"  {s.name}: {t.reads} reads, {t.writes} writes: {', '.join(t.calls)}"
            for s, t in self.once
        ]
        refused = {s.name: t.refused for s, t in [*self.once, *self.results] if t.refused}
        lines.append(f"refused by QBO (401/429/5xx, left out): {refused or 'none'}")
        return lines


async def measure_calls(http: httpx.AsyncClient, stack: Stack) -> CallsResult:
    """Every scenario on a started stack, in a company of its own (no QBO latency set)."""
    company = await connect_company(http, stack.api_url, COMPANY_ID)
    await choose_accounts_and_sync(http, stack.api_url, company)
    log_url = f"{stack.sandbox_url}/__sandbox/realms/{company.realm_id}/requests"
    bench = CallsBench(http, stack.api_url, log_url)
    # Once-per-company costs counted apart, so every row shows an event's steady cost.
    once = [(scenario, await bench.measure(scenario)) for scenario in once_per_company()]
    results = []
    for build in SCENARIOS:
        scenario = build()
        results.append((scenario, await bench.measure(scenario)))
    return CallsResult(results, once)


async def run(args: argparse.Namespace) -> int:
    # A task queue of the run's own, so workers of an existing cluster never take its tasks.
    os.environ["TEMPORAL_TASK_QUEUE"] = f"bench-calls-{uuid.uuid4().hex[:8]}"
    stack = Stack(
        data_dir=args.data_dir,
        ports=Ports.free(),
        say=lambda text: say(f"  {text}"),
        fresh=True,
        temporal_address=args.temporal_address,
    )
    say("bench: QBO reads and writes per event type, one company on the dev stack")
    started = time.monotonic()
    try:
        await stack.start()
        async with stack.client(timeout=60) as http:
            measured = await measure_calls(http, stack)
    finally:
        await stack.stop()
    results = measured.results
    say("")
    say("\n".join(table(results)))
    say("")
    say("\n".join(measured.details()))
    say(f"took {time.monotonic() - started:.0f} s")
    all_met = all(met(s, t) for s, t in results)
    say(f"every floor met: {'yes' if all_met else 'no'}")
    return 1 if args.check and not all_met else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.qbo_calls", description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 unless every scenario meets its floor"
    )
    parser.add_argument(
        "--temporal-address", help="an existing Temporal server (default: start a dev server)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR / "bench-calls")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))
