"""``finscope build``: materialise every asset once, in-process, recorded in the instance.

One build is one run of the price job over a range of months. Before it starts, the runs left
by dead builds are repaired; while it runs, :class:`~finscope.runs.BuildWatch` reports waits for
the writer slot and honours SIGINT/SIGTERM (both in :mod:`finscope.runs`). The result names
each failing check; :func:`catch_up_start` says where a refresh of the universe must begin.
"""

from __future__ import annotations

import signal
import time
import uuid
from dataclasses import dataclass, field
from datetime import date

import click
import dagster as dg
import duckdb

from finscope.runs import BuildInterrupted, BuildWatch, Echo, owner_tags, repair_stale_runs
from models import clock
from pipelines.definitions import PRICE_JOB, build_definitions, monthly_partitions
from pipelines.settings import Settings
from warehouse.paths import DataHome

RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"
"""Dagster's documented run tags for one run over a partition range (a single-run backfill)."""
CATCH_UP_LOCK_WAIT_S = 60.0


@dataclass(frozen=True)
class CheckFailure:
    """A failing asset check: what it checks, what it found, and the first few offenders."""

    name: str
    result: str
    found: list[str] = field(default_factory=list)
    checks: str = ""

    def line(self) -> str:
        """``check prices_daily:ohlc_consistent failed: 3 inconsistent OHLC bars: AAPL ...``."""
        found = f": {', '.join(self.found)}" if self.found else ""
        return f"check {self.name} failed: {self.result}{found}"


@dataclass(frozen=True)
class BuildResult:
    success: bool
    run_id: str
    first_partition: str
    last_partition: str
    failed_checks: list[str]
    passed_checks: int = 0
    check_failures: list[CheckFailure] = field(default_factory=list)


def build(
    settings: Settings,
    home: DataHome,
    *,
    start: date | None = None,
    end: date | None = None,
    refresh: bool = False,
    replace: bool = False,
    resources: dict[str, object] | None = None,
    instance: dg.DagsterInstance | None = None,
    echo: Echo = click.echo,
) -> BuildResult:
    """Run the price job over the months holding ``start..end`` (default: all) as one run.

    Only missing sessions are fetched unless ``refresh``; stored bars a fetch did not return
    are kept unless ``replace``. The run is recorded in the Dagster
    instance (``DAGSTER_HOME``) so the UI shows its materialisations, checks and logs.

    Raises:
        ValueError: ``start`` or ``end`` is outside the history.
        BuildInterrupted: SIGINT or SIGTERM arrived during the run.
    """
    defs = build_definitions(settings, home, resources)
    keys = monthly_partitions(settings).get_partition_keys(current_time=clock.now())
    if not keys:
        raise ValueError("no complete day since history.start: nothing to build")
    first = start.replace(day=1).isoformat() if start else keys[0]
    # Default: up to the month holding yesterday (on the 1st the current month has no day yet).
    last = (end or clock.yesterday()).replace(day=1).isoformat()
    for name, key in (("start", first), ("end", last)):
        if key not in keys:
            raise ValueError(f"--{name}: month {key[:7]} is outside the history "
                             f"{keys[0][:7]}..{keys[-1][:7]}")
    instance = instance or dg.DagsterInstance.get()
    repair_stale_runs(instance, echo)
    run_id = str(uuid.uuid4())
    job = defs.resolve_job_def(PRICE_JOB)
    with BuildWatch(instance, run_id, echo) as watch:
        try:
            result = job.execute_in_process(
                instance=instance,
                run_id=run_id,
                tags={RANGE_START_TAG: first, RANGE_END_TAG: last, **owner_tags()},
                run_config={
                    "ops": {"fetched_prices": {"config": {"refresh": refresh}},
                            "raw_prices": {"config": {"replace": replace}}},
                    # INFO: each asset's one-line summary and every failure; the UI has details
                    "loggers": {"console": {"config": {"log_level": "INFO"}}},
                },
                raise_on_error=False,
            )
        except KeyboardInterrupt:  # a signal before or after Dagster's own handling
            watch.signum = watch.signum or signal.SIGINT
    if watch.signum is not None:
        raise BuildInterrupted(watch.signum, run_id)
    graph = defs.resolve_asset_graph()
    evaluations = result.get_asset_check_evaluations()
    failures = [_check_failure(e, graph.get_check_spec(e.asset_check_key).description or "")
                for e in evaluations if not e.passed]
    return BuildResult(result.success, result.run_id, first, last, [f.name for f in failures],
                       passed_checks=len(evaluations) - len(failures), check_failures=failures)


