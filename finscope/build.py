"""``finscope build``: materialise every asset once, in-process, recorded in the instance."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import dagster as dg
import duckdb
from dagster._core.storage.tags import (
    ASSET_PARTITION_RANGE_END_TAG,
    ASSET_PARTITION_RANGE_START_TAG,
)

from models import clock
from pipelines.definitions import PRICE_JOB, build_definitions, monthly_partitions
from pipelines.settings import Settings
from warehouse.paths import DataHome


@dataclass(frozen=True)
class BuildResult:
    success: bool
    run_id: str
    first_partition: str
    last_partition: str
    failed_checks: list[str]
    passed_checks: int = 0


def build(
    settings: Settings,
    home: DataHome,
    *,
    start: date | None = None,
    end: date | None = None,
    refresh: bool = False,
    resources: dict[str, object] | None = None,
    instance: dg.DagsterInstance | None = None,
    fetch_retry: dg.RetryPolicy | None = None,
) -> BuildResult:
    """Run the price job over the months holding ``start..end`` (default: all) as one run.

    Only missing sessions are fetched unless ``refresh``. The run is recorded in the Dagster
    instance (``DAGSTER_HOME``) so the UI shows its materialisations, checks and logs.
    """
    defs = build_definitions(settings, home, resources, *([fetch_retry] if fetch_retry else []))
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
    job = defs.resolve_job_def(PRICE_JOB)
    result = job.execute_in_process(
        instance=instance or dg.DagsterInstance.get(),
        tags={ASSET_PARTITION_RANGE_START_TAG: first, ASSET_PARTITION_RANGE_END_TAG: last},
        run_config={
            "ops": {"raw_prices": {"config": {"refresh": refresh}}},
            # INFO: each asset's one-line summary and every failure; the UI keeps the details
            "loggers": {"console": {"config": {"log_level": "INFO"}}},
        },
        raise_on_error=False,
    )
    evaluations = [e.asset_check_evaluation_data for e in result.all_events
                   if e.event_type_value == "ASSET_CHECK_EVALUATION"]
    failed_checks = [f"{c.asset_key.to_user_string()}:{c.check_name}"
                     for c in evaluations if not c.passed]
    return BuildResult(result.success, result.run_id, first, last, failed_checks,
                       passed_checks=len(evaluations) - len(failed_checks))


def catch_up_start(home: DataHome) -> date | None:
    """The day a refresh must start from: the oldest of each symbol's last stored bar.

    None when there is no warehouse yet (build everything). Older gaps are left to backfills
    and reported by the calendar-gap check.
    """
    if not home.warehouse.exists():
        return None
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        found = con.execute(
            "SELECT min(last) FROM (SELECT max(date) AS last FROM core.prices_daily"
            " GROUP BY symbol)"
        ).fetchone()
    except duckdb.CatalogException:
        return None
    finally:
        con.close()
    return found[0] if found and found[0] else None
