"""Read-only data access for the pages: ``warehouse.queries`` over the serving snapshot.

``create_app`` calls ``configure`` once with the snapshot directory; the reader opens nothing
until the first query. Results are cached per snapshot version, so publishing a new snapshot
invalidates every cached frame at once. Cached frames are shared between requests: callers must
not mutate them in place (pandas copy-on-write makes derived frames safe).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any, TypeVar

import pandas as pd

from warehouse import queries
from warehouse.snapshot import SnapshotInfo, SnapshotReader

T = TypeVar("T")

NO_DATA_MESSAGE = (
    "No data published yet — run `finscope build` to ingest prices and publish a snapshot."
)


class NoSnapshotError(RuntimeError):
    """No serving snapshot has been published (or the app was never configured)."""

    def __init__(self, message: str = NO_DATA_MESSAGE) -> None:
        super().__init__(message)


_reader: SnapshotReader | None = None
_version: str | None = None
_lock = threading.Lock()


def configure(snapshot_dir: Path) -> SnapshotReader:
    """Serve the snapshots published in ``snapshot_dir`` (opens nothing yet); clears the cache."""
    global _reader, _version
    with _lock:
        _reader = SnapshotReader(Path(snapshot_dir))
        _version = None
        _cached.cache_clear()
    return _reader


def snapshot() -> SnapshotInfo:
    """The snapshot now being served.

    Raises:
        NoSnapshotError: nothing published yet, or ``configure`` was never called.
    """
    if _reader is None:
        raise NoSnapshotError("The app has no snapshot directory configured (call create_app).")
    info = _reader.info()
    if info is None:
        raise NoSnapshotError()
    return info


def _run(query: Callable[..., T], *args: Any) -> T:
    """``query(cursor, *args)`` on the current snapshot, cached per (version, query, args)."""
    global _version
    version = snapshot().version
    if version != _version:
        with _lock:  # a new snapshot: drop every frame of the old one
            if version != _version:
                _cached.cache_clear()
                _version = version
    return _cached(version, query, args)


@lru_cache(maxsize=256)
def _cached(version: str, query: Callable[..., Any], args: tuple[Any, ...]) -> Any:
    # ``version`` is only the cache key: a publish between snapshot() and cursor() can at
    # worst file the new snapshot's rows under the old key, which is dropped on the next call.
    assert _reader is not None
    try:
        with _reader.cursor() as cur:
            return query(cur, *args)
    except FileNotFoundError as exc:
        raise NoSnapshotError() from exc


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
