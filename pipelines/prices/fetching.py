"""One source's share of a price run: plan and fetch (no warehouse writer), then store (short).

A run first plans and fetches every source outside the writer pool, staging what came back as
Parquet files under the data directory (``stage``); only then does a short pooled step write
the staged bars into the warehouse (``store``). A provider that hangs holds no writer slot.
"""

from __future__ import annotations

import json
import logging
import shutil
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime
from pathlib import Path

import duckdb
import pandas as pd

from models import clock
from models.instruments import Instrument
from pipelines.prices.planning import FetchPlan, plan_fetch
from pipelines.sources.base import PriceBatch, PriceSource, SymbolFailure
from warehouse import ingest_log, prices


def plan(
    con: duckdb.DuckDBPyConnection | None,
    source: PriceSource,
    members: Sequence[Instrument],
    *,
    start: date,
    end: date,
    refresh: bool,
) -> FetchPlan | None:
    """The fetch ``source`` must make for ``members`` on ``start..end`` (None: nothing).

    Bars stored by another source do not count as present, so switching a class from
    ``sample`` to a live provider refetches its history; bars a failing check named
    (``meta.refetch``) are fetched again. ``con`` None means an empty warehouse.
    """
    symbols = [i.symbol for i in members]
    if con is None:
        empty = pd.DataFrame({"symbol": [], "date": []})
        return plan_fetch(members, empty, start, end, refresh=refresh)
    present = prices.present_dates(con, symbols, start, end, source=source.source_name)
    forced = prices.refetch_requests(con, symbols, start, end)
    return plan_fetch(members, present, start, end, refresh=refresh, forced=forced)


@dataclass
class Staged:
    """One source's fetch, as staged between the fetching step and the writing step."""

    source: str
    start: date
    end: date
    symbols: list[str]
    fetched_at: datetime
    source_down: bool = False
    failures: list[SymbolFailure] = field(default_factory=list)
    prices: pd.DataFrame = field(default_factory=pd.DataFrame)
    actions: pd.DataFrame = field(default_factory=pd.DataFrame)


def fetch(source: PriceSource, planned: FetchPlan, log: logging.Logger) -> Staged:
    """Call the source for ``planned``; the result is stamped with when the source answered.

    A source that raises (outage, bad credentials) fails every symbol it was asked for, named
    with the error, instead of stopping the others.
    """
    log.info(f"{source.source_name}: fetching {len(planned.instruments)} symbols "
             f"{planned.start}..{planned.end}")
    down = False
    try:
        batch = source.fetch(planned.instruments, planned.start, planned.end)
    except Exception as exc:  # the whole source failed: name it per symbol, keep going
        reason = f"{type(exc).__name__}: {exc}"
        batch = PriceBatch(failures=[SymbolFailure(source.source_name, s, planned.start,
                                                   planned.end, reason)
                                     for s in planned.symbols])
        down = True
    answered = clock.now()
    for failure in batch.failures:
        log.error(str(failure))
    return Staged(source.source_name, planned.start, planned.end, planned.symbols, answered,
                  down, batch.failures, batch.prices, batch.actions)


def stage(folder: Path, name: str, staged: Staged) -> None:
    """Write ``staged`` under ``folder / name`` (one per source resource), replacing it."""
    target = folder / name
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    staged.prices.to_parquet(target / "prices.parquet", index=False)
    staged.actions.to_parquet(target / "actions.parquet", index=False)
    meta = {"source": staged.source, "start": staged.start.isoformat(),
            "end": staged.end.isoformat(), "symbols": staged.symbols,
            "fetched_at": staged.fetched_at.isoformat(), "source_down": staged.source_down,
            "failures": [{**asdict(f), "start": f.start.isoformat(), "end": f.end.isoformat()}
                         for f in staged.failures]}
    (target / "fetch.json").write_text(json.dumps(meta))  # written last: marks it complete


def staged_fetches(folder: Path) -> list[Staged]:
    """Every complete fetch staged under ``folder``, in name order."""
    out = []
    for meta_file in sorted(folder.glob("*/fetch.json")):
        meta = json.loads(meta_file.read_text())
        failures = [SymbolFailure(f["source"], f["symbol"], date.fromisoformat(f["start"]),
                                  date.fromisoformat(f["end"]), f["reason"])
                    for f in meta["failures"]]
        out.append(Staged(
            meta["source"], date.fromisoformat(meta["start"]), date.fromisoformat(meta["end"]),
            meta["symbols"], datetime.fromisoformat(meta["fetched_at"]), meta["source_down"],
            failures, pd.read_parquet(meta_file.parent / "prices.parquet"),
            pd.read_parquet(meta_file.parent / "actions.parquet"),
        ))
    return out


@dataclass
class StoreOutcome:
    """What storing one source's fetch did: log entries, bars written and kept."""

    entries: list[ingest_log.IngestEntry]
    rows: int
    kept: dict[str, int]
    source_down: bool

    @property
    def failures(self) -> list[ingest_log.IngestEntry]:
        return [e for e in self.entries if e.status == "failed"]


def store(
    con: duckdb.DuckDBPyConnection, staged: Staged, *, run_id: str, replace: bool,
    log: logging.Logger,
) -> StoreOutcome:
    """Write one staged fetch into the raw layer and the ingest log.

    Provenance is the fetch's: ``fetched_at`` is when the source answered, ``run_id`` the run
    that fetched. A symbol whose fetch returned fewer bars than are stored keeps the stored
    ones (named in the log) unless ``replace``.
    """
    failed = {f.symbol for f in staged.failures}
    landed = [s for s in staged.symbols if s not in failed]
    write = prices.replace_raw(
        con, staged.prices, staged.actions, symbols=landed, start=staged.start, end=staged.end,
        source=staged.source, fetched_at=staged.fetched_at, run_id=run_id, replace=replace,
    )
    _, dropped = prices.settle_refetch(con, staged.prices, symbols=landed, start=staged.start,
                                       end=staged.end)
    if dropped:
        log.warning(f"{staged.source}: deleted {dropped} stored bar(s) that a failing check "
                    "named and the source no longer returns")
    counts = staged.prices["symbol"].value_counts()
    entries = [
        ingest_log.IngestEntry(staged.source, s, staged.start, staged.end, "ok",
                               int(counts.get(s, 0)), _kept_note(write.kept.get(s, 0)))
        for s in landed
    ] + [
        ingest_log.IngestEntry(f.source, f.symbol, f.start, f.end, "failed",
                               int(counts.get(f.symbol, 0)), f.reason)  # partial rows land
        for f in staged.failures
    ]
    ingest_log.record(con, entries, run_id=run_id, asset="raw_prices", logged_at=staged.fetched_at)
    for symbol, n in write.kept.items():
        log.warning(f"{staged.source}: {symbol}: {_kept_note(n)}")
    return StoreOutcome(entries, write.bars, write.kept, staged.source_down)


def _kept_note(kept: int) -> str | None:
    if not kept:
        return None
    return (f"kept {kept} stored bar(s) this fetch did not return (run with --replace to "
            "drop them)")
