"""Stacks never share state by accident: a stack holds its data directory locked while it (or any
process it started) runs; a second one is refused, naming the directory and who holds it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from config import REPO_ROOT
from devstack.stack import DataDirBusy, Ports, Stack, port_is_free


def a_stack(data_dir: Path, fresh: bool = False) -> Stack:
    return Stack(data_dir=data_dir, ports=Ports.free(), say=lambda _: None, fresh=fresh)


def gone(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    return False


def wait_gone(pid: int, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not gone(pid):
        assert time.monotonic() < deadline, f"pid {pid} still running"
        time.sleep(0.05)


@pytest.fixture
def holder(tmp_path: Path) -> Iterator[tuple[subprocess.Popen[bytes], int, Path]]:
    """A running stand-in for `make up` on its data directory, and the pid of its child."""
    data_dir = tmp_path / "stack"
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.stack_lock_holder", str(data_dir)],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
    )
    assert process.stdout is not None
    ready = process.stdout.readline().decode().split()
    assert ready[:1] == ["ready"], ready
    child = int(ready[1])
    try:
        yield process, child, data_dir
    finally:
        for pid in (process.pid, child):
            if not gone(pid):
                os.kill(pid, signal.SIGKILL)
        process.wait(timeout=10)
        wait_gone(child)


async def test_a_second_stack_on_a_data_directory_in_use_is_refused_before_starting_anything(
    holder: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, child, data_dir = holder
    second = a_stack(data_dir, fresh=True)
    with pytest.raises(DataDirBusy) as refused:
        await second.start()
    message = str(refused.value)
    assert f"another stack uses {data_dir}" in message
    assert f"held by pid {process.pid} (" in message and f"{child} (temporal)" in message
    assert second.procs == [] and not (data_dir / "logs" / "qbo-sandbox.log").exists()
    assert (data_dir / "temporal.db").read_text() == "in use"  # `fresh` cleared nothing
    await second.stop()


async def test_the_lock_outlives_a_killed_stack_while_its_servers_run_then_frees(
    holder: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, child, data_dir = holder
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=10)
    # Its Temporal server (here: its child) still writes the files: still refused, and said so.
    with pytest.raises(DataDirBusy) as refused:
        a_stack(data_dir).lock()
    assert "gone, but processes it started are still running" in str(refused.value)
    assert f"{child} (temporal)" in str(refused.value)

    os.kill(child, signal.SIGKILL)
    wait_gone(child)
    after = a_stack(data_dir, fresh=True)
    after.lock()  # free, with nothing left to stop
    assert [p.name for p in data_dir.iterdir()] == ["stack.lock"]  # fresh: cleared once locked
    await after.stop()


async def test_the_lock_is_free_again_once_a_stack_stops(tmp_path: Path) -> None:
    first = a_stack(tmp_path / "stack")
    first.lock()
    with pytest.raises(DataDirBusy) as refused:
        a_stack(tmp_path / "stack").lock()
    assert f"held by pid {os.getpid()}" in str(refused.value)
    a_stack(tmp_path / "another").lock()  # another directory is no obstacle

    await first.stop()
    second = a_stack(tmp_path / "stack")
    second.lock()
    await second.stop()


def test_make_up_refuses_a_data_directory_in_use_naming_it_and_the_holder(
    holder: tuple[subprocess.Popen[bytes], int, Path],
) -> None:
    process, _, data_dir = holder
    ports = Ports.free()
    env = {
        **os.environ,
        "STACK_DATA_DIR": str(data_dir),
        "TEMPORAL_PORT": str(ports.temporal),
        "TEMPORAL_UI_PORT": str(ports.temporal_ui),
        "QBO_SANDBOX_PORT": str(ports.sandbox),
        "API_PORT": str(ports.api),
    }
    up = subprocess.run(
        [sys.executable, "-m", "devstack.up"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert up.returncode == 1, up.stdout.decode() + up.stderr.decode()
    said = up.stderr.decode()
    assert f"another stack uses {data_dir}" in said and f"held by pid {process.pid}" in said
    assert all(port_is_free(port) for port in ports.__dict__.values())
