"""Price assets: the universe, raw and core daily bars, corporate actions, the returns mart."""

import warnings
from collections.abc import Callable
from datetime import date
from typing import Any

import dagster as dg
import pandas as pd
from pydantic import Field

from models import clock
from pipelines.metadata import materialized, preview
from pipelines.prices.fetching import fetch_and_store
from pipelines.resources import POOL, WarehouseResource
from pipelines.settings import Settings
from pipelines.sources.base import PriceSource
from warehouse import prices
from warehouse.instruments import replace_instruments

GROUP = "prices"
OWNERS = ["team:data-eng"]
FETCH_RETRY = dg.RetryPolicy(
    max_retries=2, delay=15, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS
)


class RawPricesConfig(dg.Config):
    refresh: bool = Field(
        False, description="Refetch every symbol over the whole window, not only missing days."
    )


def window(context: dg.AssetExecutionContext, first_day: date) -> tuple[date, date] | None:
    """The days this run covers: its partition (range), from ``first_day`` to yesterday (UTC).

    Returns:
        ``(start, end)``, or None when the partition holds no complete day yet (the current
        month on its 1st, say): there is nothing to do yet, which is not a failure.
    """
    span = context.partition_time_window
    yesterday = clock.yesterday()
    start = max(span.start.date(), first_day)
    end = min((pd.Timestamp(span.end) - pd.Timedelta(days=1)).date(), yesterday)
    return None if start > end else (start, end)


def nothing_to_do(
    context: dg.AssetExecutionContext,
    first_day: date,
    check_results: list[dg.AssetCheckResult] | None = None,
) -> dg.MaterializeResult:
    """The result of a partition with no complete day: zero rows, and why."""
    context.log.info(f"{context.asset_key.to_user_string()}: nothing to do yet (partition "
                     f"{context.partition_key_range.start}..{context.partition_key_range.end} has "
                     f"no complete day between {first_day} and {clock.yesterday()})")
    return dg.MaterializeResult(metadata={"dagster/row_count": 0, "nothing_to_do": True},
                                check_results=check_results or [])


def build_price_assets(
    settings: Settings,
    partitions: dg.PartitionsDefinition,
    fetch_retry: dg.RetryPolicy = FETCH_RETRY,
) -> list[dg.AssetsDefinition]:
    """The price assets for this universe, partitioned by ``partitions``.

    Args:
        fetch_retry: Dagster's retry of the fetching step (the sources retry each call too).
    """
    warnings.filterwarnings(  # single-run backfills are what we want, beta or not
        "ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning
    )
    universe = settings.instruments()
    first_day = settings.history.start
    common: dict[str, Any] = {"group_name": GROUP, "owners": OWNERS, "pool": POOL}
    daily: dict[str, Any] = {
        **common,
        "partitions_def": partitions,
        "backfill_policy": dg.BackfillPolicy.single_run(),
        "kinds": {"duckdb"},
    }

    @dg.asset(**common, kinds={"duckdb"}, automation_condition=dg.AutomationCondition.eager())
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

    @dg.asset(
        **daily,
        deps=[instruments],
        retry_policy=fetch_retry,
        check_specs=[dg.AssetCheckSpec("fetch_complete", asset="raw_prices")],
    )
    def raw_prices(
        context: dg.AssetExecutionContext,
        config: RawPricesConfig,
        warehouse: WarehouseResource,
        equity_prices: PriceSource,
        crypto_prices: PriceSource,
    ) -> dg.MaterializeResult:
        """Daily bars and corporate actions exactly as each source delivered them.

        Fetches only the sessions each instrument is missing in the window (all of them with
        ``refresh``). A symbol that fails is logged and named; the others still land.
        """
        span = window(context, first_day)
        if span is None:
            return nothing_to_do(context, first_day, [
                dg.AssetCheckResult(check_name="fetch_complete", passed=True,
                                    description="Nothing to fetch yet.")])
        start, end = span
        sources = [
            (equity_prices, [i for i in universe if i.asset_class != "crypto"]),
            (crypto_prices, [i for i in universe if i.asset_class == "crypto"]),
        ]
        now = clock.now()
        with warehouse.connect() as con:
            outcomes = [
                fetch_and_store(con, source, members, start=start, end=end,
                                refresh=config.refresh, run_id=context.run.run_id, now=now,
                                log=context.log)
                for source, members in sources
            ]
        busy = [o for o in outcomes if o.entries]
        if busy and all(o.source_down for o in busy):  # Dagster retries the step, then fails
            raise dg.Failure(
                "every source that had work failed as a whole; nothing was fetched",
                metadata={"errors": sorted({e.message or "" for o in busy for e in o.failures})},
            )
        failures = [e for o in outcomes for e in o.failures]
        return materialized(
            context,
            {
                "dagster/row_count": sum(o.rows for o in outcomes),
                "window": f"{start}..{end}",
                "symbols_fetched": sum(len(o.entries) for o in outcomes) - len(failures),
                "failed": [f"{e.source}:{e.symbol} {e.start}..{e.end}: {e.message}"
                           for e in failures],
            },
            [
                dg.AssetCheckResult(
                    check_name="fetch_complete",
                    passed=not failures,
                    severity=dg.AssetCheckSeverity.WARN,
                    description="Every symbol that needed data was fetched.",
                    metadata={"failed_symbols": sorted({e.symbol for e in failures})},
                )
            ],
        )

    def derived(
        name: str, description: str, deps: list[Any], refresh: Callable[..., dict[str, Any]]
    ) -> dg.AssetsDefinition:
        """A partitioned asset rebuilt from its inputs: ``refresh`` writes, returns metadata."""

        @dg.asset(**daily, name=name, description=description, deps=deps,
                  automation_condition=dg.AutomationCondition.eager())
        def _asset(
            context: dg.AssetExecutionContext, warehouse: WarehouseResource
        ) -> dg.MaterializeResult:
            span = window(context, first_day)
            if span is None:
                return nothing_to_do(context, first_day)
            start, end = span
            with warehouse.connect() as con:
                facts = refresh(con, start=start, end=end, run_id=context.run.run_id,
                                ingested_at=clock.now())
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
        "Raw bars without a positive close are rejected (counted); a new ex-date re-adjusts "
        "that symbol's history.",
        [raw_prices, corporate_actions],
        core_prices,
    )
    returns_daily = derived(
        "returns_daily",
        "Daily simple and log total returns per symbol, from the adjusted close.",
        [prices_daily],
        lambda con, ingested_at, **w: {"dagster/row_count": prices.refresh_returns(con, **w)},
    )

    return [instruments, raw_prices, corporate_actions, prices_daily, returns_daily]