def _check_failure(evaluation: dg.AssetCheckEvaluation, checks: str) -> CheckFailure:
    """The failure with the symbols and dates of its ``found`` metadata (first few offenders)."""
    found = evaluation.metadata.get("found")
    rows = found.value if isinstance(found, dg.JsonMetadataValue) else None
    named = [" ".join(str(row[k]) for k in ("symbol", "date") if row.get(k) is not None)
             for row in rows or [] if isinstance(row, dict)]
    count = evaluation.metadata.get("violations")
    shown = [n for n in named if n]
    if shown and isinstance(count, dg.IntMetadataValue) and (count.value or 0) > len(shown):
        shown.append(f"... ({count.value} in all)")
    name = f"{evaluation.asset_key.to_user_string()}:{evaluation.check_name}"
    return CheckFailure(name, evaluation.description or "failed", shown, checks)


class WarehouseLocked(RuntimeError):
    """The warehouse stayed locked by another process longer than a catch-up may wait."""


@dataclass(frozen=True)
class StoredBars:
    """What a catch-up needs to know: each (symbol, source)'s last bar, pending refetches."""

    last: dict[tuple[str, str], date]
    earliest_refetch: date | None


def catch_up_start(
    home: DataHome,
    settings: Settings,
    *,
    lock_wait_s: float = CATCH_UP_LOCK_WAIT_S,
    echo: Echo = click.echo,
) -> date | None:
    """The day a refresh must start from: the oldest last stored bar of the universe's symbols
    (from each one's configured source), or the earliest bar a failing check asked to refetch.

    Symbols no longer in the settings do not count. None (build from the history start) when
    there is no warehouse yet, or a symbol has no bar yet from its configured source (a new
    symbol, or a class switched to another source). Older gaps are left to backfills and the
    calendar-gap check.

    Raises:
        WarehouseLocked: another process held the warehouse for longer than ``lock_wait_s``.
    """
    if not home.warehouse.exists():
        return None
    stored = _stored_bars(home, lock_wait_s, echo)
    if stored is None or not stored.last:
        return None
    ends = [stored.last.get((i.symbol, settings.source_for(i))) for i in settings.instruments()]
    if not ends or None in ends:
        return None
    start = min(d for d in ends if d is not None)
    return min(start, stored.earliest_refetch or start)


def _stored_bars(home: DataHome, lock_wait_s: float, echo: Echo) -> StoredBars | None:
    """The warehouse's last bars and pending refetches; waits (bounded) while a step holds it.

    Returns:
        None when the warehouse has no price table yet.

    Raises:
        WarehouseLocked: still locked after ``lock_wait_s``.
    """
    deadline = time.monotonic() + lock_wait_s
    said = False
    while True:
        try:
            con = duckdb.connect(str(home.warehouse), read_only=True)
            break
        except duckdb.IOException as exc:
            if "lock" not in str(exc).lower():
                raise
            if time.monotonic() >= deadline:
                raise WarehouseLocked(
                    f"the warehouse is still locked by another process after {lock_wait_s:g}s "
                    "(a Dagster run?); try again when it is done") from None
            if not said:
                said = True
                echo("finscope: the warehouse is locked by another process (a Dagster step?); "
                     f"waiting up to {lock_wait_s:g}s to read its last stored bars")
            time.sleep(0.5)
    try:
        rows = con.execute(
            "SELECT symbol, source, max(date) FROM core.prices_daily GROUP BY ALL"
        ).fetchall()
        try:
            refetch = con.execute("SELECT min(date) FROM meta.refetch").fetchall()[0][0]
        except duckdb.CatalogException:  # a warehouse from before the refetch queue
            refetch = None
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return StoredBars({(symbol, source): last for symbol, source, last in rows}, refetch)
