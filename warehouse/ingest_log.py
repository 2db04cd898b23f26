"""``meta.ingest_log``: one row per (run, asset, symbol, window) saying what landed or failed."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime

import duckdb
import pandas as pd


@dataclass(frozen=True)
class IngestEntry:
    source: str
    symbol: str
    start: date
    end: date
    status: str  # ok | failed
    rows: int
    message: str | None = None


def record(
    con: duckdb.DuckDBPyConnection,
    entries: Iterable[IngestEntry],
    *,
    run_id: str,
    asset: str,
    logged_at: datetime,
) -> int:
    """Append ``entries`` to ``meta.ingest_log``; returns how many were written."""
    frame = pd.DataFrame(
        [
            (run_id, asset, e.source, e.symbol, e.start, e.end, e.status, e.rows, e.message,
             logged_at)
            for e in entries
        ],
        columns=["run_id", "asset", "source", "symbol", "start_date", "end_date", "status",
                 "rows", "message", "logged_at"],
    )
    if frame.empty:
        return 0
    con.register("new_log", frame)
    try:
        con.execute("INSERT INTO meta.ingest_log SELECT * FROM new_log")
    finally:
        con.unregister("new_log")
    return len(frame)
