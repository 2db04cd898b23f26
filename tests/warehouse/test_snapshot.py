"""Publishing and reading the serving snapshot, including a swap under concurrent readers."""

from __future__ import annotations

import threading
from pathlib import Path

import duckdb
import pytest

from warehouse.migrate import migrate
from warehouse.snapshot import SERVING_TABLES, SnapshotReader, current, publish


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    migrate(con)
    return con


def add_bar(con: duckdb.DuckDBPyConnection, close: float) -> None:
    con.execute(
        "INSERT INTO core.prices_daily VALUES ('A', DATE '2024-01-02' + (SELECT count(*)"
        " FROM core.prices_daily)::INT, 1, 1, 1, ?, ?, 1, NULL, 't', now(), 'r')",
        [close, close],
    )


def test_publish_copies_tables_and_records_version(warehouse, tmp_path):
    add_bar(warehouse, 10.0)
    info = publish(warehouse, tmp_path / "snaps", run_id="run-1")
    assert current(tmp_path / "snaps") == info
    assert info.tables["core.prices_daily"] == 1
    snap = duckdb.connect(str(tmp_path / "snaps" / info.file), read_only=True)
    assert snap.execute("SELECT version, run_id FROM meta.snapshot").fetchall() == [
        (info.version, "run-1")
    ]
    names = {f"{s}.{t}" for s, t in snap.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert set(SERVING_TABLES) <= names
    assert warehouse.execute("SELECT count(*) FROM meta.snapshot").fetchone() == (1,)


def test_reader_before_first_publish_says_so(tmp_path):
    reader = SnapshotReader(tmp_path / "none")
    assert reader.info() is None
    with pytest.raises(FileNotFoundError, match="no serving snapshot"), reader.cursor():
        pass


def test_old_snapshots_are_pruned(warehouse, tmp_path):
    for _ in range(5):
        publish(warehouse, tmp_path / "s", run_id="r", keep=2)
    assert len(list((tmp_path / "s").glob("snapshot-*.duckdb"))) == 2
    assert not list((tmp_path / "s").glob(".*partial"))


def test_swap_while_readers_query_never_fails_a_request(warehouse, tmp_path):
    directory = tmp_path / "snaps"
    add_bar(warehouse, 1.0)
    publish(warehouse, directory, run_id="r0")
    reader = SnapshotReader(directory)
    errors: list[BaseException] = []
    seen: set[int] = set()
    stop = threading.Event()

    def query() -> None:
        while not stop.is_set():
            try:
                with reader.cursor() as cur:
                    row = cur.execute("SELECT count(*) FROM core.prices_daily").fetchone()
                    seen.add(row[0])
            except BaseException as exc:  # pragma: no cover - the assertion reports it
                errors.append(exc)

    threads = [threading.Thread(target=query) for _ in range(4)]
    for t in threads:
        t.start()
    for i in range(2, 12):
        add_bar(warehouse, float(i))
        publish(warehouse, directory, run_id=f"r{i}", keep=2)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    with reader.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM core.prices_daily").fetchone() == (11,)
    assert reader.info().run_id == "r11"
    assert len(seen) > 1  # readers moved to new versions without a restart


def test_failed_publish_leaves_previous_snapshot_current(warehouse, tmp_path, monkeypatch):
    first = publish(warehouse, tmp_path / "s", run_id="ok")
    with pytest.raises(ValueError, match="not a serving table"):
        publish(warehouse, tmp_path / "s", run_id="bad", tables=("raw.prices_daily",))
    assert current(tmp_path / "s") == first
    assert not list((tmp_path / "s").glob(".*partial"))
