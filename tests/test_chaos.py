"""The chaos run in small: ~70 events over 2 companies under QBO faults, one worker SIGKILL and
one Temporal restart, then QBO compared with the model of Skimmer (`make chaos` is the big one)."""

from __future__ import annotations

from pathlib import Path

import pytest

from devstack.chaos.runner import ChaosConfig, ChaosRun, report
from tests.conftest import ON_CLUSTER

pytestmark = pytest.mark.chaos


@pytest.mark.timeout(420)
async def test_a_short_chaos_run_ends_with_qbo_exactly_as_skimmer_books(
    tmp_path: Path, enterable_session_dir: Path
) -> None:
    config = ChaosConfig(
        events=70,
        companies=2,
        customers=3,
        seed=20261126,
        fault_rate=0.06,
        kill_every=(8.0, 8.0),
        max_kills=1,
        restart_temporal=True,
        temporal_down_for=1.0,
        pace=0.2,
        timeout=240.0,
        # On the cluster PostgreSQL's own user keeps its files there: it must enter the dir.
        data_dir=(enterable_session_dir if ON_CLUSTER else tmp_path) / "chaos",
        cluster=ON_CLUSTER,  # `make test-cluster`: on the Temporal server on PostgreSQL
    )
    lines: list[str] = []
    result = await ChaosRun(config, say=lines.append).run()
    report(result, say=lines.append)
    assert result.figures["worker_kills"] == 1 and result.figures["temporal_restarts"] == 1
    assert result.findings.summary == "lost=0 doubled=0 wrong_balance=0 failed=0", "\n".join(lines)
