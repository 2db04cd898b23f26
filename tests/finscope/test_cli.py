"""The ``finscope`` command: bad settings stop before any write; build; bench output shape."""

from __future__ import annotations

import json
from datetime import date, timedelta

import pytest
from click.testing import CliRunner

from finscope.cli import main
from models import clock
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
    assert catch_up_start(home) is None  # no warehouse: build everything
    start = clock.today() - timedelta(days=10)
    monkeypatch.setenv("FINSCOPE_CONFIG", str(write_settings(tmp_path, start)))
    assert CliRunner().invoke(main, ["build"]).exit_code == 0
    latest_equity_session = catch_up_start(home)
    assert latest_equity_session is not None
    assert clock.today() - timedelta(days=6) <= latest_equity_session < clock.today()
