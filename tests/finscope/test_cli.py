"""The ``finscope`` command: bad settings stop before any write; build; bench output shape."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from click.testing import CliRunner

from finscope.cli import main
from models import clock
from pipelines.settings import load_settings
from tests.pipelines.conftest import write_settings


@pytest.fixture
def env(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FINSCOPE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    return home


def test_bad_settings_stop_before_any_write(tmp_path, env, monkeypatch):
    path = write_settings(tmp_path, date(2020, 1, 2))
    path.write_text(path.read_text().replace('symbol = "MSFT"', 'symbol = "ms ft"'))
    monkeypatch.setenv("FINSCOPE_CONFIG", str(path))
    for command in (["build"], ["up"]):
        result = CliRunner().invoke(main, command)
        assert result.exit_code == 1
        assert "universe.equities[2].symbol = 'ms ft'" in result.output
    assert not env.exists()  # nothing was created, let alone written


def test_build_command_builds_and_reports(tmp_path, env, monkeypatch):
    path = write_settings(tmp_path, clock.today() - timedelta(days=10))
    monkeypatch.setenv("FINSCOPE_CONFIG", str(path))
    result = CliRunner().invoke(main, ["build"])
    assert result.exit_code == 0, result.output
    assert "finscope: built" in result.output
    assert (env / "warehouse.duckdb").exists()
    assert (env / "snapshots" / "CURRENT").exists()
    assert (env / "dagster" / "dagster.yaml").exists()
    again = CliRunner().invoke(main, ["build", "--start", "1999-01-01"])
    assert again.exit_code == 1 and "outside the history" in again.output


@pytest.mark.parametrize("name, keys", [
    ("ingest", {"rows_per_s", "ratio_vs_raw_append"}),
    ("incremental", {"warehouse_s"}),
    ("dashboard", {"p50_ms", "p95_ms"}),
])
def test_bench_ends_with_one_json_line(name, keys, env):
    result = CliRunner().invoke(main, ["bench", name, "--symbols", "12", "--years", "1"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output.strip().splitlines()[-1])
    assert figures["benchmark"] == name
    assert keys <= set(figures) and all(figures[k] > 0 for k in keys)


def test_catch_up_starts_at_the_oldest_last_bar(tmp_path, env, monkeypatch):
    from finscope.build import catch_up_start
    from warehouse.paths import DataHome

    home = DataHome(env)
    start = clock.today() - timedelta(days=10)
    settings_path = write_settings(tmp_path, start)
    assert catch_up_start(home, load_settings(settings_path)) is None  # no warehouse: all
    monkeypatch.setenv("FINSCOPE_CONFIG", str(settings_path))
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    latest_equity_session = catch_up_start(home, load_settings(settings_path))
    assert latest_equity_session is not None
    assert clock.today() - timedelta(days=6) <= latest_equity_session < clock.today()


def bars_warehouse(path: Path, last: dict[str, date], source: str = "sample",
                   refetch: date | None = None) -> None:
    """A warehouse whose ``core.prices_daily`` ends at ``last[symbol]`` for each symbol."""
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA core; CREATE TABLE core.prices_daily (symbol VARCHAR, date DATE,"
                " source VARCHAR)")
    con.execute("CREATE SCHEMA meta; CREATE TABLE meta.refetch (symbol VARCHAR, date DATE)")
    for symbol, day in last.items():
        con.execute("INSERT INTO core.prices_daily VALUES (?, ?, ?), (?, ?, ?)",
                    [symbol, day - timedelta(days=1), source, symbol, day, source])
    if refetch:
        con.execute("INSERT INTO meta.refetch VALUES ('AAPL', ?)", [refetch])
    con.close()


UNIVERSE = {"SPY": date(2026, 11, 17), "AAPL": date(2026, 11, 16), "MSFT": date(2026, 11, 17),
            "BTC-USD": date(2026, 11, 17)}


@pytest.mark.parametrize("stored, source, refetch, expected", [
    (UNIVERSE, "sample", None, date(2026, 11, 16)),
    ({**UNIVERSE, "GONE": date(2019, 1, 2)}, "sample", None, date(2026, 11, 16)),  # dropped
    ({k: v for k, v in UNIVERSE.items() if k != "MSFT"}, "sample", None, None),  # new symbol
    (UNIVERSE, "yahoo", None, None),  # stored by another source: refetch all from the start
    (UNIVERSE, "sample", date(2025, 3, 4), date(2025, 3, 4)),  # a bar a check asked again
])
def test_catch_up_counts_only_the_universe_from_its_sources(tmp_path, stored, source, refetch,
                                                            expected):
    from finscope.build import catch_up_start
    from warehouse.paths import DataHome

    home = DataHome(tmp_path / "home").ensure()
    bars_warehouse(home.warehouse, stored, source, refetch)
    settings = load_settings(write_settings(tmp_path, date(2026, 1, 2)))
    assert catch_up_start(home, settings) == expected


HOLD_LOCK = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


@pytest.mark.real_clock
def test_catch_up_waits_for_a_step_holding_the_warehouse(tmp_path):
    from finscope.build import WarehouseLocked, catch_up_start
    from warehouse.paths import DataHome

    home = DataHome(tmp_path / "home").ensure()
    bars_warehouse(home.warehouse, UNIVERSE)
    settings = load_settings(write_settings(tmp_path, date(2026, 1, 2)))
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(home.warehouse), "3"],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout is not None and holder.stdout.readline() == "locked\n"
        said: list[str] = []
        # Locked for longer than we may wait: said plainly, never a rebuild of everything.
        with pytest.raises(WarehouseLocked, match=r"still locked by another process after 0\.5s"):
            catch_up_start(home, settings, lock_wait_s=0.5, echo=said.append)
        assert catch_up_start(home, settings, lock_wait_s=30, echo=said.append) == \
            date(2026, 11, 16)
        assert said[-1].startswith("finscope: the warehouse is locked by another process")
        assert holder.wait(timeout=10) == 0  # it let go while we waited
    finally:
        holder.kill()
        holder.wait()


@pytest.mark.parametrize("metadata, line", [
    ({"violations": 3, "found": dg.MetadataValue.json([
        {"symbol": "AAPL", "date": "2026-11-03", "high": 1.0},
        {"symbol": "AAPL", "date": "2026-11-04"}, {"symbol": "MSFT", "date": "2026-11-04"}])},
     "check prices_daily:ohlc_consistent failed: 3 inconsistent OHLC bars: AAPL 2026-11-03, "
     "AAPL 2026-11-04, MSFT 2026-11-04"),
    ({"violations": 40, "found": dg.MetadataValue.json([{"symbol": "AAPL", "date": "2026-11-03"}])},
     "check prices_daily:ohlc_consistent failed: 3 inconsistent OHLC bars: AAPL 2026-11-03, "
     "... (40 in all)"),
    ({"violations": 3}, "check prices_daily:ohlc_consistent failed: 3 inconsistent OHLC bars"),
])
def test_a_failed_check_names_what_it_found(metadata, line):
    from finscope.build import _check_failure

    evaluation = dg.AssetCheckEvaluation(
        asset_key=dg.AssetKey("prices_daily"), check_name="ohlc_consistent", passed=False,
        metadata=metadata, description="3 inconsistent OHLC bars")
    failure = _check_failure(evaluation, "low <= open, close <= high")
    assert failure.line() == line
    assert failure.checks == "low <= open, close <= high"
