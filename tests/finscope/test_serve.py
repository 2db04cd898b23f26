"""`finscope serve` under gunicorn, a snapshot swap while it serves, and the up supervisor."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest

from finscope.build import build
from finscope.processes import Supervisor
from models import clock
from pipelines.settings import load_settings
from tests.pipelines.conftest import write_settings
from warehouse.paths import DataHome
from warehouse.registry import domain
from warehouse.snapshot import publish

BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(url: str) -> str:
    with urllib.request.urlopen(url, timeout=10) as response:  # only 127.0.0.1 (local server)
        return response.read().decode()


def wait_for(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            get(url)
            return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"{url} never answered")


@pytest.mark.slow
def test_serve_picks_up_a_new_snapshot_without_a_restart(tmp_path):
    home = DataHome(tmp_path / "home").ensure()
    settings = load_settings(write_settings(tmp_path, clock.today() - timedelta(days=8)))
    with dg.instance_for_test() as instance:
        first = build(settings, home, instance=instance)
    assert first.success
    port = free_port()
    user_home = tmp_path / "user"
    env = {**os.environ, "FINSCOPE_HOME": str(home.root), "HOME": str(user_home)}
    server = subprocess.Popen([str(BIN / "finscope"), "serve", "--port", str(port)], env=env,
                              start_new_session=True, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for(base + "/", server)
        before = get(base + "/_dash-layout")
        con = duckdb.connect(str(home.warehouse))
        second = publish(con, home.snapshots, domain("prices"), run_id="second-run",
                         now=clock.now())
        con.close()
        assert second.version not in before
        for _ in range(4):  # every worker serves the new snapshot on its next request
            assert second.version in get(base + "/_dash-layout")
    finally:
        os.killpg(server.pid, signal.SIGTERM)  # serve execs gunicorn: master and workers
        try:
            assert server.wait(timeout=20) == 0  # a graceful gunicorn shutdown
        finally:
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGKILL)
    assert not any(user_home.rglob("*"))  # no control socket or cache outside FINSCOPE_HOME


READY = "print('ready', flush=True); time.sleep(60)"
STUBBORN = ("signal.signal(signal.SIGINT, signal.SIG_IGN);"
            " signal.signal(signal.SIGTERM, signal.SIG_IGN); ")


@pytest.mark.parametrize("script, code", [
    ("", -signal.SIGINT),          # stops at the first, Ctrl-C-like signal
    (STUBBORN, -signal.SIGKILL),   # ignores SIGINT/SIGTERM: killed
])
def test_supervisor_stops_each_child_group(tmp_path, script, code):
    home = DataHome(tmp_path / "home").ensure()
    with Supervisor(home) as supervisor:
        supervisor._start("child", [sys.executable, "-c", f"import signal, time; {script}{READY}"])
        log = home.logs / "child.log"
        deadline = time.monotonic() + 20
        while "ready" not in log.read_text():  # its signal dispositions are in place
            assert time.monotonic() < deadline and supervisor.children["child"].poll() is None
            time.sleep(0.05)
        supervisor.stop(grace_s=2.0)
    assert supervisor.children["child"].returncode == code


def test_dagster_runs_as_webserver_and_daemon():
    from finscope.processes import dagster_commands

    commands = dagster_commands("127.0.0.1", 3001)
    assert [Path(c[0]).name for c in commands.values()] == ["dagster-webserver", "dagster-daemon"]
    assert commands["dagster-webserver"][1:] == ["-m", "pipelines.definitions", "-h",
                                                 "127.0.0.1", "-p", "3001"]
    assert commands["dagster-daemon"][1:] == ["run", "-m", "pipelines.definitions"]
