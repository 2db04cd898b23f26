"""Read-only access to the current serving snapshots for a long-lived app process.

The reader attaches every current domain file (``CURRENT`` names them) read-only into one
in-memory DuckDB connection, with a view per table under its usual name
(``core.prices_daily``), so queries join across domains as they would in the warehouse. The
connection's ``memory_limit`` and ``threads`` are bounded: several app workers share the RAM.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import duckdb

from warehouse.serving import IDENTIFIER
from warehouse.snapshot import FILE_NAME, POINTER, Manifest, SnapshotInfo, read_manifest


@dataclass(frozen=True)
class ReaderLimits:
    """DuckDB limits of one app process's snapshot connection (several workers share the RAM)."""

    memory_limit: str = "1GB"
    threads: int = 2


class SnapshotReader:
    """Thread-safe, read-only access to the current snapshots for a long-lived app process.

    Each request calls ``cursor()``; when ``CURRENT`` has moved, the next cursor comes from a
    new connection over the new files, while cursors already handed out keep reading the old
    ones until they close. A file named by ``CURRENT`` that cannot be opened (pruned between
    reading the manifest and attaching it, by a publisher much faster than this reader) is
    retried on the next request; the previous connection keeps serving meanwhile.
    """

    def __init__(self, directory: Path, limits: ReaderLimits | None = None) -> None:
        self.directory = directory
        self.limits = limits or ReaderLimits()
        self._lock = threading.Lock()
        self._stamp: tuple[int, int] | None = None
        self._manifest: Manifest | None = None
        self._con: duckdb.DuckDBPyConnection | None = None

    def manifest(self) -> Manifest | None:
        """What is being served: every domain's snapshot (None before the first publish)."""
        self._refresh()
        return self._manifest

    def info(self, domain: str = "prices") -> SnapshotInfo | None:
        """The snapshot of ``domain`` being served (None when it has none yet)."""
        manifest = self.manifest()
        return None if manifest is None else manifest.domains.get(domain)

    @contextmanager
    def cursor(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-only cursor over the current snapshots of every domain.

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
            manifest = read_manifest(self.directory)
            if manifest is None:
                return
            if self._manifest is None or manifest.version != self._manifest.version:
                try:
                    self._con = self._open(manifest)
                except (duckdb.IOException, duckdb.BinderException, FileNotFoundError):
                    return  # pruned by a faster publisher: keep serving, re-read next time
                self._manifest = manifest
            self._stamp = stamp

    def _open(self, manifest: Manifest) -> duckdb.DuckDBPyConnection:
        """An in-memory connection with each domain's file attached and a view per table."""
        con = duckdb.connect(":memory:", config={
            "memory_limit": self.limits.memory_limit, "threads": self.limits.threads})
        try:
            views: dict[str, str] = {}
            for name, info in sorted(manifest.domains.items()):
                path = self.directory / info.file
                if not IDENTIFIER.match(name) or not FILE_NAME.match(info.file):
                    raise duckdb.BinderException(f"manifest names a bad snapshot {info.file!r}")
                if not path.exists():
                    raise FileNotFoundError(path)
                # identifiers below all matched IDENTIFIER; the path is a bound parameter
                con.execute(f"ATTACH ? AS {name} (READ_ONLY)", [str(path)])
                tables = con.execute(
                    "SELECT schema_name, table_name FROM duckdb_tables() WHERE database_name = ?"
                    " AND NOT (schema_name = 'meta' AND table_name = 'snapshot')",
                    [name]).fetchall()
                for schema, table in tables:
                    if IDENTIFIER.match(schema) and IDENTIFIER.match(table):
                        views[f"{schema}.{table}"] = f"{name}.{schema}.{table}"
            for schema in sorted({v.split(".")[0] for v in views}):
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            for view, source in sorted(views.items()):
                con.execute(f"CREATE VIEW {view} AS SELECT * FROM {source}")  # noqa: S608
        except BaseException:
            con.close()
            raise
        return con

