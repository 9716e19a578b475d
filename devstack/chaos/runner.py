"""The chaos run: the stack, faulty QBO, billing events sent concurrently, a worker killed every
few seconds, Temporal restarted once; then every event followed to its end and QBO checked."""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from devstack.chaos import model as m
from devstack.chaos.checker import Findings, check_company, check_events
from devstack.chaos.generator import Generator, PlannedEvent
from devstack.cluster import ClusterPorts, ClusterStack
from devstack.seed import choose_accounts_and_sync, connect_company
from devstack.stack import Ports, Say, Stack
from services import open_store, qbo_client

FINAL = ("completed", "failed")
# Injected into ~10 % of each company's QBO calls in all; names as the summary prints them.
FAULTS: dict[str, dict[str, object]] = {
    "5xx": {"kind": "status", "status": 503},
    "429": {"kind": "throttle", "seconds": 1},
    "drop_after_commit": {"kind": "drop_after_commit", "method": "POST"},
    "expired_token": {"kind": "expire_token"},
}
FAULT_SHARE = {"5xx": 0.3, "429": 0.2, "drop_after_commit": 0.35, "expired_token": 0.15}


@dataclass
class ChaosConfig:
    events: int = 1000
    companies: int = 4
    customers: int = 8  # per company: its customers' lanes run concurrently
    seed: int = field(default_factory=lambda: random.SystemRandom().randrange(1, 10**9))
    fault_rate: float = 0.10
    kill_every: tuple[float, float] = (15.0, 20.0)  # seconds between worker SIGKILLs
    max_kills: int | None = None
    restart_temporal: bool = True
    temporal_down_for: float = 3.0
    pace: float = 0.4  # seconds between rounds of events
    timeout: float = 900.0  # for every event to finish, once all are sent
    data_dir: Path = Path(".data/chaos")
    # The production shape: a Temporal server on PostgreSQL (restarted on it), two workers (one
    # SIGKILLed at a time), two APIs taking turns at the door, the store on PostgreSQL too.
    cluster: bool = False


@dataclass
class ChaosResult:
    findings: Findings
    figures: dict[str, object]

    @property
    def ok(self) -> bool:
        return self.findings.clean


@dataclass
class Progress:
    sent: int = 0
    send_retries: int = 0
    statuses: dict[str, tuple[str, str, str | None]] = field(default_factory=dict)
    worker_kills: int = 0
    worker_restarts: int = 0  # a worker that exited by itself, started again
    temporal_restarts: int = 0
    sending_done: bool = False

    def count(self, status: str) -> int:
        return sum(1 for _, s, _ in self.statuses.values() if s == status)

    @property
    def pending(self) -> int:
        return sum(1 for _, s, _ in self.statuses.values() if s not in FINAL)


