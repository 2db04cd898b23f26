"""Ordered, idempotent migrations; a failing one is rolled back whole."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import duckdb
import pytest

from warehouse.migrate import migrate, migrations


def test_shipped_migrations_apply_once_in_order():
    con = duckdb.connect()
    shipped = [m.version for m in migrations()]
    assert shipped == sorted(shipped) and shipped[0] == 1
    assert migrate(con) == shipped
    assert migrate(con) == []  # idempotent: nothing left to apply
    recorded = [v for (v,) in con.execute("SELECT version FROM meta.migrations ORDER BY 1")
                .fetchall()]
    assert recorded == shipped
    tables = {f"{s}.{t}" for s, t in con.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert {"core.instruments", "core.prices_daily", "core.corporate_actions",
            "marts.returns_daily", "meta.snapshot", "meta.ingest_log"} <= tables


def test_new_migrations_apply_in_version_order_and_a_failure_rolls_back(tmp_path: Path):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "002_second.sql").write_text("INSERT INTO t VALUES (2);")
    (folder / "001_first.sql").write_text("CREATE TABLE t (v INTEGER); INSERT INTO t VALUES (1);")
    con = duckdb.connect()
    assert migrate(con, folder) == [1, 2]
    broken = "CREATE TABLE u (v INTEGER); INSERT INTO nope VALUES (1);"
    (folder / "003_broken.sql").write_text(broken)
    with pytest.raises(duckdb.CatalogException, match="nope"):
        migrate(con, folder)
    left = con.execute("SELECT count(*) FROM duckdb_tables() WHERE table_name = 'u'").fetchone()
    assert left == (0,)  # the half of 003 that worked was rolled back too
    assert [v for (v,) in con.execute("SELECT version FROM meta.migrations").fetchall()] == [1, 2]


@pytest.mark.parametrize("name, message", [("4_bad.sql", "not named"), ("001_dup.sql", "twice")])
def test_misnamed_or_repeated_versions_are_refused(tmp_path: Path, name: str, message: str):
    folder = tmp_path / "migrations"
    folder.mkdir()
    (folder / "001_first.sql").write_text("SELECT 1;")
    (folder / name).write_text("SELECT 1;")
    with pytest.raises(ValueError, match=message):
        migrations(folder)


def test_a_warehouse_of_the_first_schema_keeps_its_rows_and_gains_provenance(tmp_path):
    shipped = Path(__file__).resolve().parents[2] / "warehouse" / "sql" / "migrations"
    first = tmp_path / "first"
    first.mkdir()
    (first / "001_schemas_and_prices.sql").write_text(
        (shipped / "001_schemas_and_prices.sql").read_text())
    con = duckdb.connect()
    assert migrate(con, first) == [1]
    con.execute("INSERT INTO core.prices_daily VALUES ('A', DATE '2024-01-02', 1, 1, 1, 1, 1, 1,"
                " NULL, 'sample', TIMESTAMPTZ '2024-01-03 06:00:00+00', 'fetch-run')")
    con.execute("INSERT INTO marts.returns_daily VALUES ('A', DATE '2024-01-02', 1, NULL, NULL,"
                " 'rebuild-run')")
    assert migrate(con) == [v.version for v in migrations()][1:]
    fetch = [(datetime(2024, 1, 3, 6, tzinfo=UTC), "fetch-run")]
    assert con.execute("SELECT fetched_at, run_id FROM core.prices_daily").fetchall() == fetch
    # the returns keep the fetch's time and run, not the rebuild's
    assert con.execute("SELECT fetched_at, run_id FROM marts.returns_daily").fetchall() == fetch
