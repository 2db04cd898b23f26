"""Serving snapshots: per domain, a read-only copy of its tables, swapped in atomically.

Layout of the snapshot directory::

    CURRENT                       JSON manifest: its own version, and per domain the file now served
    prices-000042-3f9a1c.duckdb   one file per published version of a domain (sequence, random tag)
    .lock                         held by a publisher for its whole publish

Publishing a domain (``publish``) copies that domain's tables (and only those) into a new file,
checkpoints it, fsyncs it, renames it into place, fsyncs the directory, and only then rewrites
``CURRENT`` (written to a temporary file, fsynced, ``os.replace``-d, directory fsynced). A
publish that fails or dies at any point leaves ``CURRENT`` as it was; the next publish of that
domain deletes what it left behind (partial files, and files that never became current).
Pruning orders files by their sequence number, never by time, and never deletes a file the
manifest names.

Readers (``warehouse.reader.SnapshotReader``) attach every current file read-only into one
connection. Each file name is new, so DuckDB's one-instance-per-path cache never serves stale
data.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path

import duckdb

from warehouse.serving import ServingDomain

POINTER = "CURRENT"
LOCK = ".lock"
KEEP = 3
"""Files kept per domain: the current one and the newest older ones, for readers still on them."""
FILE_NAME = re.compile(
    r"^(?P<domain>[a-z][a-z0-9_]*)-(?P<seq>\d{6,})-(?P<tag>[0-9a-f]{6})\.duckdb$"
)
"""A published snapshot file: ``<domain>-<sequence>-<random tag>.duckdb``."""


@dataclass(frozen=True)
class SnapshotInfo:
    """One published snapshot of one domain: its version, file, time and the run that made it."""

    version: str
    file: str
    created_at: str
    run_id: str
    tables: dict[str, int]
    domain: str = "prices"
    seq: int = 0


@dataclass(frozen=True)
class Manifest:
    """What ``CURRENT`` says: a version that grows with every publish, and each domain's file."""

    version: int = 0
    domains: dict[str, SnapshotInfo] = field(default_factory=dict)


def read_manifest(directory: Path) -> Manifest | None:
    """The manifest in ``directory``, or None before the first publish."""
    try:
        data = json.loads((directory / POINTER).read_text())
    except FileNotFoundError:
        return None
    if "domains" not in data:  # the single-snapshot pointer of FinScope's first layout
        return None
    return Manifest(
        version=int(data["version"]),
        domains={name: SnapshotInfo(**info) for name, info in data["domains"].items()},
    )


def current(directory: Path, domain: str = "prices") -> SnapshotInfo | None:
    """The snapshot of ``domain`` that ``CURRENT`` names, or None if it has none yet."""
    manifest = read_manifest(directory)
    return None if manifest is None else manifest.domains.get(domain)


