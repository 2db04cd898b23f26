"""Data-quality queries behind the asset checks. Each returns the violations it finds."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from warehouse.db import count as count_rows

KEYED_TABLES = {
    "core.prices_daily": "symbol, date",
    "marts.returns_daily": "symbol, date",
    "core.corporate_actions": "symbol, ex_date, action",
}
SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Violations:
    """How many rows break a rule, and the first few of them."""

    count: int
    sample: pd.DataFrame

    @property
    def passed(self) -> bool:
        return self.count == 0


def _violations(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> Violations:
    con.execute("CREATE OR REPLACE TEMP TABLE violations AS " + query, params)
    count = count_rows(con, "SELECT count(*) FROM violations")
    sample = con.execute("SELECT * FROM violations LIMIT ?", [SAMPLE_ROWS]).df()
    con.execute("DROP TABLE violations")
    return Violations(count, sample)


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str) -> Violations:
    """Keys of ``table`` (one of ``KEYED_TABLES``) that appear more than once."""
    key = KEYED_TABLES[table]  # KeyError for anything but the fixed list
    return _violations(
        con,
        f"SELECT {key}, count(*) AS copies FROM {table}"  # noqa: S608 - fixed table list
        f" GROUP BY ALL HAVING copies > 1 ORDER BY {key}",
    )


def ohlc_violations(con: duckdb.DuckDBPyConnection) -> Violations:
    """Bars where low <= open, close <= high fails, a price is not positive or volume < 0."""
    return _violations(
        con,
        "SELECT symbol, date, open, high, low, close, volume FROM core.prices_daily"
        " WHERE high < low OR open < low OR open > high OR close < low OR close > high"
        " OR close <= 0 OR low <= 0 OR volume < 0 ORDER BY symbol, date",
    )


def implausible_jumps(con: duckdb.DuckDBPyConnection, max_ratio: float = 10.0) -> Violations:
    """Day-over-day adjusted-close moves beyond ``max_ratio`` either way (a 100x unit slip)."""
    return _violations(
        con,
        "SELECT symbol, date, prev_adj_close, adj_close, adj_close / prev_adj_close AS ratio"
        " FROM (SELECT symbol, date, adj_close,"
        "   lag(adj_close) OVER (PARTITION BY symbol ORDER BY date) AS prev_adj_close"
        "   FROM core.prices_daily)"
        " WHERE abs(ln(adj_close / prev_adj_close)) > ln($max_ratio) ORDER BY symbol, date",
        {"max_ratio": max_ratio},
    )


def last_dates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Per symbol: its calendar, first and last bar date (symbols of core.instruments)."""
    return con.execute(
        "SELECT p.symbol, i.calendar, min(p.date) AS first_date, max(p.date) AS last_date"
        " FROM core.prices_daily p JOIN core.instruments i USING (symbol)"
        " GROUP BY ALL ORDER BY p.symbol"
    ).df()


def calendar_gaps(con: duckdb.DuckDBPyConnection, expected: pd.DataFrame) -> Violations:
    """Sessions missing between each symbol's first and last bar.

    Args:
        expected: (calendar, date) of every session of each calendar over the stored span.
    """
    con.register("expected_sessions", expected)
    try:
        return _violations(
            con,
            "WITH spans AS (SELECT p.symbol, i.calendar, min(p.date) lo, max(p.date) hi"
            "   FROM core.prices_daily p JOIN core.instruments i USING (symbol) GROUP BY ALL)"
            " SELECT s.symbol, e.date::DATE AS missing_date FROM spans s"
            " JOIN expected_sessions e ON e.calendar = s.calendar"
            "  AND e.date::DATE BETWEEN s.lo AND s.hi"
            " ANTI JOIN core.prices_daily p ON p.symbol = s.symbol AND p.date = e.date::DATE"
            " ORDER BY s.symbol, missing_date",
        )
    finally:
        con.unregister("expected_sessions")
