"""The serving snapshot: a read-only copy of the tables the app needs, swapped in atomically.

Publishing writes ``snapshot-<version>.duckdb`` beside the previous ones, checkpoints and
fsyncs it, then points ``CURRENT`` (a small JSON file replaced with ``os.replace``) at it.
Readers resolve ``CURRENT`` on every request and open each version once, read-only; a version
has its own file name, so DuckDB's one-instance-per-path cache never serves stale data.
"""

from __future__ import annotations

import contextlib
import json
import os
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

SERVING_TABLES: tuple[str, ...] = (
    "core.instruments",
    "core.prices_daily",
    "core.corporate_actions",
    "marts.returns_daily",
    "meta.ingest_log",
)
"""Tables copied into every snapshot; rows sorted by their key so symbol filters prune well."""

_SORT_KEYS = {
    "core.prices_daily": "symbol, date",
    "marts.returns_daily": "symbol, date",
    "core.corporate_actions": "symbol, ex_date",
}
POINTER = "CURRENT"
STALE_PARTIAL_S = 3600.0
"""A partial snapshot file untouched this long belongs to a run that died: prune it."""
KEEP = 3


@dataclass(frozen=True)
class SnapshotInfo:
    """One published snapshot: its version, file, time and the run that made it."""

    version: str
    file: str
    created_at: str
    run_id: str
    tables: dict[str, int]


def publish(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    *,
    run_id: str,
    tables: tuple[str, ...] = SERVING_TABLES,
    keep: int = KEEP,
) -> SnapshotInfo:
    """Copy ``tables`` from the warehouse ``con`` into a new snapshot and make it current.

    Nothing a reader can open changes until the final ``os.replace`` of the pointer; a failure
    before it leaves the previous snapshot serving. Snapshots beyond the newest ``keep`` are
    deleted (readers that still have one open keep reading it).

    Returns:
        The new snapshot's ``SnapshotInfo``; also recorded in ``meta.snapshot`` of both files.
    """
    unknown = [t for t in tables if t not in SERVING_TABLES]
    if unknown:  # identifiers below come only from the fixed SERVING_TABLES list
        raise ValueError(f"{unknown[0]!r} is not a serving table")
    directory.mkdir(parents=True, exist_ok=True)
    now = datetime.now(UTC)
    version = f"{now:%Y%m%dT%H%M%S%fZ}-{uuid.uuid4().hex[:6]}"
    final = directory / f"snapshot-{version}.duckdb"
    partial = directory / f".snapshot-{version}.partial"
    counts: dict[str, int] = {}
    con.execute("ATTACH ? AS snap", [str(partial)])
    try:
        for schema in sorted({t.split(".")[0] for t in (*tables, "meta.snapshot")}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS snap.{schema}")
        for table in tables:
            order = f" ORDER BY {_SORT_KEYS[table]}" if table in _SORT_KEYS else ""
            con.execute(f"CREATE TABLE snap.{table} AS SELECT * FROM {table}{order}")  # noqa: S608
            row = con.execute(f"SELECT count(*) FROM snap.{table}").fetchone()  # noqa: S608
            counts[table] = int(row[0]) if row else 0
        info = SnapshotInfo(version, final.name, now.isoformat(), run_id, counts)
        con.execute("CREATE TABLE snap.meta.snapshot AS SELECT * FROM meta.snapshot LIMIT 0")
        for target in ("snap.meta.snapshot", "meta.snapshot"):
            con.execute(
                f"INSERT INTO {target} VALUES (?, ?, ?, ?)",  # noqa: S608 fixed names
                [version, now, run_id, json.dumps(counts)],
            )
    except BaseException:
        con.execute("DETACH snap")
        partial.unlink(missing_ok=True)
        raise
    con.execute("DETACH snap")
    _fsync(partial)
    os.replace(partial, final)
    _write_pointer(directory, info)
    _prune(directory, keep)
    return info


def current(directory: Path) -> SnapshotInfo | None:
    """The snapshot ``CURRENT`` points at, or None before the first publish."""
    try:
        data = json.loads((directory / POINTER).read_text())
    except FileNotFoundError:
        return None
    return SnapshotInfo(**data)


class SnapshotReader:
    """Thread-safe, read-only access to the current snapshot for a long-lived app process.

    Each request calls ``cursor()``; when ``CURRENT`` has moved, the next cursor comes from the
    new file while cursors already handed out keep reading the old one until they close.
    """

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._info: SnapshotInfo | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    def info(self) -> SnapshotInfo | None:
        """The snapshot now being served (None when nothing is published yet)."""
        self._refresh()
        return self._info

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only cursor over the current snapshot.

        Raises:
            FileNotFoundError: no snapshot has been published yet.
        """
        self._refresh()
        with self._lock:
            if self._con is None:
                raise FileNotFoundError(f"no serving snapshot in {self.directory} yet")
            cur = self._con.cursor()
        try:
            yield cur
        finally:
            cur.close()

    def _refresh(self) -> None:
        try:
            st = os.stat(self.directory / POINTER)
        except FileNotFoundError:
            return
        stamp = (st.st_ino, st.st_mtime_ns)
        if stamp == self._stamp:
            return
        with self._lock:
            if stamp == self._stamp:
                return
            info = current(self.directory)
            if info is None:
                return
            if self._info is None or info.version != self._info.version:
                try:
                    self._con = duckdb.connect(str(self.directory / info.file), read_only=True)
                except duckdb.IOException:
                    return  # pruned by a faster publisher: keep serving, re-read next time
                self._info = info
            self._stamp = stamp


def _write_pointer(directory: Path, info: SnapshotInfo) -> None:
    tmp = directory / f".{POINTER}.{info.version}.tmp"
    tmp.write_text(json.dumps(asdict(info)))
    _fsync(tmp)
    os.replace(tmp, directory / POINTER)


def _prune(directory: Path, keep: int) -> None:
    """Delete all but the newest ``keep`` snapshots, and partial files of runs that died."""
    files = sorted(directory.glob("snapshot-*.duckdb"))
    for old in files[:-keep]:
        old.unlink(missing_ok=True)
        old.with_name(old.name + ".wal").unlink(missing_ok=True)
    stale = time.time() - STALE_PARTIAL_S
    for partial in directory.glob(".snapshot-*.partial*"):
        with contextlib.suppress(FileNotFoundError):
            if partial.stat().st_mtime < stale:
                partial.unlink()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