def publish(
    con: duckdb.DuckDBPyConnection,
    directory: Path,
    domain: ServingDomain,
    *,
    run_id: str,
    now: datetime,
    keep: int = KEEP,
) -> SnapshotInfo:
    """Copy ``domain``'s tables from the warehouse ``con`` into a new snapshot; make it current.

    Nothing a reader can open changes until the final ``os.replace`` of ``CURRENT``; a failure
    before it leaves the previous snapshots serving. The other domains' files are untouched.

    Returns:
        The new ``SnapshotInfo``; also recorded in ``meta.snapshot`` of the warehouse and of the
        snapshot file.

    Raises:
        OSError: the disk is full or not writable (at once, never retried here).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}")
    directory.mkdir(parents=True, exist_ok=True)
    with _publish_lock(directory):
        manifest = read_manifest(directory) or Manifest()
        served = manifest.domains.get(domain.name)
        seq = 1 + max([served.seq if served else 0,
                       *(s for s, _ in _files(directory, domain.name))])
        _clean_leftovers(directory, domain.name, manifest)
        version = f"{domain.name}-{seq:06d}-{uuid.uuid4().hex[:6]}"
        final = directory / f"{version}.duckdb"
        partial = directory / f".{version}.partial"
        pointer = directory / POINTER
        committed = False
        try:
            counts = _copy(con, partial, domain)
            info = SnapshotInfo(version, final.name, now.isoformat(), run_id, counts,
                                domain.name, seq)
            _record(partial, con, info, now)
            _fsync(partial)
            os.replace(partial, final)
            _fsync_dir(directory)
            domains = {**manifest.domains, domain.name: info}
            committed = _write_manifest(directory, Manifest(manifest.version + 1, domains))
        except BaseException:
            committed = committed or _names(pointer, final.name)
            for path in (partial, partial.with_name(partial.name + ".wal"),
                         *([] if committed else [final])):
                path.unlink(missing_ok=True)  # never the file CURRENT now names
            raise
        finally:
            if committed:
                _record_published(con, info, now)
        _prune(directory, domain.name, info, keep)
        if not manifest.domains:  # files of the first, single-snapshot layout: superseded now
            for legacy in directory.glob("snapshot-*.duckdb*"):
                legacy.unlink(missing_ok=True)
    return info


def _names(pointer: Path, file: str) -> bool:
    """Whether the manifest at ``pointer`` names ``file`` (a swap that did land)."""
    try:
        return file in pointer.read_text()
    except OSError:
        return False


def _copy(con: duckdb.DuckDBPyConnection, partial: Path, domain: ServingDomain) -> dict[str, int]:
    """Write ``domain``'s tables, sorted by their declared order, into a new file at ``partial``.

    Table and column names come from the ``ServingDomain`` declaration, whose identifiers are
    validated when it is constructed; no other text reaches the SQL below.
    """
    counts: dict[str, int] = {}
    con.execute("ATTACH ? AS snap", [str(partial)])
    try:
        for schema in sorted({t.name.split(".")[0] for t in domain.tables} | {"meta"}):
            con.execute(f"CREATE SCHEMA snap.{schema}")
        for table in domain.tables:
            order = f" ORDER BY {', '.join(table.order)}" if table.order else ""
            con.execute(f"CREATE TABLE snap.{table.name} AS SELECT * FROM {table.name}{order}")  # noqa: S608
            row = con.execute(f"SELECT count(*) FROM snap.{table.name}").fetchone()  # noqa: S608
            counts[table.name] = int(row[0]) if row else 0
        con.execute("CREATE TABLE snap.meta.snapshot AS SELECT * FROM meta.snapshot LIMIT 0")
    except BaseException:
        con.execute("DETACH snap")
        raise
    return counts


def _row(info: SnapshotInfo, now: datetime) -> list[object]:
    return [info.version, now, info.run_id, json.dumps(info.tables), info.domain]


def _record(partial: Path, con: duckdb.DuckDBPyConnection, info: SnapshotInfo,
            now: datetime) -> None:
    """Note the snapshot in itself, then checkpoint and detach it."""
    try:
        con.execute("INSERT INTO snap.meta.snapshot VALUES (?, ?, ?, ?, ?)", _row(info, now))
        con.execute("CHECKPOINT snap")
    finally:
        con.execute("DETACH snap")


def _record_published(con: duckdb.DuckDBPyConnection, info: SnapshotInfo, now: datetime) -> None:
    """Note in the warehouse's ``meta.snapshot`` a snapshot that ``CURRENT`` now names."""
    con.execute("INSERT INTO meta.snapshot VALUES (?, ?, ?, ?, ?)", _row(info, now))


@contextmanager
def _publish_lock(directory: Path) -> Iterator[None]:
    """One publisher at a time per snapshot directory (released if the process dies)."""
    with open(directory / LOCK, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _files(directory: Path, domain: str) -> list[tuple[int, Path]]:
    """The published files of ``domain``, as (sequence, path), oldest first."""
    found = []
    for path in directory.glob(f"{domain}-*.duckdb"):
        match = FILE_NAME.match(path.name)
        if match and match["domain"] == domain:
            found.append((int(match["seq"]), path))
    return sorted(found)


def _clean_leftovers(directory: Path, domain: str, manifest: Manifest) -> None:
    """Under the publish lock: delete what dead publishes of ``domain`` left behind.

    That is every partial file of the domain (no other publisher is running), and every
    published file newer than the current one (renamed into place, never named in CURRENT).
    """
    for partial in directory.glob(f".{domain}-*.partial*"):
        partial.unlink(missing_ok=True)
    for tmp in directory.glob(f".{POINTER}.*.tmp"):  # manifests a dead publish never swapped in
        tmp.unlink(missing_ok=True)
    served = manifest.domains.get(domain)
    for seq, path in _files(directory, domain):
        if served is None or seq > served.seq:
            _unlink_snapshot(path)


def _prune(directory: Path, domain: str, served: SnapshotInfo, keep: int) -> None:
    """Keep ``served`` and the ``keep - 1`` newest older files of ``domain``; delete the rest."""
    older = [path for seq, path in _files(directory, domain) if seq < served.seq]
    for path in older[: max(0, len(older) - (keep - 1))]:
        _unlink_snapshot(path)


def _unlink_snapshot(path: Path) -> None:
    path.unlink(missing_ok=True)
    path.with_name(path.name + ".wal").unlink(missing_ok=True)


def _write_manifest(directory: Path, manifest: Manifest) -> bool:
    """Swap in ``manifest`` as ``CURRENT``; True once it is in place (then made durable)."""
    tmp = directory / f".{POINTER}.{manifest.version}.tmp"
    payload = {"version": manifest.version,
               "domains": {name: asdict(info) for name, info in manifest.domains.items()}}
    tmp.write_text(json.dumps(payload, indent=1))
    _fsync(tmp)
    os.replace(tmp, directory / POINTER)
    _fsync_dir(directory)  # if this fails, the swap is visible already: publish keeps the file
    return True


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_dir(directory: Path) -> None:
    """Make renames in ``directory`` durable (a crash after it cannot undo them)."""
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
