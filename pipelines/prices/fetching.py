"""One source's share of a raw-prices run: plan, fetch, store, and say what happened."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from models.instruments import Instrument
from pipelines.prices.planning import plan_fetch
from pipelines.sources.base import PriceBatch, PriceSource, SymbolFailure
from warehouse import ingest_log, prices


@dataclass
class FetchOutcome:
    """What one source delivered: log entries, bars written, and whether it was down."""

    entries: list[ingest_log.IngestEntry] = field(default_factory=list)
    rows: int = 0
    source_down: bool = False

    @property
    def failures(self) -> list[ingest_log.IngestEntry]:
        return [e for e in self.entries if e.status == "failed"]


def fetch_and_store(
    con: duckdb.DuckDBPyConnection,
    source: PriceSource,
    members: Sequence[Instrument],
    *,
    start: date,
    end: date,
    refresh: bool,
    run_id: str,
    now: datetime,
    log: logging.Logger,
) -> FetchOutcome:
    """Fetch the sessions ``members`` are missing (from this source) and store them in raw.

    Bars stored by another source do not count as present, so switching a class from
    ``sample`` to a live provider refetches its history. A source that raises (outage, bad
    credentials) fails every symbol it was asked for, named with the error, instead of
    stopping the other sources; the outcome says so in ``source_down``.
    """
    outcome = FetchOutcome()
    symbols = [i.symbol for i in members]
    present = prices.present_dates(con, symbols, start, end, source=source.source_name)
    plan = plan_fetch(members, present, start, end, refresh=refresh)
    if plan is None:
        return outcome
    log.info(f"{source.source_name}: fetching {len(plan.instruments)} symbols "
             f"{plan.start}..{plan.end}")
    try:
        batch = source.fetch(plan.instruments, plan.start, plan.end)
    except Exception as exc:  # the whole source failed: name it per symbol, keep going
        reason = f"{type(exc).__name__}: {exc}"
        failures = [SymbolFailure(source.source_name, s, plan.start, plan.end, reason)
                    for s in plan.symbols]
        batch = PriceBatch(failures=failures)
        outcome.source_down = True
    failed = {f.symbol for f in batch.failures}
    landed = [s for s in plan.symbols if s not in failed]
    outcome.rows, _ = prices.replace_raw(
        con, batch.prices, batch.actions, symbols=landed, start=plan.start, end=plan.end,
        source=source.source_name, fetched_at=now, run_id=run_id,
    )
    counts = batch.prices["symbol"].value_counts()
    outcome.entries = [
        ingest_log.IngestEntry(source.source_name, s, plan.start, plan.end, "ok",
                               int(counts.get(s, 0)))
        for s in landed
    ] + [
        ingest_log.IngestEntry(f.source, f.symbol, f.start, f.end, "failed",
                               int(counts.get(f.symbol, 0)), f.reason)  # partial rows land
        for f in batch.failures
    ]
    ingest_log.record(con, outcome.entries, run_id=run_id, asset="raw_prices", logged_at=now)
    for e in outcome.failures:
        log.error(f"{e.source}: {e.symbol} {e.start}..{e.end}: {e.message}")
    return outcome
