"""The Dagster code location: the one place that wires settings, resources and assets."""

from datetime import timedelta

import dagster as dg

from pipelines.prices.assets import build_price_assets
from pipelines.prices.checks import price_checks
from pipelines.resources import StagingResource, WarehouseResource, price_sources
from pipelines.serving.assets import SnapshotDirResource, key_checks, serving_assets
from pipelines.settings import Settings, load_settings
from warehouse.paths import DataHome

PRICE_JOB = "refresh_prices"


def monthly_partitions(settings: Settings) -> dg.MonthlyPartitionsDefinition:
    """One partition per calendar month (UTC) from the history start, the current month included.

    Months, not days: ten years is ~130 partitions, so the first build writes a few hundred
    Dagster events instead of ~40,000 (minutes of event-log writes on a small machine) and the
    UI stays quick. Nothing is lost: every run fetches only the sessions each instrument is
    missing inside its month, and the checks find gaps day by day against each calendar.
    """
    first = settings.history.start.replace(day=1)
    return dg.MonthlyPartitionsDefinition(start_date=first.isoformat(), end_offset=1,
                                          timezone="UTC")


CATCH_UP_DAYS = 3
"""The schedule also covers the months of the last few days, so a failed run on the 1st of a
month still gets the previous month's last days on the 2nd and 3rd."""


def daily_refresh_schedule(job_name: str) -> dg.ScheduleDefinition:
    """Every day at 06:00 UTC: the months holding the last few days (only missing days fetched)."""

    @dg.schedule(
        name=f"{job_name}_schedule",
        cron_schedule="0 6 * * *",
        execution_timezone="UTC",
        job_name=job_name,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day at 06:00 UTC: fetch the previous day (and anything missing in "
                    "its month), rebuild core and marts, publish the snapshot.",
    )
    def _schedule(context: dg.ScheduleEvaluationContext) -> list[dg.RunRequest]:
        today = context.scheduled_execution_time.date()
        days = [today - timedelta(days=n) for n in range(CATCH_UP_DAYS, 0, -1)]
        months = sorted({d.replace(day=1) for d in days})
        return [dg.RunRequest(run_key=f"{m}@{today}", partition_key=m.isoformat())
                for m in months]

    return _schedule


def build_definitions(
    settings: Settings,
    home: DataHome,
    resources: dict[str, object] | None = None,
) -> dg.Definitions:
    """Assets, checks, the daily schedule and resources for ``settings``.

    Retries live in one place, the sources' HTTP policy (``pipelines.sources.http``): per
    request, within a total deadline per fetch. Steps are not retried (and runs only when their
    worker died, see dagster.yaml), so a run's worst case is bounded by the sources' deadlines
    (README, "Going live").

    Args:
        resources: overrides, e.g. a failing or recorded source in tests.
    """
    partitions = monthly_partitions(settings)
    price_assets = build_price_assets(settings, partitions)
    snapshots = serving_assets()
    job = dg.define_asset_job(
        PRICE_JOB,
        selection=dg.AssetSelection.assets(*price_assets, *snapshots),
        description="Fetch the last day's prices, rebuild core and marts, publish the snapshot.",
    )
    schedule = daily_refresh_schedule(PRICE_JOB)
    base: dict[str, object] = {
        "warehouse": WarehouseResource(path=str(home.warehouse)),
        "snapshots": SnapshotDirResource(path=str(home.snapshots)),
        "staging": StagingResource(path=str(home.staging)),
        **price_sources(settings),
    }
    return dg.Definitions(
        assets=[*price_assets, *snapshots],
        asset_checks=[*price_checks(), *key_checks()],
        jobs=[job],
        schedules=[schedule],
        sensors=[
            dg.AutomationConditionSensorDefinition(
                "derived_assets_automation",
                target=dg.AssetSelection.all(),
                default_status=dg.DefaultSensorStatus.RUNNING,
                description="Keeps derived assets (core, marts, the snapshots) in step with "
                            "what the schedule, a backfill or a manual run materialises.",
            )
        ],
        resources={**base, **(resources or {})},
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by ``dagster dev`` / the webserver and daemon (settings read at load, not import)."""
    return build_definitions(load_settings(), DataHome.from_env().ensure())
