"""Serving snapshots: one asset per domain of the registry, and the key checks it declares.

Everything here is derived from ``warehouse.registry.DOMAINS``: the ``<domain>_snapshot``
assets, their dependencies (the assets that write the domain's tables) and the blocking
unique-key checks of every table with a declared key. A blocking check that fails holds back
its own domain's snapshot only.
"""

from pathlib import Path

import dagster as dg
from pydantic import Field

from models import clock
from pipelines.metadata import materialized
from pipelines.prices.checks import result
from pipelines.resources import POOL, WarehouseResource
from warehouse import checks
from warehouse.registry import DOMAINS
from warehouse.serving import ServingDomain, ServingTable
from warehouse.snapshot import publish

GROUP = "serving"


class SnapshotDirResource(dg.ConfigurableResource):
    """Where serving snapshots are published (read-only for the app)."""

    path: str = Field(description="Directory of the snapshot files and the CURRENT manifest.")


def snapshot_asset(domain: ServingDomain) -> dg.AssetsDefinition:
    """The ``<domain>_snapshot`` asset: publishes the domain's tables once its checks pass."""

    @dg.asset(
        name=f"{domain.name}_snapshot",
        group_name=GROUP,
        owners=["team:data-eng"],
        kinds={"duckdb"},
        pool=POOL,
        deps=domain.assets,
        automation_condition=dg.AutomationCondition.eager()
        & dg.AutomationCondition.all_deps_blocking_checks_passed(),
        description=(
            f"The read-only copy of the {domain.name} tables that the dashboard serves "
            f"({', '.join(t.name for t in domain.tables)}), swapped in atomically.\n\n"
            "Runs only after the blocking checks of its inputs passed; a failure leaves the "
            "previous snapshot serving, and other domains publish as usual."
        ),
    )
    def _snapshot(
        context: dg.AssetExecutionContext,
        warehouse: WarehouseResource,
        snapshots: SnapshotDirResource,
    ) -> dg.MaterializeResult:
        with warehouse.connect() as con:
            info = publish(con, Path(snapshots.path), domain, run_id=context.run.run_id,
                           now=clock.now())
        return materialized(context, {
            "version": info.version,
            "file": info.file,
            "created_at": info.created_at,
            "dagster/row_count": sum(info.tables.values()),
            "tables": dg.MetadataValue.json(info.tables),
        })

    return _snapshot


def unique_keys_check(table: ServingTable, name: str = "unique_keys") -> dg.AssetChecksDefinition:
    """A blocking check that ``table``'s declared key is unique."""

    @dg.asset_check(asset=table.asset, name=name, blocking=True, pool=POOL,
                    description=f"Each ({', '.join(table.key)}) of {table.name} appears once.")
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            return result(checks.duplicate_keys(con, table), dg.AssetCheckSeverity.ERROR,
                          "duplicate keys")

    return _check


def serving_assets(domains: tuple[ServingDomain, ...] = DOMAINS) -> list[dg.AssetsDefinition]:
    """One snapshot asset per domain."""
    return [snapshot_asset(d) for d in domains]


def key_checks(domains: tuple[ServingDomain, ...] = DOMAINS) -> list[dg.AssetChecksDefinition]:
    """The unique-key check of every keyed serving table: ``unique_keys`` on its asset, or
    ``unique_<table>_keys`` where one asset writes several keyed tables."""
    tables = [t for d in domains for t in d.tables if t.key]
    shared = {t.asset for t in tables if sum(u.asset == t.asset for u in tables) > 1}
    return [unique_keys_check(t, f"unique_{t.name.split('.')[1]}_keys" if t.asset in shared
                              else "unique_keys") for t in tables]
