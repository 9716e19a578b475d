"""`make up-cluster`: the production shape (PostgreSQL, a Temporal server on it with fairness, its
Web UI, two workers, two APIs, the QBO sandbox with QBO's limits), running until Ctrl-C."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from config import DEFAULT_DATA_DIR
from devstack.cluster import ClusterStack, cluster_ports_from_env
from devstack.up import run_until_stopped


def data_dir_from_env() -> Path:
    return Path(os.environ.get("CLUSTER_DATA_DIR") or DEFAULT_DATA_DIR / "cluster")


async def main() -> int:
    ports = cluster_ports_from_env()
    stack = ClusterStack(
        data_dir=data_dir_from_env(),
        cluster_ports=ports,
        sandbox_args=["--limits"],  # QBO's per-company limits: the shared limiter must hold them
    )
    return await run_until_stopped(stack, ports)


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
