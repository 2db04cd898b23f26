"""Price assets: the universe, fetched and raw bars, corporate actions, core bars, returns.

The fetch and the write are two steps: ``fetched_prices`` talks to the providers outside the
warehouse writer pool and stages what they returned under the data directory; ``raw_prices``
then writes it into the warehouse in a short pooled step. A provider that hangs holds no writer.
"""

import shutil
import warnings
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from models import clock
from models.instruments import Instrument
from pipelines.metadata import materialized, preview
from pipelines.prices import fetching
from pipelines.resources import POOL, StagingResource, WarehouseResource
from pipelines.settings import Settings
from pipelines.sources.base import PriceSource
from warehouse import prices
from warehouse.instruments import replace_instruments

GROUP = "prices"
OWNERS = ["team:data-eng"]


FOLLOW_INPUTS = dg.AutomationCondition.eager().without(
    dg.AutomationCondition.in_latest_time_window()
)
"""Derived assets follow new inputs in any month (a backfill of 2019 too), not only the latest."""


class FetchConfig(dg.Config):
    refresh: bool = Field(
        False, description="Refetch every symbol over the whole window, not only missing days."
    )


class StoreConfig(dg.Config):
    replace: bool = Field(
        False, description="Let the fetch replace the whole window: stored bars it did not "
                           "return are deleted (otherwise they are kept, and named).",
    )


def window(context: dg.AssetExecutionContext, first_day: date) -> tuple[date, date] | None:
    """The days this run covers: its partition (range), from ``first_day`` to yesterday (UTC).

    Returns:
        ``(start, end)``, or None when the partition holds no complete day yet (the current
        month on its 1st, say): there is nothing to do yet, which is not a failure.
    """
    span = context.partition_time_window
    start = max(span.start.date(), first_day)
    end = min((pd.Timestamp(span.end) - pd.Timedelta(days=1)).date(), clock.yesterday())
    return None if start > end else (start, end)


def nothing_to_do(
    context: dg.AssetExecutionContext,
    first_day: date,
    check_results: list[dg.AssetCheckResult] | None = None,
) -> dg.MaterializeResult:
    """The result of a partition with no complete day: zero rows, and why."""
    keys = context.partition_key_range
    context.log.info(f"{context.asset_key.to_user_string()}: nothing to do yet (partition "
                     f"{keys.start}..{keys.end} has no complete day between {first_day} and "
                     f"{clock.yesterday()})")
    return dg.MaterializeResult(metadata={"dagster/row_count": 0, "nothing_to_do": True},
                                check_results=check_results or [])


def staging_folder(context: dg.AssetExecutionContext, staging: StagingResource) -> Path:
    """This run's staging folder (a re-execution reads what its original run fetched)."""
    return Path(staging.path) / (context.run.root_run_id or context.run.run_id)


def clean_staging(context: dg.AssetExecutionContext, staging: StagingResource) -> None:
    """Delete the staging folders no run can still read: their run and its retries are over
    (a run that died leaves its folder)."""
    root = Path(staging.path)
    ours = staging_folder(context, staging)
    for folder in root.iterdir() if root.is_dir() else []:
        if folder == ours or not folder.is_dir():
            continue
        original = context.instance.get_run_by_id(folder.name)
        retries = context.instance.get_runs(
            filters=dg.RunsFilter(tags={"dagster/root_run_id": folder.name}))
        if all(run.is_finished for run in [*([original] if original else []), *retries]):
            shutil.rmtree(folder, ignore_errors=True)  # no run may read it any more


