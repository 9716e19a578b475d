"""Three worker processes drain one company's backlog through Temporal against the QBO sandbox
with QBO's real limits and a 150 ms latency; prints the QBO requests per minute reached, the
sandbox's 429s and its peak of calls in flight (issue 10: zero 429s, at least 90 % of 500/minute).

`python -m bench.shared_limits [--events N] [--workers N] [--latency S] [--temporal-address H:P]`
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import sys
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import Session
from temporalio.client import Client

from config import DEFAULT_DATA_DIR
from devstack.chaos import model as m
from devstack.chaos.generator import customer_json
from devstack.sample_events import payment_recorded_json
from devstack.seed import choose_accounts_and_sync, connect_company
from devstack.stack import Ports, Stack
from services import open_store
from starter.temporal import connect
from store.limits import QBORealmBudget

COMPANY_ID = "co_bench_limits"
QBO_PER_MINUTE = 500
TARGET_SHARE = 0.90
SENDERS = 16  # events posted to the API at once
PROGRESS_EVERY = 5.0  # seconds


@dataclass
class Sample:
    at: float  # seconds since the events started going out
    accepted: int  # QBO calls the sandbox let through so far
    last_minute: int  # of which in the sandbox's last 60 s
    done: int  # events finished (completed or failed)


@dataclass
class Drain:
    events: int
    sent: int = 0
    samples: list[Sample] = field(default_factory=list)


def say(text: str) -> None:
    print(text, flush=True)


def payment_recorded(company_id: str, n: int) -> dict[str, Any]:
    """A backfill's event: a new customer's paid invoice (3 QBO writes: the customer, the
    invoice, the payment; the two items are made by the first events)."""
    customer = m.Customer(
        f"cust_bench_{n:05d}", "Bench", f"Customer {n:05d}", f"bench{n}@example.com", "555-0100"
    )
    return payment_recorded_json(
        company_id,
        customer.id,
        f"inv_bench_{n:05d}",
        f"pay_bench_{n:05d}",
        "120.00",
        customer_data=customer_json(customer),
    )


async def send_events(http: httpx.AsyncClient, api_url: str, company_id: str, drain: Drain) -> None:
    """The backlog, as the billing backend would post it: every event answered 202."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    for n in range(drain.events):
        queue.put_nowait(payment_recorded(company_id, n))

    async def sender() -> None:
        while not queue.empty():
            event = queue.get_nowait()
            while (await http.post(f"{api_url}/events", json=event)).status_code != 202:
                await asyncio.sleep(0.5)
            drain.sent += 1

    await asyncio.gather(*(sender() for _ in range(SENDERS)))


async def count_events(client: Client, company_id: str, status: str) -> int:
    """The company's payments in `status` (a Temporal visibility condition)."""
    query = f"CompanyId = '{company_id}' AND WorkflowType = 'RecordPayment' AND {status}"
    return (await client.count_workflows(query)).count


async def watch(
    http: httpx.AsyncClient,
    client: Client,
    company_id: str,
    load_url: str,
    drain: Drain,
    started: float,
) -> None:
    """Sample the sandbox and the events until every event finished; say how it goes."""
    said = 0.0
    while True:
        load = (await http.get(load_url)).json()
        done = await count_events(client, company_id, "ExecutionStatus != 'Running'")
        now = time.monotonic() - started
        drain.samples.append(Sample(now, load["accepted"], load["last_minute"], done))
        if now - said >= PROGRESS_EVERY or done >= drain.events:
            said = now
            say(
                f"[{now:6.1f}s] sent {drain.sent}/{drain.events}  done {done}  "
                f"QBO calls {load['accepted']} (last 60 s: {load['last_minute']})  "
                f"429s {load['throttled']}  in flight {load['in_flight']} "
                f"(peak {load['peak_in_flight']})"
            )
        if done >= drain.events:
            return
        await asyncio.sleep(1.0)


def figures(
    drain: Drain, load: dict[str, Any], baseline: int, grants: int
) -> tuple[float, list[str]]:
    """QBO requests per minute during the drain, and the lines to print. The drain runs from the
    first QBO call after the events started going out to the moment the last event finished."""
    first = next(s for s in drain.samples if s.accepted > baseline)
    last = drain.samples[-1]
    before_first = drain.samples[drain.samples.index(first) - 1]
    minutes = (last.at - before_first.at) / 60
    calls = last.accepted - baseline
    per_minute = calls / minutes if minutes else 0.0
    best_minute = max(s.last_minute for s in drain.samples)
    return per_minute, [
        f"events drained: {drain.events} in {last.at - before_first.at:.1f} s",
        f"QBO requests during the drain: {calls} ({calls / drain.events:.2f} per event)",
        f"QBO requests per minute: {per_minute:.0f} ({per_minute / QBO_PER_MINUTE:.1%} of "
        f"{QBO_PER_MINUTE}); busiest sliding minute: {best_minute} "
        f"({best_minute / QBO_PER_MINUTE:.1%})",
        f"sandbox 429s: {load['throttled']}",
        f"sandbox peak in flight: {load['peak_in_flight']} (limit 10)",
        f"grants made by the shared limiter: {grants} (requests that reached QBO: "
        f"{load['accepted']}; the difference is grants given up, e.g. woken late)",
    ]


