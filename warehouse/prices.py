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

from warehouse.db import count, sql, transaction


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
    """Store a fetch in the raw layer, in one transaction.

    ``symbols`` are the symbols fetched completely: their ``start..end`` window is replaced by
    the fetch. Rows of any other symbol in the frames (a partial fetch) replace only the same
    keys, so a symbol that failed keeps everything it had.

    Returns:
        (bars written, actions written).
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    provenance = {"source": source, "fetched_at": fetched_at, "run_id": run_id}
    con.register("fetched_bars", prices)
    con.register("fetched_actions", actions)
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM raw.prices_daily WHERE date BETWEEN $start AND $end"
                " AND symbol IN (SELECT unnest($symbols))",
                params,
            )
            con.execute(
                "DELETE FROM raw.corporate_actions WHERE date BETWEEN $start AND $end"
                " AND symbol IN (SELECT unnest($symbols))",
                params,
            )
            con.execute(
                "DELETE FROM raw.prices_daily r USING fetched_bars f"
                " WHERE r.symbol = f.symbol AND r.date = f.date"
            )
            con.execute(
                "DELETE FROM raw.corporate_actions r USING fetched_actions f"
                " WHERE r.symbol = f.symbol AND r.date = f.date AND r.action = f.action"
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
    return len(prices), len(actions)


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
    return count(
        con, "SELECT count(*) FROM core.corporate_actions WHERE ex_date BETWEEN ? AND ?",
        [start, end],
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
        # A view over the raw window: the bars are read where they are, not copied first.
        con.execute(
            "CREATE OR REPLACE TEMP TABLE price_window AS SELECT $start::DATE AS lo,"
            " $end::DATE AS hi", window
        )
        con.execute(
            "CREATE OR REPLACE TEMP VIEW window_bars AS SELECT r.* FROM raw.prices_daily r"
            " SEMI JOIN price_window w ON r.date BETWEEN w.lo AND w.hi"
            " WHERE r.close > 0 AND r.volume >= 0"
        )
        raw_rows = count(
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
        con.execute("CREATE OR REPLACE TEMP TABLE action_factors AS "
                    + sql("prices/action_factors.sql"))
        con.execute("INSERT INTO core.prices_daily " + sql("prices/adjusted_bars.sql"), stamp)
        written = count(con, "SELECT count(*) FROM window_bars")
        con.execute("DROP VIEW window_bars")
        if readjusted:
            _readjust_history(con, symbols=readjusted, start=start, stamp=stamp)
            con.execute("DROP TABLE window_bars")
        con.execute("DROP TABLE action_factors")
        con.execute("DROP TABLE price_window")
    return CoreWrite(rows=written, rejected=raw_rows - written, readjusted=tuple(readjusted))


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
    """Recompute ``marts.returns_daily`` for ``start..end``, the first bar after it, and the
    whole history of symbols with an ex-date in the window (their adj_close was re-based).

    Returns:
        Rows written.
    """
    params = {"start": start, "end": end, "run_id": run_id}
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_returns AS " + sql("prices/returns_window.sql"),
            params,
        )
        con.execute("DELETE FROM marts.returns_daily WHERE date BETWEEN $start AND $end",
                    {"start": start, "end": end})  # bars that left core lose their return too
        con.execute(
            "DELETE FROM marts.returns_daily r USING new_returns n"
            " WHERE r.symbol = n.symbol AND r.date = n.date"
        )
        con.execute("INSERT INTO marts.returns_daily SELECT * FROM new_returns")
        rows = count(con, "SELECT count(*) FROM new_returns")
        con.execute("DROP TABLE new_returns")
    return rows


def present_dates(
    con: duckdb.DuckDBPyConnection,
    symbols: Sequence[str],
    start: date,
    end: date,
    *,
    source: str | None = None,
) -> pd.DataFrame:
    """(symbol, date) of the core bars stored for ``symbols`` on ``start..end``.

    Args:
        source: count only bars that came from this source (None: any source).
    """
    return con.execute(
        "SELECT symbol, date FROM core.prices_daily WHERE date BETWEEN $start AND $end"
        " AND symbol IN (SELECT unnest($symbols)) AND ($source IS NULL OR source = $source)",
        {"symbols": list(symbols), "start": start, "end": end, "source": source},
    ).df()


_PREVIEWS = {
    "corporate_actions": "SELECT symbol, ex_date, action, value FROM core.corporate_actions"
    " WHERE ex_date BETWEEN ? AND ? ORDER BY ex_date DESC, symbol LIMIT ?",
    "prices_daily": "SELECT symbol, date, open, high, low, close, adj_close, volume, source"
    " FROM core.prices_daily WHERE date BETWEEN ? AND ? ORDER BY date DESC, symbol LIMIT ?",
    "returns_daily": "SELECT symbol, date, adj_close, ret, log_ret FROM marts.returns_daily"
    " WHERE date BETWEEN ? AND ? ORDER BY date DESC, symbol LIMIT ?",
}


def window_preview(
    con: duckdb.DuckDBPyConnection, table: str, start: date, end: date, rows: int = 8
) -> pd.DataFrame:
    """The newest ``rows`` rows of ``table`` (an asset name) on ``start..end``, for previews."""
    return con.execute(_PREVIEWS[table], [start, end, rows]).df()
