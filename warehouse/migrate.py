"""Ordered, idempotent schema migrations from ``warehouse/sql/migrations/NNN_name.sql``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from importlib import resources
from importlib.abc import Traversable

import duckdb

_NAME = re.compile(r"^(\d{3})_([a-z0-9_]+)\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def migrations(folder: Traversable | None = None) -> list[Migration]:
    """Every migration in ``folder`` (default: those shipped with FinScope), in version order.

    Raises:
        ValueError: a file in the migrations folder is misnamed or a version repeats.
    """
    folder = folder or resources.files("warehouse") / "sql" / "migrations"
    found: dict[int, Migration] = {}
    for entry in folder.iterdir():
        if not entry.name.endswith(".sql"):
            continue
        match = _NAME.match(entry.name)
        if match is None:
            raise ValueError(f"migration file {entry.name!r} is not named NNN_snake_name.sql")
        version = int(match.group(1))
        if version in found:
            raise ValueError(f"migration version {version:03d} appears twice ({entry.name})")
        found[version] = Migration(version, match.group(2), entry.read_text())
    return [found[v] for v in sorted(found)]


def migrate(con: duckdb.DuckDBPyConnection, folder: Traversable | None = None) -> list[int]:
    """Apply the migrations ``con`` has not seen yet, each in its own transaction.

    A migration that fails is rolled back whole (DuckDB DDL is transactional) and the error
    raised; the ones before it stay applied.

    Returns:
        The versions applied by this call (empty when the schema was current).
    """
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.migrations ("
        " version INTEGER PRIMARY KEY, name VARCHAR NOT NULL,"
        " applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
    )
    applied = {row[0] for row in con.execute("SELECT version FROM meta.migrations").fetchall()}
    done = []
    for migration in migrations(folder):
        if migration.version in applied:
            continue
        con.execute("BEGIN TRANSACTION")
        try:
            con.execute(migration.sql)
            con.execute(
                "INSERT INTO meta.migrations (version, name) VALUES (?, ?)",
                [migration.version, migration.name],
            )
            con.execute("COMMIT")
        except Exception:
            con.execute("ROLLBACK")
            raise
        done.append(migration.version)
    return done

