"""Writers for the price tables: raw bars, corporate actions, core bars and the returns mart.

Every writer replaces exactly one date window in one transaction, so re-running a partition
gives the same rows and a failure half-way leaves the previous rows in place. Core and mart rows
carry the provenance of the fetch that brought their raw rows (``source``, ``fetched_at``,
``run_id``), never the time or run of a later rebuild.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd

from warehouse.db import count, sql, transaction
from warehouse.serving import ServingDomain, ServingTable

SERVING = ServingDomain("prices", (
    ServingTable("core.instruments", asset="instruments", key=("symbol",),
                 description="The universe: symbol, name, asset class, currency, calendar."),
    ServingTable("core.prices_daily", asset="prices_daily", key=("symbol", "date"),
                 description="As-traded daily OHLCV, FinScope's adjusted close, provenance."),
    ServingTable("core.corporate_actions", asset="corporate_actions",
                 key=("symbol", "ex_date", "action"),
                 description="Splits (new shares per old) and cash dividends by ex-date."),
    ServingTable("marts.returns_daily", asset="returns_daily", key=("symbol", "date"),
                 description="Daily simple and log total returns from the adjusted close."),
    ServingTable("meta.ingest_log", asset="raw_prices", sort=("logged_at", "symbol"),
                 description="What each fetch delivered or why it failed, per symbol."),
))
"""The price domain's serving tables: what the app reads, published in the prices snapshot."""



