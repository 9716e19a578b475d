"""`make bench`: the performance issue's figures in one table, with their targets.

On one dev stack (Temporal dev server, the sandbox with QBO's limits, worker, API): QBO reads and
writes per event type against the floors; payments end to end against their very same QBO calls
made directly, interleaved, at BENCH_QBO_LATENCY (150 ms); Temporal history events per payment;
one company's backlog drained at QBO's limits. With BENCH_CLUSTER=1 (or --parts …,cluster) also
the fairness bench on the cluster (≈ 17 min at 1,000 events).

`python -m bench [--check] [--parts calls,e2e,drain[,cluster]] [--payments N] [--drain-events N]`
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import time
import uuid
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from bench.e2e import E2EBench, E2EResult
from bench.fairness import BenchConfig, FairnessBench
from bench.floor import Floor, measure_floor
from bench.qbo_calls import CallsResult, measure_calls, met
from bench.shared_limits import QBO_PER_MINUTE, TARGET_SHARE, LimitsResult, drain_company
from bench.table import Figure, machine, missed, pct, render, result_line
from config import DEFAULT_DATA_DIR
from devstack.stack import Ports, Stack
from starter.temporal import connect

DEV_PARTS = ("calls", "e2e", "drain")
RATIO_TARGET = 1.3  # e2e / direct p50 at 150 ms QBO latency
DRAIN_COMPANY = "co_bench_drain"


def say(text: str) -> None:
    print(text, flush=True)


def load() -> str:
    """The 1-minute load average: other work on the machine shows in every figure here."""
    return f"{os.getloadavg()[0]:.1f}"


# --- each part's rows -------------------------------------------------------------------------


def calls_figures(measured: CallsResult) -> list[Figure]:
    return [
        Figure(
            "QBO calls",
            f"reads/writes: {scenario.name}",
            f"{tally.reads}/{tally.writes}",
            f"<= {scenario.floor[0]}/{scenario.floor[1]}",
            met(scenario, tally),
        )
        for scenario, tally in measured.results
    ]


def number(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f}"


def e2e_figures(measured: E2EResult) -> list[Figure]:
    e2e = [p.e2e for p in measured.payments]
    direct = [p.direct for p in measured.payments]
    calls = sorted({p.calls for p in measured.payments})
    mismatches = sum(p.mismatches for p in measured.payments)
    p50 = statistics.median(e2e) / statistics.median(direct)
    p95 = pct(e2e, 0.95) / pct(direct, 0.95)
    found = [p for p in measured.payments if p.child_history]
    child = statistics.mean(p.child_history for p in found) if found else None
    lane = statistics.mean(p.lane_history for p in found) if found else None
    latency = f"{measured.latency * 1000:.0f} ms"
    f = partial(Figure, "e2e vs direct")
    h = partial(Figure, "history")
    return [
        f("payments (interleaved e2e, direct)", f"{len(measured.payments)}"),
        f("QBO calls per payment, replayed directly", "/".join(map(str, calls))),
        f("e2e p50 / p95 (s): POST /events -> completed", f"{statistics.median(e2e):.3f} / "
          f"{pct(e2e, 0.95):.3f}"),
        f("direct p50 / p95 (s): the same calls, one by one", f"{statistics.median(direct):.3f} / "
          f"{pct(direct, 0.95):.3f}"),
        f(f"e2e / direct p50 at {latency} QBO latency", f"x{p50:.2f}", f"<= x{RATIO_TARGET}",
          p50 <= RATIO_TARGET),
        f("e2e / direct p95", f"x{p95:.2f}"),
        f("replayed calls answered otherwise than the service's", f"{mismatches}", "0",
          mismatches == 0),
        h("Temporal history events per payment: its workflow", number(child)),
        h("  + its share of its lane workflow", number(lane)),
        h("  = per payment",
          number(None if child is None or lane is None else child + lane)),
        h("payments whose workflow was found", f"{len(found)} of {len(measured.payments)}"),
    ]  # fmt: skip


def floor_figures(floor: Floor) -> list[Figure]:
    f = partial(Figure, "Temporal floor")
    wait = f"{floor.seconds * 1000:.0f} ms"
    return [
        f(f"bare workflow, one activity waiting {wait}: p50 (s)",
          f"{floor.one:.3f} (x{floor.one / floor.seconds:.2f})"),
        f("bare signal-with-start -> child -> that activity: p50 (s)",
          f"{floor.lane_and_child:.3f} (x{floor.lane_and_child / floor.seconds:.2f})"),
    ]  # fmt: skip


def drain_figures(measured: LimitsResult) -> list[Figure]:
    f = partial(Figure, "backfill drain")
    floor = TARGET_SHARE * QBO_PER_MINUTE
    return [
        f("payments drained (completed)", f"{measured.events} ({measured.completed})",
          "all", measured.completed == measured.events),
        f("QBO requests/minute, first call to last event done", f"{measured.per_minute:.0f}",
          f">= {floor:.0f} of {QBO_PER_MINUTE}", measured.per_minute >= floor),
        f("QBO requests in the busiest sliding minute", f"{measured.best_minute}"),
        f("429s", f"{measured.throttled}", "0", measured.throttled == 0),
        f("peak requests in flight", f"{measured.peak_in_flight}", "<= 10",
          measured.peak_in_flight <= 10),
    ]  # fmt: skip


# --- the run ----------------------------------------------------------------------------------


async def dev_parts(args: argparse.Namespace, parts: list[str]) -> tuple[list[Figure], list[str]]:
    """The dev-stack parts on one stack; their figures and the details printed below the table."""
    # A task queue of the run's own, so workers of an existing cluster never take its tasks.
    os.environ["TEMPORAL_TASK_QUEUE"] = f"bench-{uuid.uuid4().hex[:8]}"
    stack = Stack(
        data_dir=args.data_dir,
        ports=Ports.free(),
        say=lambda text: say(f"  {text}"),
        # QBO's limits for the drain; bodies in the request log for the direct replays
        sandbox_args=["--limits", "--log-bodies"],
        fresh=True,
        temporal_address=args.temporal_address,
    )
    figures: list[Figure] = []
    details: list[str] = []
    try:
        await stack.start()
        async with stack.client(timeout=60) as http:
            if "calls" in parts:
                started = time.monotonic()
                say("part 1: QBO reads and writes per event type (no QBO latency)")
                calls = await measure_calls(http, stack)
                figures += calls_figures(calls)
                details += calls.details()
                details.append(f"QBO calls part: {time.monotonic() - started:.0f} s")
            if "e2e" in parts:
                started = time.monotonic()
                say(
                    f"part 2: {args.payments} payments end to end and directly, interleaved, "
                    f"QBO latency {args.latency * 1000:.0f} ms"
                )
                bench = E2EBench(http, await connect(stack.settings), stack, args.completion)
                try:
                    e2e = await bench.measure(args.payments, args.latency)
                finally:
                    await bench.close()
                figures += e2e_figures(e2e)
                direct_p50 = statistics.median(p.direct for p in e2e.payments)
                floor = await measure_floor(await connect(stack.settings), direct_p50)
                figures += floor_figures(floor)
                details.append(
                    "e2e ends when the event's workflow closes (Temporal's long poll on its "
                    "result), then GET /events/{id} must say completed"
                    if args.completion == "temporal"
                    else "e2e ends when GET /events/{id}, polled every 20 ms, says completed"
                )
                details.append(
                    "e2e / direct per payment (s): "
                    + ", ".join(f"{p.e2e:.2f}/{p.direct:.2f}" for p in e2e.payments)
                )
                details.append(f"e2e part: {time.monotonic() - started:.0f} s")
            if "drain" in parts:
                started = time.monotonic()
                say(
                    f"part 3: {args.workers} workers drain {args.drain_events} payments "
                    "of one company at QBO's limits"
                )
                for n in range(2, args.workers + 1):
                    stack.spawn(f"worker-{n}", [sys.executable, "worker.py"])
                drained = await drain_company(
                    http, stack, DRAIN_COMPANY, args.drain_events, args.latency, timeout=900
                )
                figures += drain_figures(drained)
                details += [f"drain: {line}" for line in drained.lines]
                details.append(f"drain part: {time.monotonic() - started:.0f} s")
    finally:
        await stack.stop()
    return figures, details


async def run(args: argparse.Namespace) -> int:
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    unknown = set(parts) - {*DEV_PARTS, "cluster"}
    if unknown:
        raise SystemExit(f"unknown parts: {', '.join(sorted(unknown))}")
    started, load_at_start = time.monotonic(), load()
    say(f"bench: {', '.join(parts)} (machine: {machine()}; load average {load_at_start})")
    figures: list[Figure] = []
    details: list[str] = []
    if any(part in DEV_PARTS for part in parts):
        figures, details = await dev_parts(args, parts)
    if "cluster" in parts:
        say("part 4: fairness between companies on the cluster")
        started_cluster = time.monotonic()
        figures += await FairnessBench(BenchConfig.from_env()).measure()
        details.append(f"cluster part: {time.monotonic() - started_cluster:.0f} s")
    say("")
    say("\n".join(details))
    say("")
    say(f"machine: {machine()}; load average at the start {load_at_start}, now {load()}")
    say(f"command: {' '.join(['python -m bench', *sys.argv[1:]])}")
    say("\n".join(render(figures)))
    say(f"took {(time.monotonic() - started) / 60:.1f} min")
    say(result_line(figures))
    return 1 if args.check and missed(figures) else 0


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    env = os.environ
    default_parts = ",".join([*DEV_PARTS, *(["cluster"] if env.get("BENCH_CLUSTER") else [])])
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument(
        "--parts",
        default=env.get("BENCH_PARTS") or default_parts,
        help="which parts, of calls,e2e,drain,cluster (default: the dev-stack three; "
        "BENCH_CLUSTER=1 adds cluster)",
    )
    parser.add_argument(
        "--payments", type=int, default=int(env.get("BENCH_PAYMENTS") or 30), help="e2e part"
    )
    parser.add_argument(
        "--drain-events",
        type=int,
        default=int(env.get("BENCH_DRAIN_EVENTS") or 500),
        help="payments the drain part posts at once (each a new customer's paid invoice: 3 QBO writes)",
    )
    parser.add_argument(
        "--workers", type=int, default=int(env.get("BENCH_WORKERS") or 3), help="drain part"
    )
    parser.add_argument(
        "--latency",
        type=float,
        default=float(env.get("BENCH_QBO_LATENCY") or 0.15),
        help="QBO latency in seconds, e2e and drain parts",
    )
    parser.add_argument(
        "--completion",
        choices=("temporal", "api"),
        default="temporal",
        help="how the e2e part sees a payment complete: its workflow's result (long poll), or "
        "GET /events/{id} every 20 ms",
    )
    parser.add_argument(
        "--temporal-address", help="an existing Temporal server (default: start a dev server)"
    )
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR / "bench-dev")
    return parser.parse_args(argv)


if __name__ == "__main__":
    sys.exit(asyncio.run(run(parse_args())))
