"""The Dagster code location: the one place that wires settings, resources and assets."""

from __future__ import annotations

import dagster as dg

from pipelines.prices.assets import FETCH_RETRY, build_price_assets
from pipelines.prices.checks import price_checks
from pipelines.resources import WarehouseResource, price_sources
from pipelines.serving.assets import SnapshotDirResource, serving_snapshot
from pipelines.settings import Settings, load_settings
from warehouse.paths import DataHome

PRICE_JOB = "refresh_prices"


def daily_partitions(settings: Settings) -> dg.DailyPartitionsDefinition:
    """One partition per calendar day from the history start to yesterday (UTC)."""
    return dg.DailyPartitionsDefinition(start_date=settings.history.start.isoformat(),
                                        timezone="UTC")


def build_definitions(
    settings: Settings,
    home: DataHome,
    resources: dict[str, object] | None = None,
    fetch_retry: dg.RetryPolicy = FETCH_RETRY,
) -> dg.Definitions:
    """Assets, checks, the daily schedule and resources for ``settings``.

    Args:
        resources: overrides, e.g. a failing or recorded source in tests.
        fetch_retry: retry policy of the fetching step.
    """
    partitions = daily_partitions(settings)
    price_assets = build_price_assets(settings, partitions, fetch_retry)
    job = dg.define_asset_job(
        PRICE_JOB,
        selection=dg.AssetSelection.assets(*price_assets, serving_snapshot),
        partitions_def=partitions,
        description="Fetch the last day's prices, rebuild core and marts, publish the snapshot.",
    )
    schedule = dg.build_schedule_from_partitioned_job(
        job,
        hour_of_day=6,
        minute_of_hour=0,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Every day at 06:00 UTC: the previous day's partition.",
    )
    base: dict[str, object] = {
        "warehouse": WarehouseResource(path=str(home.warehouse)),
        "snapshots": SnapshotDirResource(path=str(home.snapshots)),
        **price_sources(settings),
    }
    return dg.Definitions(
        assets=[*price_assets, serving_snapshot],
        asset_checks=price_checks(),
        jobs=[job],
        schedules=[schedule],
        resources={**base, **(resources or {})},
        executor=dg.in_process_executor,
    )


@dg.definitions
def defs() -> dg.Definitions:
    """Loaded by ``dagster dev`` / the webserver and daemon (settings read at load, not import)."""
    return build_definitions(load_settings(), DataHome.from_env().ensure())
