"""``core.instruments``: the universe as configured, replaced whole on every load."""

from __future__ import annotations

from datetime import datetime

import duckdb
import pandas as pd

from warehouse.db import transaction

COLUMNS = (
    "symbol", "name", "asset_class", "currency", "calendar", "sector", "yahoo_id",
    "coingecko_id", "is_benchmark", "source",
)


def replace_instruments(
    con: duckdb.DuckDBPyConnection, frame: pd.DataFrame, *, updated_at: datetime
) -> int:
    """Make ``core.instruments`` exactly ``frame`` (columns ``COLUMNS``); returns the row count.

    Prices of symbols dropped from the universe are kept: removing a symbol from the settings
    hides it from new fetches, it does not delete history.
    """
    rows = frame.loc[:, list(COLUMNS)]
    con.register("new_instruments", rows)
    try:
        with transaction(con):
            con.execute("DELETE FROM core.instruments")
            con.execute(
                "INSERT INTO core.instruments SELECT symbol, name, asset_class, currency,"
                " calendar, sector, yahoo_id, coingecko_id, is_benchmark, source, ?"
                " FROM new_instruments",
                [updated_at],
            )
    finally:
        con.unregister("new_instruments")
    return len(rows)
