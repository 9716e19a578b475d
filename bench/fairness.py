"""`make bench-cluster` (and `BENCH_CLUSTER=1 make bench`): fairness between companies and QBO's
limits shared by every worker, measured on the production shape (`devstack.cluster`: Temporal
server on PostgreSQL with fairness, workers, two APIs, the sandbox with QBO's per-company limits
and 150 ms of QBO latency).

Company B sends payments one at a time, first alone (its idle latency), then while company A
drains a backlog of BENCH_A_EVENTS payments over BENCH_A_CUSTOMERS customers. Printed: B's p50
and p95 in both phases and the ratio (target: p95 loaded ≤ 2 × p95 idle), A's QBO requests per
minute during the drain (target ≥ 90 % of 500/minute), the sandbox's 429s (target 0) and the
most requests it saw in flight for A at once (limit 10).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from temporalio.client import Client

from bench.table import Figure, machine, missed, pct, render, result_line
from config import DEFAULT_DATA_DIR
from devstack.cluster import ClusterPorts, ClusterStack
from devstack.sample_events import payment_recorded_json
from devstack.seed import ConnectedCompany, choose_accounts_and_sync, connect_company
from starter.dispatch import IN_PROGRESS
from workflows.search import COMPANY_ID

QBO_PER_MINUTE = 500


@dataclass(frozen=True)
class BenchConfig:
    a_events: int = 1000
    a_customers: int = 250
    b_idle_samples: int = 30
    workers: int = 3
    latency: float = 0.15
    data_dir: Path = DEFAULT_DATA_DIR / "bench"

    @classmethod
    def from_env(cls) -> BenchConfig:
        env, base = os.environ, cls()
        return cls(
            a_events=int(env.get("BENCH_A_EVENTS") or base.a_events),
            a_customers=int(env.get("BENCH_A_CUSTOMERS") or base.a_customers),
            b_idle_samples=int(env.get("BENCH_B_SAMPLES") or base.b_idle_samples),
            workers=int(env.get("BENCH_WORKERS") or base.workers),
            latency=float(env.get("BENCH_QBO_LATENCY") or base.latency),
        )


@dataclass
class Drain:
    started: float = 0.0
    finished: float = 0.0
    done: int = 0
    failed: int = 0
    peak_last_minute: int = 0
    samples: list[tuple[float, int]] = field(default_factory=list)  # (t, accepted so far)


def say(text: str) -> None:
    print(text, flush=True)


class FairnessBench:
    def __init__(self, config: BenchConfig) -> None:
        self.config = config
        self.stack = ClusterStack(
            data_dir=config.data_dir,
            cluster_ports=ClusterPorts.free(),
            workers=config.workers,
            say=lambda text: say(f"  {text}"),
            sandbox_args=["--limits"],  # QBO's per-company limits: any 429 shows a gap
            fresh=True,
        )
        self.http = self.stack.client(timeout=60)
        self._b_serial = 0

    # --- one event, timed ---------------------------------------------------------------------

    async def _finish(self, api: str, event_id: str, poll: float = 0.05) -> str:
        while True:
            reply = await self.http.get(f"{api}/events/{event_id}")
            if reply.status_code == 200 and reply.json()["status"] not in IN_PROGRESS:
                return str(reply.json()["status"])
            await asyncio.sleep(poll)

    async def b_payment(self, company: ConnectedCompany) -> float:
        """One payment of company B, from POST to completed, in seconds."""
        self._b_serial += 1
        n = self._b_serial
        event = payment_recorded_json(
            company.company_id, f"b_cust_{n % 5}", f"b_inv_{n}", f"b_pay_{n}", "120.00"
        )
        api = self.stack.api_urls[n % len(self.stack.api_urls)]
        started = time.monotonic()
        reply = await self.http.post(f"{api}/events", json=event)
        reply.raise_for_status()
        status = await self._finish(api, event["event_id"])
        if status != "completed":
            raise RuntimeError(f"B's payment {event['event_id']} ended {status}")
        return time.monotonic() - started

    # --- the phases --------------------------------------------------------------------------

    async def idle(self, b: ConnectedCompany) -> list[float]:
        await self.b_payment(b)  # warm-up: customer and items exist from here on
        latencies = []
        for _ in range(self.config.b_idle_samples):
            latencies.append(await self.b_payment(b))
        return latencies

    async def loaded(self, a: ConnectedCompany, b: ConnectedCompany) -> tuple[list[float], Drain]:
        drain = Drain()
        events = [
            payment_recorded_json(
                a.company_id,
                f"a_cust_{i % self.config.a_customers}",
                f"a_inv_{i}",
                f"a_pay_{i}",
                "120.00",
            )
            for i in range(self.config.a_events)
        ]
        drain.started = time.monotonic()
        await self._post_all(events)
        say(f"  A's {len(events)} events accepted in {time.monotonic() - drain.started:.1f}s")
        watcher = asyncio.create_task(self._watch_drain(a, [e["event_id"] for e in events], drain))
        latencies: list[float] = []
        while not watcher.done():
            latencies.append(await self.b_payment(b))
            await asyncio.sleep(0.25)
        await watcher
        return latencies, drain

    async def _post_all(self, events: list[dict[str, object]]) -> None:
        gate = asyncio.Semaphore(16)
        apis = self.stack.api_urls

        async def post(index: int, event: dict[str, object]) -> None:
            async with gate:
                reply = await self.http.post(f"{apis[index % len(apis)]}/events", json=event)
                reply.raise_for_status()

        await asyncio.gather(*(post(i, e) for i, e in enumerate(events)))

    async def _watch_drain(self, a: ConnectedCompany, event_ids: list[str], drain: Drain) -> None:
        """Until every A event finished: the sandbox's load on A and a count of A's finished
        event workflows in Temporal's visibility every 2 s (one query, not one per event, so
        watching does not load the cluster B is measured on), progress every 20 s."""
        client = await Client.connect(self.stack.address)
        finished = (
            f"{COMPANY_ID.name} = '{a.company_id}' AND WorkflowType != 'RecordLane' "
            "AND ExecutionStatus != 'Running'"
        )
        failed = f"{finished} AND ExecutionStatus != 'Completed'"
        last_said = time.monotonic()
        while drain.done < len(event_ids):
            load = await self._load(a)
            drain.peak_last_minute = max(drain.peak_last_minute, int(load["last_minute"]))
            drain.samples.append((time.monotonic(), int(load["accepted"])))
            drain.done = (await client.count_workflows(finished)).count
            if time.monotonic() - last_said > 20:
                last_said = time.monotonic()
                say(
                    f"  A: {drain.done}/{len(event_ids)} done, "
                    f"{load['last_minute']} QBO requests in the last minute"
                )
            await asyncio.sleep(2)
        drain.finished = time.monotonic()
        drain.failed = (await client.count_workflows(failed)).count

    async def _load(self, company: ConnectedCompany) -> dict[str, int]:
        url = f"{self.stack.sandbox_url}/__sandbox/realms/{company.realm_id}/load"
        return dict((await self.http.get(url)).json())

    async def _latency(self, company: ConnectedCompany) -> None:
        url = f"{self.stack.sandbox_url}/__sandbox/realms/{company.realm_id}/faults"
        reply = await self.http.post(
            url, json={"kind": "delay", "seconds": self.config.latency, "times": None}
        )
        reply.raise_for_status()

    # --- the run -----------------------------------------------------------------------------

    async def measure(self) -> list[Figure]:
        """Start the cluster, run both phases, stop it; the figures with their targets."""
        config = self.config
        say(
            f"bench: fairness and shared QBO limits on the cluster ({config.workers} workers, "
            f"2 APIs, QBO latency {config.latency * 1000:.0f} ms; A drains {config.a_events} "
            f"payments over {config.a_customers} customers)"
        )
        try:
            await self.stack.start()
            companies = []
            for company_id in ("co_bench_a", "co_bench_b"):
                company = await connect_company(self.http, self.stack.api_url, company_id)
                await choose_accounts_and_sync(self.http, self.stack.api_url, company)
                await self._latency(company)
                companies.append(company)
            a, b = companies
            say("phase 1: B alone")
            idle = await self.idle(b)
            say(f"  B idle: p50 {statistics.median(idle):.2f}s p95 {pct(idle, 0.95):.2f}s")
            say("phase 2: B while A drains its backlog")
            loaded, drain = await self.loaded(a, b)
            a_load, b_load = await self._load(a), await self._load(b)
        finally:
            await self.stack.stop()
            await self.http.aclose()
        return self.figures(idle, loaded, drain, a_load, b_load)

    async def run(self) -> int:
        figures = await self.measure()
        say("")
        say(f"machine: {machine()}")
        say("\n".join(render(figures)))
        say(result_line(figures))
        return 1 if missed(figures) else 0

    def figures(
        self,
        idle: list[float],
        loaded: list[float],
        drain: Drain,
        a_load: dict[str, int],
        b_load: dict[str, int],
    ) -> list[Figure]:
        minutes = (drain.finished - drain.started) / 60
        rate = a_load["accepted"] / minutes if minutes else 0.0
        ratio = pct(loaded, 0.95) / pct(idle, 0.95)
        throttled = a_load["throttled"] + b_load["throttled"]
        best = drain.peak_last_minute
        f = partial(Figure, "cluster")
        return [
            f("B payment latency idle p50 / p95 (s)",
              f"{statistics.median(idle):.2f} / {pct(idle, 0.95):.2f}"),
            f("B payment latency while A drains p50 / p95 (s)",
              f"{statistics.median(loaded):.2f} / {pct(loaded, 0.95):.2f}"),
            f("fairness: B p95 loaded / idle", f"{ratio:.2f}", "<= 2", ratio <= 2),
            f("B samples idle / loaded", f"{len(idle)} / {len(loaded)}"),
            f("A drain: events done (failed)", f"{drain.done} ({drain.failed})", "0 failed",
              drain.failed == 0),
            f("A drain: minutes", f"{minutes:.1f}"),
            f("A QBO requests/minute, whole drain", f"{rate:.0f}"),
            f("A QBO requests, best 60 s window", f"{best}",
              f">= {0.9 * QBO_PER_MINUTE:.0f} (90 % of 500)", best >= 0.9 * QBO_PER_MINUTE),
            f("A peak requests in flight", f"{a_load['peak_in_flight']}", "<= 10",
              a_load["peak_in_flight"] <= 10),
            f("429s answered by the sandbox (A + B)", f"{throttled}", "0", throttled == 0),
        ]  # fmt: skip


def main() -> int:
    return asyncio.run(FairnessBench(BenchConfig.from_env()).run())


if __name__ == "__main__":
    sys.exit(main())