class ChaosRun:
    def __init__(self, config: ChaosConfig, say: Say = print) -> None:
        self.config = config
        self.say = say
        self.stack: Stack
        if config.cluster:
            self.stack = ClusterStack(
                data_dir=config.data_dir,
                cluster_ports=ClusterPorts.free(),
                say=lambda text: say(f"  {text}"),
                sandbox_args=["--seed", str(config.seed)],
                fresh=True,
            )
        else:
            self.stack = Stack(
                data_dir=config.data_dir,
                ports=Ports.free(),
                say=lambda text: say(f"  {text}"),
                sandbox_args=["--seed", str(config.seed)],
                fresh=True,  # every run starts from empty stores
            )
        self.progress = Progress()
        self.started = 0.0

    async def run(self) -> ChaosResult:
        config = self.config
        self.say(f"chaos: seed={config.seed} (replay with CHAOS_SEED={config.seed}), "
                 f"{config.events} events, {config.companies} companies")  # fmt: skip
        try:
            await self.stack.start()
            async with self.stack.client(timeout=30) as http:
                generator = Generator(
                    config.seed, config.companies, config.customers, config.events
                )
                await self._connect(http, generator.companies)
                generator.now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 2))
                rounds = generator.plan()
                await asyncio.sleep(2)  # invoices are "created" after the sync start
                await self._inject_faults(http, generator.companies)
                self.started = time.monotonic()
                await self._run_events(http, rounds)
                duration = time.monotonic() - self.started
                faults = await self._faults_hit(http, generator.companies)
                return await self._check(http, generator.companies, duration, faults)
        finally:
            await self.stack.stop()

    # --- set-up ----------------------------------------------------------------------------

    async def _connect(self, http: httpx.AsyncClient, companies: list[m.Company]) -> None:
        for co in companies:
            connected = await connect_company(http, self.stack.api_url, co.company_id)
            await choose_accounts_and_sync(http, self.stack.api_url, connected)
            co.realm_id = connected.realm_id

    async def _inject_faults(self, http: httpx.AsyncClient, companies: list[m.Company]) -> None:
        """Seeded per company and kind, so the same seed makes the same draws."""
        for co in companies:
            for name, spec in FAULTS.items():
                body = {**spec, "path": "*", "times": None,
                        "fraction": self.config.fault_rate * FAULT_SHARE[name],
                        "seed": f"{self.config.seed}/{co.index}/{name}"}  # fmt: skip
                reply = await http.post(self._faults_url(co), json=body)
                reply.raise_for_status()

    def _faults_url(self, co: m.Company) -> str:
        return f"{self.stack.sandbox_url}/__sandbox/realms/{co.realm_id}/faults"

    # --- the run ----------------------------------------------------------------------------

    async def _run_events(self, http: httpx.AsyncClient, rounds: list[list[PlannedEvent]]) -> None:
        total = sum(len(r) for r in rounds)
        streams: dict[str, list[str]] = {}
        for event in (e for events in rounds for e in events):
            streams.setdefault(f"{event.company_id}/{event.stream}", []).append(event.event_id)
        chaos = asyncio.create_task(self._chaos(total))
        watch = asyncio.create_task(self._watch(http, streams, total))
        try:
            for events in rounds:
                await asyncio.gather(*(self._send(http, event) for event in events))
                await asyncio.sleep(self.config.pace)
            self.progress.sending_done = True
            await watch
        finally:
            chaos.cancel()
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await chaos

    async def _send(self, http: httpx.AsyncClient, event: PlannedEvent) -> None:
        """POST as the billing backend does: the same event again until it is answered 202."""
        self.progress.statuses[event.event_id] = (event.company_id, "sending", None)
        delay = 0.25
        deadline = time.monotonic() + 300
        while True:
            try:
                # Every API process takes its share of the door (the cluster runs two).
                apis = self.stack.api_urls
                api = apis[zlib.crc32(event.event_id.encode()) % len(apis)]
                reply = await http.post(f"{api}/events", json=event.body)
                if reply.status_code == 202:
                    self.progress.sent += 1
                    self.progress.statuses[event.event_id] = (event.company_id, "accepted", None)
                    return
                answer = f"answered {reply.status_code}: {reply.text[:200]}"
                if reply.status_code < 500:
                    self.progress.statuses[event.event_id] = (event.company_id, "failed", answer)
                    return
            except httpx.TransportError as exc:
                answer = f"transport error {exc!r}"
            if time.monotonic() > deadline:
                self.progress.statuses[event.event_id] = (event.company_id, "unsent", answer)
                return
            self.progress.send_retries += 1
            await asyncio.sleep(delay)
            delay = min(delay * 2, 4.0)

    async def _chaos(self, total: int) -> None:
        """SIGKILL the worker every ~15–20 s; stop Temporal once, when half the events are sent."""
        rng = random.Random(self.config.seed)
        next_kill = time.monotonic() + rng.uniform(*self.config.kill_every)
        restarted = not self.config.restart_temporal
        while True:
            await asyncio.sleep(0.2)
            worker = self.stack.worker
            if worker is not None and worker.process.poll() is not None:
                self.say(
                    f"  worker exited by itself ({worker.process.returncode}); starting another"
                )
                self.stack.start_worker()
                self.stack.procs.remove(worker)
                self.progress.worker_restarts += 1
            kills_left = self.config.max_kills is None or (
                self.progress.worker_kills < self.config.max_kills
            )
            if kills_left and time.monotonic() >= next_kill:
                self.stack.kill_worker()
                self.progress.worker_kills += 1
                self._say_progress(total, "worker SIGKILLed, a fresh one started")
                next_kill = time.monotonic() + rng.uniform(*self.config.kill_every)
            if not restarted and self.progress.sent >= total // 2:
                restarted = True
                self._say_progress(total, "stopping the Temporal server")
                await self.stack.restart_temporal(self.config.temporal_down_for)
                self.progress.temporal_restarts += 1
                self._say_progress(total, "Temporal server is back (same data file)")

    async def _watch(
        self, http: httpx.AsyncClient, streams: dict[str, list[str]], total: int
    ) -> None:
        """Follow every accepted event to its end (GET /events/{id}), saying how it goes.

        A stream's events finish in order (one lane), so only each stream's first unfinished
        event is asked about: a few dozen requests a second, not one per pending event.
        """
        last_said = 0.0
        finished_sending_at: float | None = None

        async def follow(stream: list[str]) -> None:
            for event_id in stream:
                company_id, status, _ = self.progress.statuses.get(event_id, ("", "sending", None))
                if status in FINAL:
                    continue
                if status in ("sending", "unsent"):
                    return
                try:
                    reply = await http.get(f"{self.stack.api_url}/events/{event_id}")
                except httpx.TransportError:
                    return
                if reply.status_code == 200:
                    state = reply.json()
                    status = state["status"]
                    self.progress.statuses[event_id] = (company_id, status, state.get("message"))
                elif reply.status_code == 404:
                    self.progress.statuses[event_id] = (company_id, "unknown (404)", None)
                if status not in FINAL:
                    return

        while True:
            await asyncio.gather(*(follow(stream) for stream in streams.values()))
            now = time.monotonic()
            if now - last_said >= 5:
                self._say_progress(total)
                last_said = now
            if self.progress.sending_done:
                finished_sending_at = finished_sending_at or now
                if self.progress.pending == 0:
                    self._say_progress(total, "every event finished")
                    return
                if now - finished_sending_at > self.config.timeout:
                    self._say_progress(total, f"gave up waiting after {self.config.timeout:.0f}s")
                    return
            await asyncio.sleep(1.0)

    def _say_progress(self, total: int, note: str = "") -> None:
        p = self.progress
        elapsed = time.monotonic() - self.started
        self.say(
            f"[{elapsed:6.1f}s] sent {p.sent}/{total}  done {p.count('completed')}  "
            f"failed {p.count('failed')}  pending {p.pending}  "
            f"kills {p.worker_kills}  temporal restarts {p.temporal_restarts}"
            + (f"  — {note}" if note else "")
        )

    # --- the end ----------------------------------------------------------------------------

    async def _faults_hit(
        self, http: httpx.AsyncClient, companies: list[m.Company]
    ) -> Counter[str]:
        """How many calls each kind of fault acted on; then the faults go, for the read-back."""
        hits: Counter[str] = Counter()
        names = {spec["kind"]: name for name, spec in FAULTS.items()}
        for co in companies:
            listed = (await http.get(self._faults_url(co))).json()["faults"]
            for fault in listed:
                hits[names.get(fault["kind"], fault["kind"])] += fault["hits"]
            await http.delete(self._faults_url(co))
        return hits

    async def _qbo_calls(self, http: httpx.AsyncClient, companies: list[m.Company]) -> int:
        calls = 0
        for co in companies:
            url = f"{self.stack.sandbox_url}/__sandbox/realms/{co.realm_id}/requests"
            calls += len((await http.get(url)).json()["requests"])
        return calls

    async def _check(
        self,
        http: httpx.AsyncClient,
        companies: list[m.Company],
        duration: float,
        faults: Counter[str],
    ) -> ChaosResult:
        calls = await self._qbo_calls(http, companies)
        findings = Findings()
        check_events(findings, self.progress.statuses)
        store = open_store(self.stack.settings)
        qbo = qbo_client(self.stack.settings, store, http)
        for co in companies:
            await check_company(qbo, co, findings)
        events = len(self.progress.statuses)
        figures: dict[str, object] = {
            "events": events,
            "companies": len(companies),
            "duration": f"{duration:.1f}s",
            "throughput": f"{events / duration:.2f} events/s" if duration else "-",
            "worker_kills": self.progress.worker_kills,
            "worker_restarts": self.progress.worker_restarts,
            "temporal_restarts": self.progress.temporal_restarts,
            "send_retries": self.progress.send_retries,
            "qbo_calls": calls,
            "faults": sum(faults.values()),
            **{f"faults_{name}": faults[name] for name in FAULTS},
            "seed": self.config.seed,
        }
        return ChaosResult(findings, figures)


def report(result: ChaosResult, say: Say = print, examples: int = 20) -> None:
    say(result.findings.summary)
    say(" ".join(f"{key}={value}" for key, value in result.figures.items()))
    for discrepancy in result.findings.items[:examples]:
        say(f"  {discrepancy}")
    if len(result.findings.items) > examples:
        say(f"  ... and {len(result.findings.items) - examples} more")
