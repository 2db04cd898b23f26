"""The code location's shape: lineage, metadata ops rely on, checks, schedule, boundaries."""

from __future__ import annotations

import ast
from datetime import UTC, datetime
from pathlib import Path

import dagster as dg
import pytest

from models import clock
from pipelines.definitions import PRICE_JOB, build_definitions
from pipelines.resources import POOL
from pipelines.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def defs(home) -> dg.Definitions:
    return build_definitions(load_settings(ROOT / "finscope.toml"), home)


def test_asset_graph(defs):
    graph = defs.resolve_asset_graph()
    deps = {
        key.to_user_string(): sorted(p.to_user_string() for p in graph.get(key).parent_keys)
        for key in graph.get_all_asset_keys()
    }
    assert deps == {
        "instruments": [],
        "fetched_prices": ["instruments"],
        "raw_prices": ["fetched_prices"],
        "corporate_actions": ["raw_prices"],
        "prices_daily": ["corporate_actions", "raw_prices"],
        "returns_daily": ["prices_daily"],
        "prices_snapshot": ["corporate_actions", "instruments", "prices_daily", "raw_prices",
                            "returns_daily"],  # from the serving registry's declaration
    }


def test_every_asset_is_documented_grouped_owned_and_writers_pooled(defs):
    for spec in defs.resolve_all_asset_specs():
        name = spec.key.to_user_string()
        assert spec.description and len(spec.description.splitlines()[0]) > 20, name
        assert spec.group_name in {"prices", "serving"}, name
        assert spec.owners, name
        assert spec.kinds, name
    pools = {node.key.to_user_string(): node.pools for node in
             defs.resolve_asset_graph().asset_nodes}
    # Only the fetch (network I/O, no warehouse write) runs outside the writer pool.
    assert pools.pop("fetched_prices") == set()
    assert all(p == {POOL} for p in pools.values()), pools


def test_checks_and_their_blocking(defs):
    graph = defs.resolve_asset_graph()
    checks = {
        f"{key.asset_key.to_user_string()}:{key.name}": graph.get_check_spec(key).blocking
        for key in graph.asset_check_keys
    }
    assert checks == {
        "raw_prices:fetch_complete": False,
        "instruments:unique_keys": True,
        "prices_daily:dividends_below_close": True,
        "prices_daily:unique_keys": True,
        "returns_daily:unique_keys": True,
        "corporate_actions:unique_keys": True,
        "prices_daily:ohlc_consistent": True,
        "prices_daily:no_implausible_jumps": True,
        "prices_daily:no_calendar_gaps": False,
        "prices_daily:not_stale": False,
    }


def test_monthly_partitions_cover_history_and_the_current_month(defs):
    job = defs.resolve_job_def(PRICE_JOB)
    keys = job.partitions_def.get_partition_keys(current_time=clock.now())
    assert keys[0] == "2016-01-01"
    assert keys[-1] == clock.today().replace(day=1).isoformat()
    assert len(keys) < 1_000


def test_schedule_requests_the_previous_day(defs):
    schedule = defs.resolve_schedule_def(f"{PRICE_JOB}_schedule")
    assert schedule.cron_schedule == "0 6 * * *"
    assert schedule.default_status == dg.DefaultScheduleStatus.RUNNING
    for fired, months in ((datetime(2024, 5, 20, 6, tzinfo=UTC), ["2024-05-01"]),
                          (datetime(2024, 6, 1, 6, tzinfo=UTC), ["2024-05-01"]),
                          (datetime(2024, 6, 2, 6, tzinfo=UTC), ["2024-05-01", "2024-06-01"]),
                          (datetime(2024, 6, 4, 6, tzinfo=UTC), ["2024-06-01"])):
        tick = dg.build_schedule_context(scheduled_execution_time=fired,
                                         repository_def=defs.get_repository_def())
        requests = schedule.evaluate_tick(tick).run_requests
        assert [r.partition_key for r in requests] == months, fired


def test_derived_assets_follow_their_inputs_automatically(defs):
    sensor = defs.resolve_sensor_def("derived_assets_automation")
    assert sensor.default_status == dg.DefaultSensorStatus.RUNNING
    automated = {
        spec.key.to_user_string()
        for spec in defs.resolve_all_asset_specs()
        if spec.automation_condition is not None
    }
    # fetched_prices and raw_prices, the roots, run together on the schedule.
    assert automated == {"instruments", "corporate_actions", "prices_daily", "returns_daily",
                         "prices_snapshot"}


def test_automation_requests_the_derived_assets_after_a_fetch(defs, instance):
    """The conditions, evaluated: new raw bars in any month make its derived assets due."""
    month = "2026-10-01"  # not the latest month: a backfill propagates too
    before = dg.evaluate_automation_conditions(defs=defs, instance=instance)
    job = defs.resolve_implicit_global_asset_job_def()
    selection = [dg.AssetKey(k) for k in ("instruments", "fetched_prices", "raw_prices")]
    assert job.execute_in_process(instance=instance, partition_key=month,
                                  asset_selection=selection).success
    result = dg.evaluate_automation_conditions(defs=defs, instance=instance,
                                               cursor=before.cursor)

    def requested(asset: str) -> set[str | None]:
        return set(result.get_requested_partitions(dg.AssetKey(asset)))

    # The whole chain of that month is due, in one run (Dagster orders it by lineage).
    for asset in ("corporate_actions", "prices_daily", "returns_daily"):
        assert requested(asset) == {month}, asset
    assert requested("fetched_prices") == requested("raw_prices") == set()  # roots: schedule


@pytest.mark.parametrize("package, other", [("models", "warehouse"), ("warehouse", "models")])
def test_pure_packages_never_import_dagster_dash_or_each_other(package, other):
    for path in (ROOT / package).rglob("*.py"):
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            names = (
                [a.name for a in node.names] if isinstance(node, ast.Import)
                else [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            )
            for name in names:
                top = name.split(".")[0]
                assert top not in {"dagster", "dash", "pipelines", "dashboards", "finscope",
                                   other}, (path, name)
