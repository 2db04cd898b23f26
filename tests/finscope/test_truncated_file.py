"""A price file that loses rows, then ``finscope build --refresh``: nothing stored is lost
without saying so; ``--replace`` is how a user asks for the shorter history."""

from __future__ import annotations

from datetime import timedelta

import duckdb
import pytest
from click.testing import CliRunner

from finscope.cli import main
from models import clock
from models.instruments import Instrument
from pipelines.sources.sample import SampleSource
from tests.pipelines.conftest import write_settings

EQUITIES = [Instrument(s, s, "equity", sector="Technology") for s in ("SPY", "AAPL", "MSFT")]


def bars(home) -> dict[str, int]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return dict(con.execute("SELECT symbol, count(*) FROM core.prices_daily"
                                " GROUP BY symbol").fetchall())


@pytest.mark.slow
def test_a_truncated_file_keeps_the_stored_bars_and_says_so(tmp_path, monkeypatch):
    home = tmp_path / "home"
    monkeypatch.setenv("FINSCOPE_HOME", str(home))
    monkeypatch.setenv("DAGSTER_HOME", str(home / "dagster"))
    start = clock.today() - timedelta(days=120)
    folder = tmp_path / "prices"
    folder.mkdir()
    batch = SampleSource(history_start=str(start)).fetch(EQUITIES, start, clock.yesterday())
    for symbol, rows in batch.prices.groupby("symbol"):
        rows.assign(date=rows["date"].dt.strftime("%Y-%m-%d")).drop(columns="market_cap").to_csv(
            folder / f"{symbol}.csv", index=False)
    extra = '\n[prices.sources]\nequity = "files"\ncrypto = "sample"\n' \
            f'\n[prices.files]\ndirectory = "{folder.name}"\n'
    monkeypatch.setenv("FINSCOPE_CONFIG", str(write_settings(tmp_path, start, extra)))
    runner = CliRunner()
    assert runner.invoke(main, ["build"]).exit_code == 0
    stored = bars(home)
    assert stored["MSFT"] > 60
    msft = folder / "MSFT.csv"
    msft.write_text("".join(msft.read_text().splitlines(keepends=True)[:51]))  # 50 data rows

    refreshed = runner.invoke(main, ["build", "--refresh"])
    assert refreshed.exit_code == 0, refreshed.output
    assert bars(home) == stored  # not one stored bar lost
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        [(message,)] = con.execute(
            "SELECT message FROM meta.ingest_log WHERE symbol = 'MSFT'"
            " AND message IS NOT NULL").fetchall()  # only the refresh had something to say
    assert message == (f"kept {stored['MSFT'] - 50} stored bar(s) this fetch did not return "
                       "(run with --replace to drop them)")

    replaced = runner.invoke(main, ["build", "--refresh", "--replace"])
    assert replaced.exit_code == 0, replaced.output
    assert bars(home) == {**stored, "MSFT": 50}  # asked for, and done
