"""`python -m devstack.chaos [--events N] [--companies N] [--seed N] ...`: exit 0 only if QBO
ends exactly as Skimmer's books say (`lost=0 doubled=0 wrong_balance=0 failed=0`)."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from config import DEFAULT_DATA_DIR
from devstack.chaos.runner import ChaosConfig, ChaosRun, report


def parse_args(argv: Sequence[str] | None = None) -> ChaosConfig:
    env = os.environ
    parser = argparse.ArgumentParser(prog="python -m devstack.chaos", description=__doc__)
    parser.add_argument("--events", type=int, default=int(env.get("CHAOS_EVENTS") or 1000))
    parser.add_argument("--companies", type=int, default=int(env.get("CHAOS_COMPANIES") or 4))
    parser.add_argument("--customers", type=int, default=8, help="per company (default 8)")
    seed = env.get("CHAOS_SEED", "").strip()
    parser.add_argument("--seed", type=int, default=int(seed) if seed else None,
                        help="replay a run: the same events and the same fault draws")  # fmt: skip
    parser.add_argument("--fault-rate", type=float, default=0.10)
    parser.add_argument("--kill-every", type=float, nargs=2, default=(15.0, 20.0),
                        metavar=("MIN", "MAX"), help="seconds between worker SIGKILLs")  # fmt: skip
    parser.add_argument("--no-temporal-restart", action="store_true")
    parser.add_argument("--timeout", type=float, default=900.0,
                        help="seconds to wait for every event once all are sent")  # fmt: skip
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR / "chaos")
    parser.add_argument("--cluster", action="store_true", default=env.get("CHAOS_CLUSTER") == "1",
                        help="on the production shape (Temporal server on Postgres, 2 workers)")  # fmt: skip
    args = parser.parse_args(argv)
    config = ChaosConfig(
        events=args.events,
        companies=args.companies,
        customers=args.customers,
        fault_rate=args.fault_rate,
        kill_every=(args.kill_every[0], args.kill_every[1]),
        restart_temporal=not args.no_temporal_restart,
        timeout=args.timeout,
        data_dir=args.data_dir,
        cluster=args.cluster,
    )
    if args.seed is not None:
        config.seed = args.seed
    return config


async def main(argv: Sequence[str] | None = None) -> int:
    config = parse_args(argv)
    result = await ChaosRun(config, say=lambda text: print(text, flush=True)).run()
    report(result)
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
