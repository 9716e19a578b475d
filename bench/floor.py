"""Temporal's own floor on this machine, next to the e2e figures: bare workflows whose one activity
only waits as long as the direct QBO calls took, on the same Temporal server, so the e2e ratio can
be read against what no workflow design on this server goes under.

- one activity: the client starts a workflow that runs one activity;
- lane and child: a signal-with-start of a parent that starts a child running one activity (the
  shape every event has: its record's lane, then its own workflow), timed to the child's close.
"""

from __future__ import annotations

import asyncio
import statistics
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import UnsandboxedWorkflowRunner, Worker

TIMEOUT = timedelta(seconds=30)
LOOK_AGAIN = 0.005  # as bench/e2e.py


@activity.defn(name="bench_floor_wait")
async def wait(seconds: float) -> None:
    await asyncio.sleep(seconds)


@workflow.defn(name="BenchFloorOne")
class One:
    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.execute_activity(wait, seconds, start_to_close_timeout=TIMEOUT)


@workflow.defn(name="BenchFloorLane")
class Lane:
    def __init__(self) -> None:
        self._children: list[str] = []

    @workflow.signal
    def run_child(self, child_id: str) -> None:
        self._children.append(child_id)

    @workflow.run
    async def run(self, seconds: float) -> None:
        await workflow.wait_condition(lambda: bool(self._children))
        await workflow.execute_child_workflow(One.run, seconds, id=self._children.pop(0))


async def child_closed(client: Client, child_id: str) -> None:
    """Wait for the child's result, looking for it every 20 ms until it exists (as the e2e part
    looks for an event's workflow)."""
    while True:
        try:
            await client.get_workflow_handle(child_id).result()
            return
        except RPCError as err:
            if err.status != RPCStatusCode.NOT_FOUND:
                raise
            await asyncio.sleep(LOOK_AGAIN)


@dataclass(frozen=True)
class Floor:
    seconds: float  # what the activity waits: the direct calls' p50
    one: float  # p50 of a workflow with one activity
    lane_and_child: float  # p50 of signal-with-start → child → activity, to the child's close


async def measure_floor(client: Client, seconds: float, runs: int = 15) -> Floor:
    queue = f"bench-floor-{uuid.uuid4().hex[:8]}"
    one: list[float] = []
    lane: list[float] = []
    async with Worker(
        client,
        task_queue=queue,
        workflows=[One, Lane],
        activities=[wait],
        workflow_runner=UnsandboxedWorkflowRunner(),
        disable_eager_activity_execution=True,  # as the service's workers
    ):
        for n in range(runs + 2):  # two warm-up rounds
            started = time.monotonic()
            await client.execute_workflow(One.run, seconds, id=f"{queue}/one/{n}", task_queue=queue)
            took_one = time.monotonic() - started
            child_id = f"{queue}/child/{n}"
            started = time.monotonic()
            await client.start_workflow(
                Lane.run,
                seconds,
                id=f"{queue}/lane/{n}",
                task_queue=queue,
                start_signal="run_child",
                start_signal_args=[child_id],
            )
            await child_closed(client, child_id)
            took_lane = time.monotonic() - started
            if n >= 2:
                one.append(took_one)
                lane.append(took_lane)
    return Floor(seconds, statistics.median(one), statistics.median(lane))