def build_price_assets(
    settings: Settings, partitions: dg.PartitionsDefinition
) -> list[dg.AssetsDefinition]:
    """The price assets for this universe, partitioned by ``partitions``."""
    warnings.filterwarnings(  # single-run backfills are what we want, beta or not
        "ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning
    )
    universe = settings.instruments()
    first_day = settings.history.start
    common: dict[str, Any] = {"group_name": GROUP, "owners": OWNERS}
    daily: dict[str, Any] = {
        **common,
        "partitions_def": partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
    }

    def by_source(
        equity: PriceSource, crypto: PriceSource
    ) -> list[tuple[str, PriceSource, list[Instrument]]]:
        """(resource name, source, its instruments) for each source resource with work."""
        members = {
            "equity_prices": (equity, [i for i in universe if i.asset_class != "crypto"]),
            "crypto_prices": (crypto, [i for i in universe if i.asset_class == "crypto"]),
        }
        return [(name, source, m) for name, (source, m) in members.items() if m]

    @dg.asset(**common, pool=POOL, kinds={"duckdb"},
              automation_condition=dg.AutomationCondition.eager())
    def instruments(
        context: dg.AssetExecutionContext, warehouse: WarehouseResource
    ) -> dg.MaterializeResult:
        """The tradable universe: symbol, name, asset class, calendar and provider ids."""
        frame = pd.DataFrame([vars(i) for i in universe])
        frame["source"] = [settings.source_for(i) for i in universe]
        with warehouse.connect() as con:
            replace_instruments(con, frame, updated_at=clock.now())
        return materialized(context, {
            "dagster/row_count": len(frame),
            "by_class": frame["asset_class"].value_counts().to_dict(),
            "preview": preview(frame[["symbol", "name", "asset_class", "calendar", "source"]]),
        })

    @dg.asset(**daily, deps=[instruments], kinds={"python"})
    def fetched_prices(
        context: dg.AssetExecutionContext,
        config: FetchConfig,
        warehouse: WarehouseResource,
        staging: StagingResource,
        equity_prices: PriceSource,
        crypto_prices: PriceSource,
    ) -> dg.MaterializeResult:
        """Bars and actions as each provider returned them, staged for the warehouse write.

        Outside the writer pool: plans with a short read-only look at the warehouse (the
        sessions each instrument is missing, and bars a failing check asked to refetch), then
        calls the providers, then stages their answers as Parquet under the data directory.
        A symbol that fails is named; the others still land.
        """
        span = window(context, first_day)
        folder = staging_folder(context, staging)
        clean_staging(context, staging)
        if span is None:
            shutil.rmtree(folder, ignore_errors=True)
            return nothing_to_do(context, first_day)
        start, end = span
        sources = by_source(equity_prices, crypto_prices)
        with warehouse.read() as con:
            plans = [(name, source, fetching.plan(con, source, members, start=start, end=end,
                                                  refresh=config.refresh))
                     for name, source, members in sources]
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        staged = []
        for name, source, planned in plans:
            if planned is not None:
                staged.append(fetching.fetch(source, planned, context.log))
                fetching.stage(folder, name, staged[-1])
        if staged and all(s.source_down for s in staged):
            raise dg.Failure(
                "every source that had work failed as a whole; nothing was fetched",
                metadata={"errors": sorted({f.reason for s in staged for f in s.failures})},
            )
        return materialized(context, {
            "dagster/row_count": sum(len(s.prices) for s in staged),
            "window": f"{start}..{end}",
            "fetches": [f"{s.source}: {len(s.symbols)} symbols {s.start}..{s.end}"
                        for s in staged] or ["nothing missing"],
            "failed": [str(f) for s in staged for f in s.failures],
        })

    @dg.asset(**daily, pool=POOL, kinds={"duckdb"}, deps=[fetched_prices],
              check_specs=[dg.AssetCheckSpec("fetch_complete", asset="raw_prices")])
    def raw_prices(
        context: dg.AssetExecutionContext,
        config: StoreConfig,
        warehouse: WarehouseResource,
        staging: StagingResource,
    ) -> dg.MaterializeResult:
        """Daily bars and corporate actions exactly as each source delivered them.

        Writes this run's staged fetches into the raw layer and ``meta.ingest_log`` in one
        short step. A refetch that returned fewer bars than are stored keeps the stored ones
        and names them, unless the run asks to ``replace``.
        """
        span = window(context, first_day)
        folder = staging_folder(context, staging)
        complete = dg.AssetCheckResult(check_name="fetch_complete", passed=True,
                                       description="Nothing needed fetching.")
        if span is None:
            return nothing_to_do(context, first_day, [complete])
        start, end = span
        if not folder.is_dir():
            raise dg.Failure(
                f"nothing is staged for run {folder.name}: materialise fetched_prices and "
                "raw_prices together (the refresh_prices job does), or re-execute both")
        staged = fetching.staged_fetches(folder)
        with warehouse.connect() as con:
            outcomes = [fetching.store(con, s, run_id=context.run.run_id,
                                       replace=config.replace, log=context.log)
                        for s in staged]
        shutil.rmtree(folder, ignore_errors=True)
        failures = [e for o in outcomes for e in o.failures]
        kept = {s: n for o in outcomes for s, n in o.kept.items()}
        return materialized(
            context,
            {
                "dagster/row_count": sum(o.rows for o in outcomes),
                "window": f"{start}..{end}",
                "symbols_fetched": sum(len(o.entries) for o in outcomes) - len(failures),
                "failed": [f"{e.source}:{e.symbol} {e.start}..{e.end}: {e.message}"
                           for e in failures],
                "kept_stored_bars": kept,
            },
            [
                dg.AssetCheckResult(
                    check_name="fetch_complete",
                    passed=not failures,
                    severity=dg.AssetCheckSeverity.WARN,
                    description="Every symbol that needed data was fetched.",
                    metadata={
                        "failed_symbols": sorted({e.symbol for e in failures}),
                        "found": dg.MetadataValue.json(
                            [{"symbol": e.symbol, "date": f"{e.start}..{e.end}",
                              "reason": e.message} for e in failures[:10]]),
                    },
                )
            ],
        )

    def derived(
        name: str, description: str, deps: list[Any], refresh: Callable[..., dict[str, Any]]
    ) -> dg.AssetsDefinition:
        """A partitioned asset rebuilt from its inputs: ``refresh`` writes, returns metadata."""

        @dg.asset(**daily, pool=POOL, kinds={"duckdb"}, name=name, description=description,
                  deps=deps, automation_condition=FOLLOW_INPUTS)
        def _asset(
            context: dg.AssetExecutionContext, warehouse: WarehouseResource
        ) -> dg.MaterializeResult:
            span = window(context, first_day)
            if span is None:
                return nothing_to_do(context, first_day)
            start, end = span
            with warehouse.connect() as con:
                facts = refresh(con, start=start, end=end)
                sample = prices.window_preview(con, name, start, end)
            return materialized(
                context, {**facts, "window": f"{start}..{end}", "preview": preview(sample)}
            )

        return _asset

    def core_prices(con: Any, **window: Any) -> dict[str, Any]:
        write = prices.refresh_core_prices(con, **window)
        return {"dagster/row_count": write.rows, "rejected_rows": write.rejected,
                "readjusted_symbols": list(write.readjusted)}

    corporate_actions = derived(
        "corporate_actions",
        "Splits (new shares per old) and cash dividends (per share, as traded) by ex-date.",
        [raw_prices],
        lambda con, **w: {"dagster/row_count": prices.refresh_core_actions(con, **w)},
    )
    prices_daily = derived(
        "prices_daily",
        "Clean daily bars per symbol with FinScope's split- and dividend-adjusted close.\n\n"
        "Raw bars without a positive close are rejected (counted). A symbol whose actions "
        "changed in any way (added, removed, corrected) has its whole history re-adjusted.",
        [raw_prices, corporate_actions],
        core_prices,
    )
    returns_daily = derived(
        "returns_daily",
        "Daily simple and log total returns per symbol, from the adjusted close.",
        [prices_daily],
        lambda con, **w: {"dagster/row_count": prices.refresh_returns(con, **w)},
    )

    return [instruments, fetched_prices, raw_prices, corporate_actions, prices_daily,
            returns_daily]
