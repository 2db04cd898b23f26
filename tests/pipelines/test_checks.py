"""Each price check, called directly, passing on clean data and failing on the fault it targets."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pytest

from models import clock
from models.calendars import sessions
from pipelines.prices.checks import (
    dividends_below_close,
    no_calendar_gaps,
    no_implausible_jumps,
    not_stale,
    ohlc_consistent,
)
from pipelines.resources import WarehouseResource
from pipelines.serving.assets import unique_keys_check
from warehouse.prices import SERVING

PRICES_TABLE = SERVING.table("core.prices_daily")


@pytest.fixture
def warehouse(tmp_path) -> WarehouseResource:
    """Two clean symbols: an equity on XNYS sessions and a coin on every day, to yesterday."""
    resource = WarehouseResource(path=str(tmp_path / "wh.duckdb"))
    end = clock.today() - timedelta(days=1)
    start = end - timedelta(days=30)
    with resource.connect() as con:
        con.execute(
            "INSERT INTO core.instruments VALUES ('EQ', 'Equity', 'equity', 'USD', 'XNYS', NULL,"
            " NULL, NULL, false, 'test', now()), ('CO', 'Coin', 'crypto', 'USD', '24/7', NULL,"
            " NULL, NULL, false, 'test', now())"
        )
        for symbol, days in (("EQ", sessions("XNYS", start, end)),
                             ("CO", sessions("24/7", start, end))):
            for i, day in enumerate(days):
                close = 100.0 + i
                con.execute(
                    "INSERT INTO core.prices_daily VALUES (?, ?, ?, ?, ?, ?, ?, 1000, NULL,"
                    " 'test', now(), 'r')",
                    [symbol, day.date(), close, close + 1, close - 1, close, close],
                )
    return resource


def run(warehouse: WarehouseResource, sql: str, params=None) -> None:
    with warehouse.connect() as con:
        con.execute(sql, params)


def context() -> dg.AssetCheckExecutionContext:
    return dg.build_asset_check_context()


def refetch(warehouse: WarehouseResource) -> list[tuple]:
    with warehouse.connect() as con:
        return con.execute("SELECT symbol, date::VARCHAR, reason FROM meta.refetch"
                           " ORDER BY ALL").fetchall()


def test_clean_data_passes_every_check(warehouse):
    for check in (ohlc_consistent, no_implausible_jumps, dividends_below_close):
        result = check(context(), warehouse=warehouse)
        assert result.passed, (check, result.description)
    for check in (no_calendar_gaps, not_stale, unique_keys_check(PRICES_TABLE)):
        result = check(warehouse=warehouse)
        assert result.passed, (check, result.description)
    assert refetch(warehouse) == []


def test_duplicate_key_fails_with_error_severity(warehouse):
    run(warehouse, "INSERT INTO core.prices_daily SELECT * FROM core.prices_daily LIMIT 1")
    result = unique_keys_check(PRICES_TABLE)(warehouse=warehouse)
    assert not result.passed
    assert result.severity == dg.AssetCheckSeverity.ERROR
    assert result.metadata["violations"].value == 1


@pytest.mark.parametrize("column, value", [("high", 50.0), ("low", 500.0), ("close", -1.0)])
def test_inconsistent_ohlc_fails(warehouse, column, value):
    run(warehouse, f"UPDATE core.prices_daily SET {column} = ? WHERE symbol = 'EQ'"
        " AND date = (SELECT max(date) FROM core.prices_daily WHERE symbol = 'EQ')", [value])
    result = ohlc_consistent(context(), warehouse=warehouse)
    assert not result.passed and result.metadata["violations"].value == 1
    assert "EQ" in result.metadata["sample"].value
    [found] = result.metadata["found"].value
    assert found["symbol"] == "EQ" and found[column] == value
    # The next fetch is asked to get that bar again: fixing the source is enough.
    assert refetch(warehouse) == [("EQ", found["date"], "ohlc_consistent")]


def test_hundredfold_unit_error_fails(warehouse):
    run(warehouse, "UPDATE core.prices_daily SET adj_close = adj_close * 100"
                   " WHERE symbol = 'CO' AND date = (SELECT max(date) FROM core.prices_daily)")
    result = no_implausible_jumps(context(), warehouse=warehouse)
    assert not result.passed and result.metadata["violations"].value == 1
    [found] = result.metadata["found"].value
    assert found["symbol"] == "CO" and 99 < found["ratio"] < 102  # 100x on a +1% day
    assert [r[0] for r in refetch(warehouse)] == ["CO"]


def test_dividend_at_or_above_the_previous_close_fails(warehouse):
    with warehouse.connect() as con:
        last, close = con.execute("SELECT max(date), arg_max(close, date) FROM"
                                  " core.prices_daily WHERE symbol = 'EQ'").fetchone()
        con.execute("INSERT INTO core.corporate_actions VALUES ('EQ', ?::DATE + 1, 'dividend',"
                    " ?, 'test', now(), 'r'), ('CO', ?::DATE, 'dividend', 0.5, 'test', now(),"
                    " 'r')", [last, close, last])
    result = dividends_below_close(context(), warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.ERROR
    [found] = result.metadata["found"].value
    assert (found["symbol"], found["dividend"], found["previous_close"]) == ("EQ", close, close)


def test_missing_session_is_a_gap(warehouse):
    run(warehouse, "DELETE FROM core.prices_daily WHERE symbol = 'EQ' AND date = ("
                   "SELECT date FROM core.prices_daily WHERE symbol = 'EQ' ORDER BY date"
                   " LIMIT 1 OFFSET 5)")
    result = no_calendar_gaps(warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["violations"].value == 1
    assert "EQ" in result.metadata["sample"].value


def test_symbol_that_stopped_updating_is_stale(warehouse):
    run(warehouse, "DELETE FROM core.prices_daily WHERE symbol = 'CO'"
                   f" AND date > DATE '{clock.today()}' - INTERVAL 10 DAY")
    result = not_stale(warehouse=warehouse)
    assert not result.passed and result.severity == dg.AssetCheckSeverity.WARN
    assert result.metadata["violations"].value == 1
