"""Stale runs of dead builds are repaired; a build waiting for the writer slot says who holds it
and still stops on SIGTERM. Real processes in a real instance (FinScope's dagster.yaml)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import dagster as dg
import pytest

from finscope.runs import HOST_TAG, PID_TAG, repair_stale_runs, stale_owner
from pipelines.resources import POOL

POOL_JOB = Path(__file__).with_name("pool_job.py")


def dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


@pytest.mark.parametrize("tags, stale", [
    ({PID_TAG: "DEAD", HOST_TAG: "HERE"}, True),
    ({PID_TAG: str(os.getppid()), HOST_TAG: "HERE"}, False),   # alive
    ({PID_TAG: str(os.getpid()), HOST_TAG: "HERE"}, False),    # this very process
    ({PID_TAG: "DEAD", HOST_TAG: "elsewhere"}, False),         # cannot tell: left alone
    ({}, False),                                               # the daemon's: run monitoring
])
def test_stale_owner_is_a_finscope_process_gone_from_this_host(tags, stale):
    import socket

    values = {k: v.replace("DEAD", str(dead_pid())).replace("HERE", socket.gethostname())
              for k, v in tags.items()}
    owner = stale_owner(dg.DagsterRun(job_name="refresh_prices", run_id="r1", tags=values))
    assert (owner is not None) == stale
    if stale:
        assert owner == f"finscope pid {values[PID_TAG]} on {values[HOST_TAG]}"


def start(mode: str, *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, str(POOL_JOB), mode, *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            start_new_session=True)


def read_until(process: subprocess.Popen[str], prefix: str, timeout_s: float = 30) -> list[str]:
    """The lines ``process`` printed, up to the first starting with ``prefix``."""
    assert process.stdout is not None
    lines: list[str] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if not line:
            raise AssertionError(f"exited ({process.wait()}) before {prefix!r}: {lines}")
        lines.append(line.rstrip())
        if line.startswith(prefix):
            return lines
    raise AssertionError(f"no {prefix!r} within {timeout_s}s: {lines}")


def claimed(instance: dg.DagsterInstance) -> list[str]:
    return [s.run_id for s in instance.event_log_storage.get_concurrency_info(POOL).claimed_slots]


@pytest.mark.slow
@pytest.mark.real_clock
def test_a_killed_builds_run_is_failed_and_its_slot_freed(finscope_instance):
    instance = finscope_instance
    holder = start("hold")
    run_id = read_until(holder, "holding")[-1].split()[1]
    os.kill(holder.pid, signal.SIGKILL)
    holder.wait()
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.STARTED
    assert claimed(instance) == [run_id]  # what blocked every later build for ever

    lines: list[str] = []
    assert repair_stale_runs(instance, lines.append) == [run_id]
    assert instance.get_run_by_id(run_id).status == dg.DagsterRunStatus.FAILURE
    assert claimed(instance) == []
    assert lines == [f"finscope: run {run_id} (STARTED) was left by finscope pid {holder.pid} "
                     f"on {instance.get_run_by_id(run_id).tags[HOST_TAG]}, which is gone: "
                     f"marked it failed, freed 1 {POOL} slot"]
    assert repair_stale_runs(instance, lines.append) == []  # once is enough


@pytest.mark.slow
@pytest.mark.real_clock
def test_a_waiting_build_names_the_holder_and_stops_on_sigterm(finscope_instance):
    instance = finscope_instance
    holder = start("hold")
    try:
        holder_run = read_until(holder, "holding")[-1].split()[1]
        waiter = start("wait", "0")
        waiter_run = read_until(waiter, "run ")[-1].split()[1]
        said = read_until(waiter, "finscope: write waits")[-1]
        assert f"waits for the {POOL} slot, held by run {holder_run} (step write, STARTED, " \
               f"finscope pid {holder.pid} on " in said
        assert "Ctrl-C or SIGTERM stops this build" in said
        read_until(waiter, "finscope: write waits")  # and again (here every second)

        began = time.monotonic()
        os.kill(waiter.pid, signal.SIGTERM)
        rest = read_until(waiter, "stopped by signal")
        assert waiter.wait(timeout=20) == 128 + signal.SIGTERM
        assert time.monotonic() - began < 10, rest
        assert f"finscope: SIGTERM received: stopping run {waiter_run}" in rest
        assert instance.get_run_by_id(waiter_run).status == dg.DagsterRunStatus.FAILURE
        info = instance.event_log_storage.get_concurrency_info(POOL)
        assert waiter_run not in {p.run_id for p in info.pending_steps}  # its claim is gone
        assert claimed(instance) == [holder_run]  # the live holder keeps its slot
    finally:
        os.killpg(holder.pid, signal.SIGKILL)
        holder.wait()
