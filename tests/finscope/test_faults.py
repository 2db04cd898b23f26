"""``kill -9`` of a real ``finscope build`` during the fetch, a write and the publish: each time
the next plain ``finscope build`` repairs the dead run and succeeds, and the app keeps serving.

The kill points are exact: the fetch blocks on a named pipe, and a test-only ``sitecustomize``
(on the killed build's ``PYTHONPATH`` only) pauses the build inside the core-prices transaction,
after the window's old rows were deleted, or inside the publish, after the tables were copied
into the partial snapshot file, and says so on stdout.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest

from models import clock
from models.instruments import Instrument
from pipelines.sources.sample import SampleSource
from tests.finscope.test_serve import free_port, get, wait_for
from tests.pipelines.conftest import write_settings
from warehouse.paths import PROJECT_ROOT
from warehouse.snapshot import current

FILES = '\n[prices.sources]\nequity = "files"\n\n[prices.files]\ndirectory = "prices"\n'
EQUITIES = ("SPY", "AAPL", "MSFT")
ASSET_LINE = re.compile(r" - (\w+)(?: \S+\.\.\S+)?: [\d,]+ rows$")
PAUSE_LINE = re.compile(r"^PAUSED (\w+)$")
PAUSE_HOOK = """
import os, sys, time
phase = os.environ.get("FINSCOPE_TEST_PAUSE")
if phase:
    from warehouse import prices, snapshot

    def pause():
        print(f"PAUSED {phase}", flush=True)
        time.sleep(120)

    if phase == "write":  # inside refresh_core_prices' transaction, the old window deleted
        sql = prices.sql
        prices.sql = lambda name: (pause() if name == "prices/adjusted_bars.sql" else None,
                                   sql(name))[1]
    if phase == "publish":  # the tables copied into the partial file, CURRENT not yet moved
        record = snapshot._record
        snapshot._record = lambda *a: (pause(), record(*a))[1]
"""


def write_price_files(folder: Path, start, end) -> None:
    """Real-format CSVs (the files source) with the sample market's bars."""
    folder.mkdir(exist_ok=True)
    instruments = [Instrument(symbol=s, name=s, asset_class="equity", currency="USD",
                              calendar="XNYS") for s in EQUITIES]
    bars = SampleSource(history_start=start.isoformat()).fetch(instruments, start, end).prices
    for symbol, frame in bars.groupby("symbol"):
        path = folder / f"{symbol}.csv"
        path.unlink(missing_ok=True)  # it may be the FIFO
        frame.assign(date=frame["date"].dt.date).to_csv(
            path, columns=["date", "open", "high", "low", "close", "volume"], index=False)


def bars(home: Path) -> list[tuple]:
    """Every (symbol, date, adj_close) of the warehouse, in order."""
    import duckdb

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute("SELECT symbol, date, adj_close FROM core.prices_daily"
                           " ORDER BY ALL").fetchall()


def build(env: dict[str, str], kill_after: str | None = None,
          delay_s: float = 0.0) -> tuple[int, list[str], int]:
    """Run ``finscope build``; with ``kill_after``, SIGKILL it ``delay_s`` after that asset's
    line, or at once when it prints ``PAUSED <kill_after>`` (the pause hook).

    Returns:
        The exit code, the lines printed and the pid.
    """
    process = subprocess.Popen([sys.executable, "-m", "finscope.cli", "build"], env=env,
                               cwd=PROJECT_ROOT, text=True, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    assert process.stdout is not None
    lines = []
    for line in process.stdout:
        lines.append(line.rstrip())
        match = ASSET_LINE.search(lines[-1]) or PAUSE_LINE.match(lines[-1])
        if kill_after and match and match.group(1) == kill_after:
            time.sleep(delay_s)
            os.kill(process.pid, signal.SIGKILL)
            break
    process.stdout.close()
    return process.wait(timeout=90), lines, process.pid


@pytest.mark.slow
@pytest.mark.real_clock
def test_a_build_killed_anywhere_is_repaired_by_the_next_build(tmp_path):
    start = clock.today() - timedelta(days=20)
    settings = write_settings(tmp_path, start, FILES)
    prices = tmp_path / "prices"
    write_price_files(prices, start, clock.yesterday())
    home = tmp_path / "home"
    env = {**os.environ, "FINSCOPE_HOME": str(home), "FINSCOPE_CONFIG": str(settings),
           "HOME": str(tmp_path / "user")}
    env.pop("DAGSTER_HOME", None)
    code, lines, _ = build(env)
    assert code == 0, "\n".join(lines)

    port = free_port()
    server = subprocess.Popen([sys.executable, "-m", "finscope.cli", "serve", "--port",
                               str(port)], env=env, cwd=PROJECT_ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        page = f"http://127.0.0.1:{port}/"
        wait_for(page, server)
        hooks = tmp_path / "hooks"
        hooks.mkdir()
        (hooks / "sitecustomize.py").write_text(PAUSE_HOOK)
        stored = bars(home)
        for phase, kill_after in (("fetch", "instruments"), ("write", "write"),
                                  ("publish", "publish")):
            if phase == "fetch":  # the fetch blocks for ever reading a pipe nobody writes
                (prices / "AAPL.csv").unlink()
                os.mkfifo(prices / "AAPL.csv")
            began = time.monotonic()
            paused = {**env, "FINSCOPE_TEST_PAUSE": phase, "PYTHONPATH": str(hooks)}
            code, killed, pid = build(paused, kill_after, delay_s=1.0 if phase == "fetch" else 0)
            assert code == -signal.SIGKILL, f"{phase}: {killed}"
            if phase == "fetch":  # the data is back
                write_price_files(prices, start, clock.yesterday())
            if phase == "publish":  # killed inside the publish: its partial file is left
                assert list((home / "snapshots").glob(".prices-*.partial")), phase
            assert get(page), phase  # the last snapshot still serves
            assert current(home / "snapshots") is not None

            code, lines, _ = build(env)
            out = "\n".join(lines)
            assert code == 0, f"{phase}: {out}"
            assert f"was left by finscope pid {pid} on " in out, f"{phase}: {out}"
            assert "finscope: built months" in out
            assert bars(home) == stored, phase  # nothing lost, nothing doubled
            assert not list((home / "snapshots").glob(".prices-*.partial")), phase
            assert time.monotonic() - began < 60, phase
        assert get(page)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=20)
    assert not any((tmp_path / "user").rglob("*"))  # nothing written outside FINSCOPE_HOME
