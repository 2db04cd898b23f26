"""Which process executes a Dagster run, as run tags, so a later build can tell a dead run.

A run killed with ``kill -9`` stays STARTED and keeps its ``warehouse_writer`` slot; nothing in
Dagster releases them when the default run launcher cannot check its worker. Every run that
touches the warehouse therefore names its process: pid, host, and the process's start (boot id
and start time), so that a pid reused by another process later is not taken for the run's.
``finscope.runs`` reads these tags to repair the runs of processes that are gone.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path

import dagster as dg

PID_TAG, HOST_TAG, STARTED_TAG = "finscope/pid", "finscope/host", "finscope/process_start"


def process_start(pid: int) -> str | None:
    """``<boot id>:<start time in clock ticks>`` of process ``pid``, or None if unreadable."""
    try:
        boot = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return f"{boot}:{fields[19]}"  # field 22 of stat; 20th after the command name
    except (OSError, IndexError):
        return None


def owner_tags() -> dict[str, str]:
    """This process's pid, host and start, as run tags."""
    pid = os.getpid()
    tags = {PID_TAG: str(pid), HOST_TAG: socket.gethostname()}
    started = process_start(pid)
    return {**tags, STARTED_TAG: started} if started else tags


def process_gone(pid: int, started: str | None = None) -> bool:
    """True when process ``pid`` no longer runs here: absent, a zombie, or another process
    that reused the pid (its start differs from ``started``)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    if state == "Z":
        return True
    return started is not None and process_start(pid) not in (None, started)


def tag_run(context: dg.InitResourceContext) -> None:
    """Tag the run being executed with this process, unless it already names one."""
    run, instance = context.run, context.instance
    if run is None or instance is None or PID_TAG in run.tags:
        return
    instance.add_run_tags(run.run_id, owner_tags())
