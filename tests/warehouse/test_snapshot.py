"""Publishing and reading per-domain serving snapshots, including swaps under concurrent readers."""

from __future__ import annotations

import errno
import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest

from warehouse import snapshot
from warehouse.migrate import migrate
from warehouse.prices import SERVING as PRICES
from warehouse.reader import ReaderLimits, SnapshotReader
from warehouse.serving import ServingDomain, ServingTable
from warehouse.snapshot import current, publish, read_manifest

NOW = datetime(2026, 11, 18, 15, 30, tzinfo=UTC)
NEWS = ServingDomain("news", (ServingTable("marts.headlines", asset="headlines", key=("id",)),))
"""A second domain, as the news issue will add one."""


@pytest.fixture
def warehouse(tmp_path: Path) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(str(tmp_path / "wh.duckdb"))
    migrate(con)
    con.execute("CREATE TABLE marts.headlines (id INTEGER, symbol VARCHAR, title VARCHAR)")
    return con


def add_bar(con: duckdb.DuckDBPyConnection, close: float) -> None:
    con.execute(
        "INSERT INTO core.prices_daily VALUES ('A', DATE '2024-01-02' + (SELECT count(*)"
        " FROM core.prices_daily)::INT, 1, 1, 1, ?, ?, 1, NULL, 't', ?, 'r')",
        [close, close, NOW],
    )


def files(directory: Path, domain: str = "prices") -> list[str]:
    return sorted(p.name for p in directory.glob(f"{domain}-*.duckdb"))


def test_publish_copies_the_domain_tables_and_records_the_version(warehouse, tmp_path):
    add_bar(warehouse, 10.0)
    info = publish(warehouse, tmp_path / "snaps", PRICES, run_id="run-1", now=NOW)
    assert current(tmp_path / "snaps") == info
    assert info.tables["core.prices_daily"] == 1 and info.seq == 1
    snap = duckdb.connect(str(tmp_path / "snaps" / info.file), read_only=True)
    assert snap.execute("SELECT version, run_id, domain FROM meta.snapshot").fetchall() == [
        (info.version, "run-1", "prices")
    ]
    names = {f"{s}.{t}" for s, t in snap.execute(
        "SELECT schema_name, table_name FROM duckdb_tables()").fetchall()}
    assert names == {t.name for t in PRICES.tables} | {"meta.snapshot"}  # its own tables only
    assert warehouse.execute("SELECT count(*) FROM meta.snapshot").fetchone() == (1,)


def test_reader_before_first_publish_says_so(tmp_path):
    reader = SnapshotReader(tmp_path / "none")
    assert reader.info() is None
    with pytest.raises(FileNotFoundError, match="no serving snapshot"), reader.cursor():
        pass


def test_pruning_follows_the_sequence_not_the_clock(warehouse, tmp_path):
    directory = tmp_path / "s"
    infos = [publish(warehouse, directory, PRICES, run_id=f"r{i}", keep=2,
                     now=NOW - timedelta(days=i))  # the clock steps back on every publish
             for i in range(5)]
    assert [i.seq for i in infos] == [1, 2, 3, 4, 5]
    assert files(directory) == sorted([infos[3].file, infos[4].file])
    assert current(directory) == infos[4]
    assert not list(directory.glob(".*partial*"))


def test_a_dead_publish_leaves_nothing_behind_after_the_next(warehouse, tmp_path):
    directory = tmp_path / "s"
    first = publish(warehouse, directory, PRICES, run_id="r1", now=NOW)
    # What a publish killed with -9 leaves: a partial file, and a file renamed into place but
    # never named in CURRENT.
    (directory / ".prices-000002-abcdef.partial").write_bytes(b"half a file")
    (directory / "prices-000002-abcdef.duckdb").write_bytes(b"never current")
    reader = SnapshotReader(directory)
    assert reader.info() == first  # readers never see either
    second = publish(warehouse, directory, PRICES, run_id="r2", now=NOW)
    assert second.seq == 3
    assert files(directory) == sorted([first.file, second.file])
    assert not list(directory.glob(".*partial*"))


def test_a_failed_copy_keeps_current_and_removes_its_own_file(warehouse, tmp_path):
    directory = tmp_path / "s"
    first = publish(warehouse, directory, PRICES, run_id="ok", now=NOW)
    broken = ServingDomain("prices", (*PRICES.tables,
                                      ServingTable("marts.not_there", asset="x", key=("id",))))
    with pytest.raises(duckdb.CatalogException, match="not_there"):
        publish(warehouse, directory, broken, run_id="bad", now=NOW)
    assert current(directory) == first
    assert files(directory) == [first.file]
    assert not list(directory.glob(".*partial*"))


def test_a_full_disk_fails_at_once_and_keeps_current(warehouse, tmp_path, monkeypatch):
    directory = tmp_path / "s"
    first = publish(warehouse, directory, PRICES, run_id="ok", now=NOW)

    def full(*_args: object) -> None:
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(snapshot.os, "replace", full)
    with pytest.raises(OSError, match="No space left"):
        publish(warehouse, directory, PRICES, run_id="full", now=NOW)
    monkeypatch.undo()
    assert current(directory) == first
    assert files(directory) == [first.file] and not list(directory.glob(".*partial*"))


