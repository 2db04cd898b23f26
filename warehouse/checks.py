"""Data-quality queries behind the asset checks. Each returns the violations it finds."""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import pandas as pd

from warehouse.db import count as count_rows
from warehouse.serving import ServingTable

SAMPLE_ROWS = 10


@dataclass(frozen=True)
class Violations:
    """How many rows break a rule, the first few of them, and the bars they name."""

    count: int
    sample: pd.DataFrame
    bars: pd.DataFrame | None = None
    """(symbol, date) of every violating bar (at most ``MAX_BARS``), when the rule is per bar."""

    @property
    def passed(self) -> bool:
        return self.count == 0


MAX_BARS = 10_000


def _violations(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> Violations:
    con.execute("CREATE OR REPLACE TEMP TABLE violations AS " + query, params)
    count = count_rows(con, "SELECT count(*) FROM violations")
    sample = con.execute("SELECT * FROM violations LIMIT ?", [SAMPLE_ROWS]).df()
    bars = None
    if {"symbol", "date"} <= set(sample.columns):
        bars = con.execute("SELECT DISTINCT symbol, date FROM violations ORDER BY ALL LIMIT ?",
                           [MAX_BARS]).df()
    con.execute("DROP TABLE violations")
    return Violations(count, sample, bars)


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: ServingTable) -> Violations:
    """Keys of ``table`` (a declared serving table with a key) that appear more than once."""
    if not table.key:
        raise ValueError(f"{table.name} declares no key")
    key = ", ".join(table.key)  # identifiers validated by ServingTable
    return _violations(
        con,
        f"SELECT {key}, count(*) AS copies FROM {table.name}"  # noqa: S608 - declared names
        f" GROUP BY ALL HAVING copies > 1 ORDER BY {key}",
    )


def dividends_at_or_above_close(con: duckdb.DuckDBPyConnection) -> Violations:
    """Dividends not below the previous close (restated for a same-day split).

    Such a dividend cannot be applied (its adjustment factor ``1 - dividend / close`` would be
    zero or negative), so adj_close leaves it out; it is almost always a unit or data error.
    """
    return _violations(
        con,
        "WITH days AS (SELECT symbol, ex_date, sum(value) FILTER (WHERE action = 'dividend') AS"
        "   dividend, product(value) FILTER (WHERE action = 'split') AS split_ratio"
        "   FROM core.corporate_actions GROUP BY ALL)"
        " SELECT d.symbol, d.ex_date AS date, d.dividend, p.close AS previous_close,"
        "   p.date AS previous_date"
        " FROM days d ASOF JOIN core.prices_daily p ON d.symbol = p.symbol AND d.ex_date > p.date"
        " WHERE d.dividend IS NOT NULL"
        "   AND d.dividend >= p.close / coalesce(d.split_ratio, 1.0)"
        " ORDER BY d.symbol, d.ex_date",
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
