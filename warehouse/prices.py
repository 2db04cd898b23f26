"""Writers for the price tables: raw bars, corporate actions, core bars and the returns mart.

Every writer replaces exactly one date window in one transaction, so re-running a partition
gives the same rows and a failure half-way leaves the previous rows in place.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from warehouse.db import scalar, sql, transaction

RAW_PRICE_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume", "market_cap")
ACTION_COLUMNS = ("symbol", "date", "action", "value")


@dataclass(frozen=True)
class CoreWrite:
    """What a core refresh did: rows written, raw rows rejected, symbols re-adjusted."""

    rows: int
    rejected: int
    readjusted: tuple[str, ...]


def replace_raw(
    con: duckdb.DuckDBPyConnection,
    prices: pd.DataFrame,
    actions: pd.DataFrame,
    *,
    symbols: Sequence[str],
    start: date,
    end: date,
    source: str,
    fetched_at: datetime,
    run_id: str,
) -> tuple[int, int]:
    """Replace the raw bars and actions of ``symbols`` on ``start..end`` with a fetch.

    Only the symbols named are touched: a symbol that failed to fetch keeps what it had.

    Returns:
        (bars written, actions written).
    """
    bars = prices.loc[:, list(RAW_PRICE_COLUMNS)]
    acts = actions.loc[:, list(ACTION_COLUMNS)]
    params = {"symbols": list(symbols), "start": start, "end": end}
    provenance = {"source": source, "fetched_at": fetched_at, "run_id": run_id}
    con.register("fetched_bars", bars)
    con.register("fetched_actions", acts)
    try:
        with transaction(con):
            for table in ("raw.prices_daily", "raw.corporate_actions"):
                con.execute(
                    f"DELETE FROM {table} WHERE date BETWEEN $start AND $end"  # noqa: S608 fixed names
                    " AND symbol IN (SELECT unnest($symbols))",
                    params,
                )
            con.execute(
                "INSERT INTO raw.prices_daily SELECT symbol, date, open, high, low, close,"
                " volume, market_cap, $source, $fetched_at, $run_id FROM fetched_bars",
                provenance,
            )
            con.execute(
                "INSERT INTO raw.corporate_actions SELECT symbol, date, action, value,"
                " $source, $fetched_at, $run_id FROM fetched_actions",
                provenance,
            )
    finally:
        con.unregister("fetched_bars")
        con.unregister("fetched_actions")
    return len(bars), len(acts)


def refresh_core_actions(
    con: duckdb.DuckDBPyConnection, *, start: date, end: date, run_id: str, ingested_at: datetime
) -> int:
    """Rebuild ``core.corporate_actions`` on ``start..end`` from the raw layer.

    Returns:
        The number of actions now in the window.
    """
    params = {"start": start, "end": end, "run_id": run_id, "ingested_at": ingested_at}
    with transaction(con):
        con.execute(
            "DELETE FROM core.corporate_actions WHERE ex_date BETWEEN $start AND $end",
            {"start": start, "end": end},
        )
        con.execute(
            "INSERT INTO core.corporate_actions"
            " SELECT DISTINCT ON (symbol, date, action) symbol, date, action, value, source,"
            " $ingested_at, $run_id FROM raw.corporate_actions"
            " WHERE date BETWEEN $start AND $end AND value > 0"
            " ORDER BY symbol, date, action, fetched_at DESC",
            params,
        )
    return int(
        scalar(
            con,
            "SELECT count(*) FROM core.corporate_actions WHERE ex_date BETWEEN ? AND ?",
            [start, end],
        )  # type: ignore[arg-type]
    )


def refresh_core_prices(
    con: duckdb.DuckDBPyConnection, *, start: date, end: date, run_id: str, ingested_at: datetime
) -> CoreWrite:
    """Rebuild ``core.prices_daily`` on ``start..end`` from the raw layer.

    Raw bars without a positive close or with a negative volume are rejected (counted, not
    stored). ``adj_close`` is derived from ``core.corporate_actions``; when the window holds an
    action, the earlier bars of that symbol are re-adjusted in the same transaction.
    """
    window = {"start": start, "end": end}
    stamp = {"run_id": run_id, "ingested_at": ingested_at}
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE window_bars AS SELECT * FROM raw.prices_daily"
            " WHERE date BETWEEN $start AND $end AND close > 0 AND volume >= 0",
            window,
        )
        raw_rows = scalar(
            con, "SELECT count(*) FROM raw.prices_daily WHERE date BETWEEN $start AND $end", window
        )
        con.execute("DELETE FROM core.prices_daily WHERE date BETWEEN $start AND $end", window)
        readjusted = [
            row[0]
            for row in con.execute(
                "SELECT DISTINCT symbol FROM core.corporate_actions"
                " WHERE ex_date BETWEEN $start AND $end ORDER BY 1",
                window,
            ).fetchall()
        ]
        con.execute(sql("prices/action_factors.sql"))
        con.execute("INSERT INTO core.prices_daily " + sql("prices/adjusted_bars.sql"), stamp)
        written = scalar(con, "SELECT count(*) FROM window_bars")
        if readjusted:
            _readjust_history(con, symbols=readjusted, start=start, stamp=stamp)
        con.execute("DROP TABLE window_bars")
        con.execute("DROP TABLE action_factors")
    rows = int(written)  # type: ignore[arg-type]
    return CoreWrite(rows=rows, rejected=int(raw_rows) - rows, readjusted=tuple(readjusted))  # type: ignore[arg-type]


def _readjust_history(
    con: duckdb.DuckDBPyConnection, *, symbols: list[str], start: date, stamp: dict[str, object]
) -> None:
    """Re-derive adj_close of the bars of ``symbols`` before ``start`` from action_factors."""
    con.execute(
        "CREATE OR REPLACE TEMP TABLE window_bars AS SELECT * FROM core.prices_daily"
        " WHERE date < $start AND symbol IN (SELECT unnest($symbols))",
        {"start": start, "symbols": symbols},
    )
    con.execute(
        "DELETE FROM core.prices_daily p USING window_bars w"
        " WHERE p.symbol = w.symbol AND p.date = w.date"
    )
    con.execute("INSERT INTO core.prices_daily " + sql("prices/adjusted_bars.sql"), stamp)


def refresh_returns(
    con: duckdb.DuckDBPyConnection, *, start: date, end: date, run_id: str
) -> int:
    """Recompute ``marts.returns_daily`` for ``start..end`` (and the first bar after it).

    Returns:
        Rows written.
    """
    params = {"start": start, "end": end, "run_id": run_id}
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_returns AS " + sql("prices/returns_window.sql"),
            params,
        )
        con.execute(
            "DELETE FROM marts.returns_daily r USING new_returns n"
            " WHERE r.symbol = n.symbol AND r.date = n.date"
        )
        con.execute("INSERT INTO marts.returns_daily SELECT * FROM new_returns")
        rows = scalar(con, "SELECT count(*) FROM new_returns")
        con.execute("DROP TABLE new_returns")
    return int(rows)  # type: ignore[arg-type]


def present_dates(
    con: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """(symbol, date) of the core bars already stored for ``symbols`` on ``start..end``."""
    return con.execute(
        "SELECT symbol, date FROM core.prices_daily WHERE date BETWEEN $start AND $end"
        " AND symbol IN (SELECT unnest($symbols))",
        {"symbols": list(symbols), "start": start, "end": end},
    ).df()