@dataclass(frozen=True)
class RawWrite:
    """What a raw write did: bars and actions written, stored bars kept that the fetch lacked."""

    bars: int
    actions: int
    kept: dict[str, int]
    """Per symbol, stored bars in the window that this fetch did not return (kept, not lost)."""


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
    replace: bool = False,
) -> RawWrite:
    """Store a fetch in the raw layer, in one transaction.

    Fetched rows replace the stored rows with the same key. A stored bar of ``symbols`` in
    ``start..end`` that the fetch did not return is kept (a truncated file or a provider that
    shortened its history never deletes stored history silently) and counted in
    ``RawWrite.kept``; with ``replace`` the fetch replaces the whole window of ``symbols``.
    Stored actions of a fully fetched symbol are replaced over the span its fetched bars cover,
    first to last (so a provider that removed or corrected a split or dividend is believed,
    while the actions of bars kept outside a truncated answer stay with them).

    Returns:
        What was written and kept.
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    provenance = {"source": source, "fetched_at": fetched_at, "run_id": run_id}
    con.register("fetched_bars", prices)
    con.register("fetched_actions", actions)
    try:
        with transaction(con):
            kept = dict(con.execute(
                "SELECT r.symbol, count(*) FROM raw.prices_daily r"
                " WHERE r.date BETWEEN $start AND $end AND r.symbol IN (SELECT unnest($symbols))"
                " AND NOT EXISTS (SELECT 1 FROM fetched_bars f"
                "   WHERE f.symbol = r.symbol AND f.date = r.date)"
                " GROUP BY r.symbol ORDER BY r.symbol", params).fetchall())
            if replace:
                for table in ("raw.prices_daily", "raw.corporate_actions"):
                    con.execute(
                        f"DELETE FROM {table} WHERE date BETWEEN $start AND $end"  # noqa: S608
                        " AND symbol IN (SELECT unnest($symbols))", params)
            con.execute(  # the fetch speaks for the actions of the span its bars cover
                "DELETE FROM raw.corporate_actions r USING (SELECT symbol, min(date) AS lo,"
                "   max(date) AS hi FROM fetched_bars GROUP BY symbol) f"
                " WHERE r.symbol = f.symbol AND r.date BETWEEN f.lo AND f.hi"
                " AND r.symbol IN (SELECT unnest($symbols))",
                {"symbols": list(symbols)})
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
    return RawWrite(len(prices), len(actions), {} if replace else kept)


def refresh_core_actions(con: duckdb.DuckDBPyConnection, *, start: date, end: date) -> int:
    """Rebuild ``core.corporate_actions`` on ``start..end`` from the raw layer.

    Returns:
        The number of actions now in the window.
    """
    window = {"start": start, "end": end}
    with transaction(con):
        con.execute(
            "DELETE FROM core.corporate_actions WHERE ex_date BETWEEN $start AND $end", window
        )
        con.execute(
            "INSERT INTO core.corporate_actions"
            " SELECT DISTINCT ON (symbol, date, action) symbol, date, action, value, source,"
            " fetched_at, run_id FROM raw.corporate_actions"
            " WHERE date BETWEEN $start AND $end AND value > 0"
            " ORDER BY symbol, date, action, fetched_at DESC",
            window,
        )
    return count(
        con, "SELECT count(*) FROM core.corporate_actions WHERE ex_date BETWEEN ? AND ?",
        [start, end],
    )


def refresh_core_prices(con: duckdb.DuckDBPyConnection, *, start: date, end: date) -> CoreWrite:
    """Rebuild ``core.prices_daily`` on ``start..end`` from the raw layer.

    Raw bars without a positive close or with a negative volume are rejected (counted, not
    stored). ``adj_close`` is derived from ``core.corporate_actions``. A symbol whose stored
    bars before the window now need another adjustment (an action in the window was added,
    removed or corrected, or the close it divides by changed) has its whole earlier history
    re-adjusted in the same transaction.
    """
    window = {"start": start, "end": end}
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
        con.execute("CREATE OR REPLACE TEMP TABLE action_factors AS "
                    + sql("prices/action_factors.sql"))
        readjusted = [row[0] for row in con.execute(sql("prices/stale_adjustments.sql"),
                                                    {"start": start}).fetchall()]
        con.execute("INSERT INTO core.prices_daily " + sql("prices/adjusted_bars.sql"))
        written = count(con, "SELECT count(*) FROM window_bars")
        con.execute("DROP VIEW window_bars")
        if readjusted:
            _readjust_history(con, symbols=readjusted, start=start)
            con.execute("DROP TABLE window_bars")
        con.execute("DROP TABLE action_factors")
        con.execute("DROP TABLE price_window")
    return CoreWrite(rows=written, rejected=raw_rows - written, readjusted=tuple(readjusted))


def _readjust_history(
    con: duckdb.DuckDBPyConnection, *, symbols: list[str], start: date
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
    con.execute("INSERT INTO core.prices_daily " + sql("prices/adjusted_bars.sql"))


def refresh_returns(con: duckdb.DuckDBPyConnection, *, start: date, end: date) -> int:
    """Recompute ``marts.returns_daily`` for ``start..end``, the first bar after it, and the
    whole history of symbols with an ex-date in the window (their adj_close was re-based).

    Each return row carries the provenance (``fetched_at``, ``run_id``) of its bar.

    Returns:
        Rows written.
    """
    window = {"start": start, "end": end}
    with transaction(con):
        con.execute(
            "CREATE OR REPLACE TEMP TABLE new_returns AS " + sql("prices/returns_window.sql"),
            window,
        )
        con.execute("DELETE FROM marts.returns_daily WHERE date BETWEEN $start AND $end",
                    window)  # bars that left core lose their return too
        con.execute(
            "DELETE FROM marts.returns_daily r USING new_returns n"
            " WHERE r.symbol = n.symbol AND r.date = n.date"
        )
        con.execute("INSERT INTO marts.returns_daily BY NAME SELECT * FROM new_returns")
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



def request_refetch(
    con: duckdb.DuckDBPyConnection, found: pd.DataFrame, *, reason: str, run_id: str,
    now: datetime,
) -> int:
    """Ask the next fetch to get the bars in ``found`` (columns symbol, date) again.

    A blocking check that finds bad bars calls this, so that fixing the source and running a
    plain build is enough: the planner fetches these days even though bars are stored.

    Returns:
        How many (symbol, date) requests are now stored for ``reason``.
    """
    if found.empty:
        return 0
    con.register("bad_bars", found[["symbol", "date"]])
    try:
        with transaction(con):
            con.execute(
                "DELETE FROM meta.refetch r USING bad_bars b WHERE r.symbol = b.symbol"
                " AND r.date = b.date::DATE AND r.reason = ?", [reason])
            con.execute(
                "INSERT INTO meta.refetch SELECT DISTINCT symbol, date::DATE, ?, ?, ?"
                " FROM bad_bars", [reason, now, run_id])
    finally:
        con.unregister("bad_bars")
    return count(con, "SELECT count(*) FROM meta.refetch WHERE reason = ?", [reason])


def refetch_requests(
    con: duckdb.DuckDBPyConnection, symbols: Sequence[str], start: date, end: date
) -> pd.DataFrame:
    """(symbol, date) the checks asked to fetch again, for ``symbols`` on ``start..end``."""
    return con.execute(
        "SELECT DISTINCT symbol, date FROM meta.refetch WHERE date BETWEEN $start AND $end"
        " AND symbol IN (SELECT unnest($symbols)) ORDER BY symbol, date",
        {"symbols": list(symbols), "start": start, "end": end},
    ).df()


def settle_refetch(
    con: duckdb.DuckDBPyConnection, fetched: pd.DataFrame, *, symbols: Sequence[str],
    start: date, end: date,
) -> tuple[int, int]:
    """Close the refetch requests of ``symbols`` on ``start..end`` after a fetch landed.

    A requested bar the fetch returned replaced the bad one: its request is dropped. A requested
    bar the fetch did not return is one a blocking check named bad and the source no longer
    has: it is deleted from the raw layer (the one exception to keeping what a shorter fetch
    left out), and its request is dropped too.

    Returns:
        (requests answered by a new bar, bad bars deleted because the source dropped them).
    """
    params = {"symbols": list(symbols), "start": start, "end": end}
    con.register("fetched_bars", fetched[["symbol", "date"]])
    try:
        with transaction(con):
            con.execute(
                "CREATE OR REPLACE TEMP TABLE settled AS SELECT DISTINCT r.symbol, r.date,"
                " EXISTS (SELECT 1 FROM fetched_bars f WHERE f.symbol = r.symbol"
                "   AND f.date::DATE = r.date) AS answered"
                " FROM meta.refetch r WHERE r.date BETWEEN $start AND $end"
                " AND r.symbol IN (SELECT unnest($symbols))", params)
            con.execute("DELETE FROM raw.prices_daily p USING settled s WHERE NOT s.answered"
                        " AND p.symbol = s.symbol AND p.date = s.date")
            con.execute("DELETE FROM meta.refetch r USING settled s"
                        " WHERE r.symbol = s.symbol AND r.date = s.date")
            answered = count(con, "SELECT count(*) FROM settled WHERE answered")
            dropped = count(con, "SELECT count(*) FROM settled WHERE NOT answered")
            con.execute("DROP TABLE settled")
    finally:
        con.unregister("fetched_bars")
    return answered, dropped


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