def test_domains_publish_apart_and_readers_join_across_them(warehouse, tmp_path):
    directory = tmp_path / "s"
    add_bar(warehouse, 10.0)
    prices = publish(warehouse, directory, PRICES, run_id="p1", now=NOW)
    warehouse.execute("INSERT INTO marts.headlines VALUES (1, 'A', 'A beats estimates')")
    news = publish(warehouse, directory, NEWS, run_id="n1", now=NOW)
    manifest = read_manifest(directory)
    assert manifest is not None and manifest.version == 2
    assert manifest.domains == {"prices": prices, "news": news}
    reader = SnapshotReader(directory)
    with reader.cursor() as cur:
        joined = cur.execute("SELECT h.title, p.close FROM marts.headlines h"
                             " JOIN core.prices_daily p USING (symbol)").fetchall()
    assert joined == [("A beats estimates", 10.0)]
    add_bar(warehouse, 11.0)
    publish(warehouse, directory, PRICES, run_id="p2", now=NOW)  # news is untouched
    assert current(directory, "news") == news
    assert (directory / news.file).exists()
    with reader.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM core.prices_daily").fetchone() == (2,)


def test_reader_keeps_serving_when_current_names_a_pruned_file(warehouse, tmp_path):
    directory = tmp_path / "s"
    add_bar(warehouse, 10.0)
    publish(warehouse, directory, PRICES, run_id="r1", now=NOW)
    reader = SnapshotReader(directory)
    assert reader.info().run_id == "r1"
    add_bar(warehouse, 11.0)
    second = publish(warehouse, directory, PRICES, run_id="r2", now=NOW)
    (directory / second.file).rename(directory / "elsewhere.duckdb")  # gone before it is read
    assert reader.info().run_id == "r1"  # the old connection keeps serving
    with reader.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM core.prices_daily").fetchone() == (1,)
    (directory / "elsewhere.duckdb").rename(directory / second.file)
    manifest = json.loads((directory / "CURRENT").read_text())
    (directory / "CURRENT").write_text(json.dumps(manifest))  # touched: the reader looks again
    assert reader.info().run_id == "r2"


def test_reader_connection_is_limited(warehouse, tmp_path):
    publish(warehouse, tmp_path / "s", PRICES, run_id="r", now=NOW)
    reader = SnapshotReader(tmp_path / "s", ReaderLimits(memory_limit="256MB", threads=1))
    with reader.cursor() as cur:
        limit, threads = cur.execute("SELECT current_setting('memory_limit'),"
                                     " current_setting('threads')").fetchone()
    assert limit == "244.1 MiB" and threads == 1


def test_swap_while_readers_query_never_fails_a_request(warehouse, tmp_path):
    directory = tmp_path / "snaps"
    add_bar(warehouse, 1.0)
    publish(warehouse, directory, PRICES, run_id="r0", now=NOW)
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
        publish(warehouse, directory, PRICES, run_id=f"r{i}", keep=2, now=NOW)
    stop.set()
    for t in threads:
        t.join()
    assert errors == []
    with reader.cursor() as cur:
        assert cur.execute("SELECT count(*) FROM core.prices_daily").fetchone() == (11,)
    assert reader.info().run_id == "r11"
    assert len(seen) > 1  # readers moved to new versions without a restart


def test_a_directory_of_the_first_layout_is_taken_over(warehouse, tmp_path):
    directory = tmp_path / "s"
    directory.mkdir()
    (directory / "snapshot-20261101T060000000000Z-abc123.duckdb").write_bytes(b"old")
    (directory / "CURRENT").write_text(json.dumps({
        "version": "20261101T060000000000Z-abc123", "file": "snapshot-20261101T060000000000Z"
        "-abc123.duckdb", "created_at": "2026-11-01T06:00:00+00:00", "run_id": "r",
        "tables": {}}))
    assert read_manifest(directory) is None and SnapshotReader(directory).info() is None
    info = publish(warehouse, directory, PRICES, run_id="new", now=NOW)
    assert current(directory) == info
    assert sorted(p.name for p in directory.glob("*.duckdb")) == [info.file]


def test_a_failure_after_the_swap_never_deletes_the_file_current_names(warehouse, tmp_path,
                                                                        monkeypatch):
    directory = tmp_path / "s"
    publish(warehouse, directory, PRICES, run_id="r1", now=NOW)
    calls = []

    def fsync_dir(path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:  # the one after CURRENT was replaced
            raise OSError(errno.EIO, "Input/output error")

    monkeypatch.setattr(snapshot, "_fsync_dir", fsync_dir)
    with pytest.raises(OSError, match="Input/output"):
        publish(warehouse, directory, PRICES, run_id="r2", now=NOW)
    monkeypatch.undo()
    served = current(directory)
    assert served is not None and served.run_id == "r2"
    assert (directory / served.file).exists()  # CURRENT never names a missing file
    recorded = warehouse.execute("SELECT run_id FROM meta.snapshot ORDER BY created_at, run_id")
    assert [r for (r,) in recorded.fetchall()] == ["r1", "r2"]


def test_meta_snapshot_lists_only_published_snapshots(warehouse, tmp_path, monkeypatch):
    directory = tmp_path / "s"
    publish(warehouse, directory, PRICES, run_id="ok", now=NOW)
    monkeypatch.setattr(snapshot.os, "replace", lambda *_: (_ for _ in ()).throw(
        OSError(errno.ENOSPC, "No space left on device")))
    with pytest.raises(OSError):
        publish(warehouse, directory, PRICES, run_id="never", now=NOW)
    monkeypatch.undo()
    (directory / ".CURRENT.7.tmp").write_text("{}")  # a manifest a killed publish left
    publish(warehouse, directory, PRICES, run_id="again", now=NOW)
    runs = [r for (r,) in warehouse.execute("SELECT run_id FROM meta.snapshot").fetchall()]
    assert sorted(runs) == ["again", "ok"]
    assert not list(directory.glob(".CURRENT.*"))