@dataclass
class LimitsResult:
    """One company's drain at QBO's limits, as `make bench` and `make bench-limits` print it."""

    events: int
    completed: int
    per_minute: float  # from the first QBO call to the last event done
    best_minute: int  # the most QBO calls the sandbox saw in a sliding minute
    throttled: int
    peak_in_flight: int
    dead: list[str]
    lines: list[str]

    @property
    def met(self) -> bool:
        return (
            self.throttled == 0
            and self.per_minute >= TARGET_SHARE * QBO_PER_MINUTE
            and self.completed == self.events
            and not self.dead
        )


async def drain_company(
    http: httpx.AsyncClient,
    stack: Stack,
    company_id: str,
    events: int,
    latency: float,
    timeout: float,
) -> LimitsResult:
    """Connect `company_id` on a started stack (its sandbox run with `--limits`), give its QBO
    `latency` seconds, post `events` payments at once and watch them drain."""
    company = await connect_company(http, stack.api_url, company_id)
    await choose_accounts_and_sync(http, stack.api_url, company)
    realm_url = f"{stack.sandbox_url}/__sandbox/realms/{company.realm_id}"
    delay = {"kind": "delay", "path": "*", "seconds": latency, "times": None}
    (await http.post(f"{realm_url}/faults", json=delay)).raise_for_status()
    baseline = (await http.get(f"{realm_url}/load")).json()["accepted"]
    client = await connect(stack.settings)
    drain = Drain(events, samples=[Sample(0.0, baseline, 0, 0)])
    started = time.monotonic()
    sending = asyncio.create_task(send_events(http, stack.api_url, company_id, drain))
    try:
        await asyncio.wait_for(
            watch(http, client, company_id, f"{realm_url}/load", drain, started), timeout
        )
    finally:
        sending.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sending
    completed = await count_events(client, company_id, "ExecutionStatus = 'Completed'")
    dead = [proc.name for proc in stack.dead()]
    load = (await http.get(f"{realm_url}/load")).json()
    with Session(open_store(stack.settings).engine) as session:
        budget = session.get(QBORealmBudget, company.realm_id)
    grants = budget.grants_made if budget is not None else 0
    per_minute, lines = figures(drain, load, baseline, grants)
    lines.append(f"events completed: {completed} of {drain.events}")
    best_minute = max(sample.last_minute for sample in drain.samples)
    return LimitsResult(
        events,
        completed,
        per_minute,
        best_minute,
        load["throttled"],
        load["peak_in_flight"],
        dead,
        lines,
    )


async def run(args: argparse.Namespace) -> int:
    # A task queue of the run's own, so workers of an existing cluster never take its tasks.
    os.environ["TEMPORAL_TASK_QUEUE"] = f"bench-limits-{uuid.uuid4().hex[:8]}"
    stack = Stack(
        data_dir=args.data_dir,
        ports=Ports.free(),
        say=lambda text: say(f"  {text}"),
        sandbox_args=["--limits"],  # QBO's numbers: 500/minute, 10/second, 10 in flight, 40 batch
        fresh=True,
        temporal_address=args.temporal_address,
    )
    say(f"bench: {args.events} payments, {args.workers} workers, one QBO company, "
        f"{args.latency * 1000:.0f} ms QBO latency")  # fmt: skip
    try:
        await stack.start()
        for n in range(2, args.workers + 1):
            stack.spawn(f"worker-{n}", [sys.executable, "worker.py"])
        async with stack.client(timeout=60) as http:
            result = await drain_company(
                http, stack, COMPANY_ID, args.events, args.latency, args.timeout
            )
    finally:
        await stack.stop()
    say("\n".join(result.lines))
    dead = result.dead
    verdict = (
        "met" if result.met else "NOT met" + (f" (processes that died: {dead})" if dead else "")
    )
    say(f"issue 10 target, 0 × 429 and {TARGET_SHARE:.0%} of {QBO_PER_MINUTE}/minute: {verdict}")
    return 0 if result.met else 1


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench.shared_limits", description=__doc__)
    parser.add_argument(
        "--events",
        type=int,
        default=int(os.environ.get("BENCH_EVENTS") or 500),
        help="payments (each a new customer's paid invoice, 3 QBO writes) in the backlog (default 500: ~3 min)",
    )
    parser.add_argument("--workers", type=int, default=3)
    parser.add_argument("--latency", type=float, default=0.15, help="QBO latency, seconds")
    parser.add_argument(
        "--temporal-address", help="an existing Temporal server (default: start a dev server)"
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="for the whole drain")
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR / "bench-limits")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))
