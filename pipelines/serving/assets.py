"""The serving snapshot the Dash app reads."""

from pathlib import Path

import dagster as dg
from pydantic import Field

from pipelines.metadata import materialized
from pipelines.resources import POOL, WarehouseResource
from warehouse.snapshot import publish

GROUP = "serving"


class SnapshotDirResource(dg.ConfigurableResource):
    """Where serving snapshots are published (read-only for the app)."""

    path: str = Field(description="Directory of the snapshot files and the CURRENT pointer.")


@dg.asset(
    group_name=GROUP,
    owners=["team:data-eng"],
    kinds={"duckdb"},
    pool=POOL,
    deps=["instruments", "prices_daily", "corporate_actions", "returns_daily"],
    automation_condition=dg.AutomationCondition.eager()
    & dg.AutomationCondition.all_deps_blocking_checks_passed(),
)
def serving_snapshot(
    context: dg.AssetExecutionContext,
    warehouse: WarehouseResource,
    snapshots: SnapshotDirResource,
) -> dg.MaterializeResult:
    """The read-only copy of the warehouse that the dashboard serves, swapped in atomically.

    Runs only after the blocking checks of its inputs passed; a failure leaves the previous
    snapshot serving.
    """
    with warehouse.connect() as con:
        info = publish(con, Path(snapshots.path), run_id=context.run.run_id)
    return materialized(context, {
        "version": info.version,
        "file": info.file,
        "created_at": info.created_at,
        "dagster/row_count": sum(info.tables.values()),
        "tables": dg.MetadataValue.json(info.tables),
    })
