"""Connection helpers shared by the writers and the snapshot publisher."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from importlib import resources
from pathlib import Path

import duckdb

WRITER_CONFIG = {"preserve_insertion_order": False}
"""Writers never rely on row order (every read that cares says ORDER BY; snapshots sort), and
letting DuckDB reorder halves the cost of bulk inserts into an on-disk warehouse."""


def connect_writer(path: str | Path) -> duckdb.DuckDBPyConnection:
    """A read-write connection to the warehouse at ``path``, tuned for bulk writes."""
    return duckdb.connect(str(path), config=dict(WRITER_CONFIG))


def sql(name: str) -> str:
    """The text of ``warehouse/sql/<name>`` (a fixed file shipped with FinScope)."""
    return (resources.files("warehouse") / "sql" / name).read_text()


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
    """Run the block in one transaction: all of its writes land, or none do."""
    con.execute("BEGIN TRANSACTION")
    try:
        yield con
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def count(con: duckdb.DuckDBPyConnection, query: str, params: object = None) -> int:
    """The integer in the first column of the first row of ``query`` (0 when there is none)."""
    rows = con.execute(query, params).fetchall()  # fetched to the end: the connection is free
    return 0 if not rows or rows[0][0] is None else int(rows[0][0])
