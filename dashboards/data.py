"""Read-only data access for the pages: ``warehouse.queries`` over the serving snapshot.

``create_app`` calls ``configure`` once with the snapshot directory; the reader opens nothing
until the first query. Results are cached per manifest version, so publishing a new snapshot of
any domain invalidates every cached frame at once. The cache is bounded in bytes (the frames'
deep memory size), not in entries, so a few wide frames cannot exhaust a worker. Cached frames
are shared between requests: callers must not mutate them in place (pandas copy-on-write makes
derived frames safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd
from cachetools import LRUCache

from warehouse import queries
from warehouse.reader import ReaderLimits, SnapshotReader
from warehouse.snapshot import SnapshotInfo

T = TypeVar("T")

NO_DATA_MESSAGE = (
    "No data published yet — run `finscope build` to ingest prices and publish a snapshot."
)


class NoSnapshotError(RuntimeError):
    """No serving snapshot has been published (or the app was never configured)."""

    def __init__(self, message: str = NO_DATA_MESSAGE) -> None:
        super().__init__(message)


CACHE_BYTES = 256 * 2**20
"""Default bound of the per-process result cache: 256 MiB of frames."""


def result_size(value: Any) -> int:
    """Bytes a cached result holds: a frame's deep memory usage, a small object's nominal 1 KiB."""
    if isinstance(value, pd.DataFrame):
        return int(value.memory_usage(index=True, deep=True).sum()) + 1024
    return 1024


_reader: SnapshotReader | None = None
_version: int | None = None
_lock = threading.Lock()
_cache: LRUCache[tuple[Any, ...], Any] = LRUCache(maxsize=CACHE_BYTES, getsizeof=result_size)


def configure(
    snapshot_dir: Path, *, limits: ReaderLimits | None = None, cache_bytes: int = CACHE_BYTES
) -> SnapshotReader:
    """Serve the snapshots published in ``snapshot_dir`` (opens nothing yet); clears the cache.

    Args:
        limits: DuckDB ``memory_limit`` and ``threads`` of this process's reader.
        cache_bytes: bound of the result cache, in bytes.
    """
    global _reader, _version, _cache
    with _lock:
        _reader = SnapshotReader(Path(snapshot_dir), limits)
        _version = None
        _cache = LRUCache(maxsize=cache_bytes, getsizeof=result_size)
    return _reader


def _the_reader() -> SnapshotReader:
    if _reader is None:
        raise NoSnapshotError("The app has no snapshot directory configured (call create_app).")
    return _reader


def snapshot(domain: str = "prices") -> SnapshotInfo:
    """The snapshot of ``domain`` now being served.

    Raises:
        NoSnapshotError: nothing published yet, or ``configure`` was never called.
    """
    info = _the_reader().info(domain)
    if info is None:
        raise NoSnapshotError()
    return info


def cache_bytes() -> int:
    """Bytes the result cache holds now."""
    return int(_cache.currsize)


def _run(query: Callable[..., T], *args: Any) -> T:
    """``query(cursor, *args)`` on the current snapshots, cached per (version, query, args)."""
    global _version
    reader = _the_reader()
    manifest = reader.manifest()
    if manifest is None:
        raise NoSnapshotError()
    if manifest.version != _version:
        with _lock:  # a new snapshot: drop every frame of the old one
            if manifest.version != _version:
                _cache.clear()
                _version = manifest.version
    key = (manifest.version, query, args)
    with _lock:
        if key in _cache:
            return _cache[key]
    # ``version`` is only the cache key: a publish between manifest() and cursor() can at
    # worst file the new snapshot's rows under the old key, which is dropped on the next call.
    try:
        with reader.cursor() as cur:
            value = query(cur, *args)
    except FileNotFoundError as exc:
        raise NoSnapshotError() from exc
    with _lock:
        if result_size(value) <= _cache.maxsize:
            _cache[key] = value
    return value


def _symbols(symbols: Sequence[str]) -> tuple[str, ...]:
    return tuple(sorted(set(symbols)))


def instruments() -> pd.DataFrame:
    """``warehouse.queries.instruments`` on the current snapshot."""
    return _run(queries.instruments)


def as_of() -> pd.DataFrame:
    """``warehouse.queries.as_of`` on the current snapshot."""
    return _run(queries.as_of)


def summary() -> queries.Summary:
    """``warehouse.queries.summary`` on the current snapshot."""
    return _run(queries.summary)


def movers(n: int = 5) -> pd.DataFrame:
    """``warehouse.queries.movers`` on the current snapshot."""
    return _run(queries.movers, int(n))


def date_bounds(symbols: Sequence[str] | None = None) -> queries.DateBounds:
    """``warehouse.queries.date_bounds`` on the current snapshot (all symbols when None)."""
    return _run(queries.date_bounds, None if symbols is None else _symbols(symbols))


def price_history(symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """``warehouse.queries.price_history`` on the current snapshot."""
    return _run(queries.price_history, _symbols(symbols), start, end)


def returns(symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """``warehouse.queries.returns`` on the current snapshot."""
    return _run(queries.returns, _symbols(symbols), start, end)


def corporate_actions(symbols: Sequence[str], start: date, end: date) -> pd.DataFrame:
    """``warehouse.queries.corporate_actions`` on the current snapshot."""
    return _run(queries.corporate_actions, _symbols(symbols), start, end)
