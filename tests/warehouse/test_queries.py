"""The app's read queries on a tiny hand-made warehouse whose answers are worked out by hand."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, date, datetime

import duckdb
import pandas as pd
import pytest

from warehouse import queries
from warehouse.migrate import migrate
from warehouse.prices import (
    refresh_core_actions,
    refresh_core_prices,
    refresh_returns,
    replace_raw,
)

EQUITY_AT = datetime(2024, 1, 6, 1, 0, tzinfo=UTC)
CRYPTO_AT = datetime(2024, 1, 8, 2, 30, tzinfo=UTC)
CLOSES = {  # 2024-01-02 .. 2024-01-05; C stops a day early; D never moves
    "A": [10.0, 11.0, 12.0, 12.6],      # last return +5%
    "B": [20.0, 19.0, 19.5, 18.525],    # last return -5%
    "C": [5.0, 5.0, 5.5],               # last return +10%, on 2024-01-04
    "D": [8.0, 8.0, 8.0, 8.0],          # last return 0: neither gainer nor loser
    "E": [40.0, 40.4, 40.0, 39.6],      # etf, last return -1%
}
X_CLOSES = {"2024-01-06": 100.0, "2024-01-07": 97.0}  # crypto, a weekend, ingested later


def bars(symbol: str, closes: dict[str, float]) -> pd.DataFrame:
    return pd.DataFrame({
        "symbol": symbol, "date": pd.to_datetime(list(closes)), "open": list(closes.values()),
        "high": list(closes.values()), "low": list(closes.values()),
        "close": list(closes.values()), "volume": 1000.0, "market_cap": float("nan"),
    })


def load(con, prices, actions, start, end, at, source):
    symbols = sorted(set(prices["symbol"]))
    replace_raw(con, prices, actions, symbols=symbols, start=start, end=end, source=source,
                fetched_at=at, run_id="r1")
    refresh_core_actions(con, start=start, end=end)
    refresh_core_prices(con, start=start, end=end)
    refresh_returns(con, start=start, end=end)


@pytest.fixture(scope="module")
def cur() -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    migrate(con)
    days = ["2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    equities = pd.concat([bars(s, dict(zip(days, c, strict=False))) for s, c in CLOSES.items()])
    actions = pd.DataFrame({"symbol": ["A"], "date": [pd.Timestamp("2024-01-04")],
                            "action": ["split"], "value": [2.0]})
    # A splits 2:1 on the 4th: it traded at 20.0 and 22.0 before, 10.0 and 11.0 adjusted.
    equities.loc[(equities["symbol"] == "A") & (equities["date"] < "2024-01-04"),
                 ["open", "high", "low", "close"]] *= 2
    load(con, equities, actions, date(2024, 1, 2), date(2024, 1, 5), EQUITY_AT, "sample")
    load(con, bars("X", X_CLOSES), actions.iloc[0:0], date(2024, 1, 6), date(2024, 1, 7),
         CRYPTO_AT, "coingecko")
    instruments = pd.DataFrame({
        "symbol": ["A", "B", "C", "D", "E", "X"],
        "name": ["Alpha", "Beta", "Gamma", "Delta", "Index Fund", "Coin"],
        "asset_class": ["equity"] * 4 + ["etf", "crypto"], "currency": "USD",
        "calendar": ["XNYS"] * 5 + ["24/7"], "sector": None, "yahoo_id": None,
        "coingecko_id": None, "is_benchmark": [False] * 4 + [True, False],
        "source": ["sample"] * 5 + ["coingecko"], "updated_at": EQUITY_AT,
    })
    con.register("new_instruments", instruments)
    con.execute("INSERT INTO core.instruments SELECT * FROM new_instruments")
    return con


def test_instruments_are_ordered_by_class_then_symbol(cur):
    got = queries.instruments(cur)
    assert got["symbol"].tolist() == ["X", "A", "B", "C", "D", "E"]
    assert got.loc[got["symbol"] == "X", "calendar"].item() == "24/7"
    assert got.loc[got["is_benchmark"], "symbol"].tolist() == ["E"]


def test_movers_rank_each_symbols_latest_return_within_its_class(cur):
    got = queries.movers(cur, 2)
    rows = [(r.asset_class, r.side, r.rank, r.symbol, f"{r.date:%m-%d}", round(r.ret, 6))
            for r in got.itertuples()]
    assert rows == [
        ("crypto", "loser", 1, "X", "01-07", -0.03),
        ("equity", "gainer", 1, "C", "01-04", 0.1),     # stale, but its own latest day
        ("equity", "gainer", 2, "A", "01-05", 0.05),    # the split is not a move
        ("equity", "loser", 1, "B", "01-05", -0.05),
        ("etf", "loser", 1, "E", "01-05", -0.01),
    ]
    assert queries.movers(cur, 1).query("side == 'gainer'")["symbol"].tolist() == ["C"]
    with pytest.raises(ValueError, match="positive"):
        queries.movers(cur, 0)


def test_as_of_reports_latest_bar_and_ingest_per_source_and_class(cur):
    got = queries.as_of(cur)
    assert [(r.source, r.asset_class, f"{r.latest_date:%Y-%m-%d}", r.symbols, r.bars)
            for r in got.itertuples()] == [
        ("coingecko", "crypto", "2024-01-07", 1, 2),
        ("sample", "equity", "2024-01-05", 4, 15),
        ("sample", "etf", "2024-01-05", 1, 4),
    ]
    assert got["latest_fetched_at"].tolist() == [pd.Timestamp(CRYPTO_AT),
                                                  pd.Timestamp(EQUITY_AT), pd.Timestamp(EQUITY_AT)]
    assert str(got["latest_fetched_at"].dt.tz) == "UTC"


def test_price_history_filters_symbols_and_inclusive_dates(cur):
    got = queries.price_history(cur, ["A", "NOPE"], date(2024, 1, 3), date(2024, 1, 4))
    assert tuple(got.columns) == queries.PRICE_HISTORY_COLUMNS
    assert got["symbol"].tolist() == ["A", "A"]
    assert [f"{d:%Y-%m-%d}" for d in got["date"]] == ["2024-01-03", "2024-01-04"]
    assert got["close"].tolist() == [22.0, 12.0]  # as traded
    assert got["adj_close"].tolist() == pytest.approx([11.0, 12.0])  # split-adjusted
    assert (got["fetched_at"] == pd.Timestamp(EQUITY_AT)).all()


def test_user_values_are_bound_parameters_not_sql(cur):
    hostile = ["A' OR '1'='1", "A'); DROP TABLE core.prices_daily; --"]
    assert queries.price_history(cur, hostile, date(2000, 1, 1), date(2100, 1, 1)).empty
    assert queries.returns(cur, hostile, date(2000, 1, 1), date(2100, 1, 1)).empty
    assert queries.summary(cur).bars == 21


def test_returns_start_with_nan_and_match_adjusted_closes(cur):
    got = queries.returns(cur, ["A", "X"], date(2024, 1, 1), date(2024, 1, 31))
    a = got[got["symbol"] == "A"]
    assert pd.isna(a["ret"].iloc[0])
    assert a["ret"].iloc[1:].tolist() == pytest.approx([0.1, 12 / 11 - 1, 0.05])
    assert got.loc[got["symbol"] == "X", "ret"].iloc[1] == pytest.approx(-0.03)


def test_date_bounds_overall_per_symbol_and_unknown(cur):
    assert queries.date_bounds(cur) == queries.DateBounds(date(2024, 1, 2), date(2024, 1, 7), 6)
    assert queries.date_bounds(cur, ["C"]) == queries.DateBounds(
        date(2024, 1, 2), date(2024, 1, 4), 1)
    assert queries.date_bounds(cur, ["NOPE"]) == queries.DateBounds(None, None, 0)


def test_summary_and_corporate_actions(cur):
    assert queries.summary(cur) == queries.Summary(
        instruments=6, bars=21, symbols=6, first_date=date(2024, 1, 2), last_date=date(2024, 1, 7))
    acts = queries.corporate_actions(cur, ["A", "B"], date(2024, 1, 1), date(2024, 1, 31))
    assert acts[["symbol", "action", "value"]].values.tolist() == [["A", "split", 2.0]]


def test_queries_module_imports_neither_dash_nor_dagster():
    code = ("import sys, warehouse.queries; "
            "print(sorted(m for m in ('dash', 'dagster') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
