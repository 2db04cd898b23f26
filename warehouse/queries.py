"""Typed read queries the app needs, over a warehouse or a serving-snapshot cursor.

Each function takes a DuckDB cursor and plain parameters and returns a pandas frame or a small
dataclass. The SQL lives in ``warehouse/sql/queries/*.sql``; every value a user can influence
(symbols, dates, counts) is passed as a bound parameter, never formatted into the SQL text.
Timestamps come back as UTC-aware pandas timestamps; dates as ``datetime64`` columns.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from functools import cache

import duckdb
import pandas as pd

from warehouse.db import sql

PRICE_HISTORY_COLUMNS: tuple[str, ...] = (
    "symbol", "date", "open", "high", "low", "close", "adj_close", "volume", "source",
    "fetched_at",
)
"""Columns of ``price_history``: the rows of ``core.prices_daily`` the app shows."""


@dataclass(frozen=True)
class DateBounds:
    """The first and last bar date of a set of symbols (None when there are no bars)."""

    first: date | None
    last: date | None
    symbols: int


@dataclass(frozen=True)
class Summary:
    """Headline counts of a warehouse or snapshot."""

    instruments: int
    bars: int
    symbols: int
    first_date: date | None
    last_date: date | None


@cache
def _query(name: str) -> str:
    return sql(f"queries/{name}.sql")


def _frame(
    cur: duckdb.DuckDBPyConnection, name: str, params: dict[str, object] | None = None
) -> pd.DataFrame:
    frame = cur.execute(_query(name), params).df()
    for column in ("latest_fetched_at", "fetched_at"):
        if column in frame:
            frame[column] = frame[column].dt.tz_localize("UTC")
    return frame


def instruments(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Every instrument, ordered by asset class then symbol.

    Returns:
        Columns symbol, name, asset_class, currency, calendar (an exchange code or ``24/7``),
        sector, is_benchmark, source.
    """
    return _frame(cur, "instruments")


def as_of(cur: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Freshness per price source and asset class.

    Returns:
        Columns source, asset_class, latest_date, latest_fetched_at (UTC: the latest fetch
        among those bars), symbols, bars; one row per (source, asset_class) with any bar,
        ordered by both.
    """
    return _frame(cur, "as_of")


def movers(cur: duckdb.DuckDBPyConnection, n: int = 5) -> pd.DataFrame:
    """The biggest gainers and losers of each symbol's latest day, per asset class.

    Each symbol contributes its own latest row of ``marts.returns_daily``. Gainers are the ``n``
    largest positive returns, losers the ``n`` most negative; ties break by symbol.

    Returns:
        Columns asset_class, side (``gainer``/``loser``), rank (1 = biggest move), symbol, name,
        date, adj_close, ret; ordered by asset_class, side, rank.

    Raises:
        ValueError: ``n`` is not positive.
    """
    if n < 1:
        raise ValueError(f"n must be positive, got {n}")
    return _frame(cur, "movers", {"n": int(n)})


def price_history(
    cur: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Daily OHLCV bars and the adjusted close of ``symbols`` on ``start..end`` (inclusive).

    Returns:
        The columns of ``PRICE_HISTORY_COLUMNS``, ordered by symbol and date; unknown symbols simply
        have no rows.
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    return _frame(cur, "price_history", params)


def returns(
    cur: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Daily total returns of ``symbols`` on ``start..end`` (inclusive).

    Returns:
        Columns symbol, date, adj_close, ret (simple), log_ret; ordered by symbol and date.
        ``ret`` is NaN on each symbol's first stored bar.
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    return _frame(cur, "returns", params)


def corporate_actions(
    cur: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """Splits and dividends of ``symbols`` with an ex-date on ``start..end``.

    Returns:
        Columns symbol, ex_date, action (``split``/``dividend``), value, source.
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    return _frame(cur, "corporate_actions", params)


def date_bounds(
    cur: duckdb.DuckDBPyConnection, symbols: Sequence[str] | None = None
) -> DateBounds:
    """The first and last bar date over all symbols, or over ``symbols`` when given."""
    params = {"all": symbols is None, "symbols": list(symbols or [])}
    row = cur.execute(_query("date_bounds"), params).fetchone()
    if row is None:  # pragma: no cover - an aggregate always returns one row
        return DateBounds(None, None, 0)
    return DateBounds(first=row[0], last=row[1], symbols=int(row[2]))


def summary(cur: duckdb.DuckDBPyConnection) -> Summary:
    """Counts of instruments, bars and symbols with bars, and the overall date range."""
    row = cur.execute(_query("summary")).fetchone()
    if row is None:  # pragma: no cover - an aggregate always returns one row
        return Summary(0, 0, 0, None, None)
    return Summary(int(row[0]), int(row[1]), int(row[2]), row[3], row[4])
