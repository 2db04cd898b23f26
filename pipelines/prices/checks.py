"""Asset checks on the price tables. ERROR checks block the prices snapshot in the same run.

A blocking check that finds bad bars also asks for them to be fetched again
(``meta.refetch``), so that once the source is fixed a plain build repairs them. Every result
carries ``found``: the first violations as JSON (symbol, date and the offending values), which
``finscope build`` prints.
"""


from datetime import timedelta
from typing import Any

import dagster as dg
import pandas as pd

from models import clock
from models.calendars import sessions
from pipelines.resources import POOL, WarehouseResource
from warehouse import checks, prices

STALE_AFTER_SESSIONS = 3
"""A symbol whose last bar is this many sessions behind its calendar's last session is stale."""
MAX_DAILY_RATIO = 10.0
"""An adjusted close moving more than 10x (or to under 1/10) in a day is a unit or data error."""

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _plain(value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return value.date().isoformat() if value == value.normalize() else value.isoformat()
    if hasattr(value, "isoformat"):
        return value.isoformat()
    if isinstance(value, float):
        return round(value, 6)
    return value.item() if hasattr(value, "item") else value


def found_json(sample: pd.DataFrame) -> list[dict[str, Any]]:
    """The sample rows of a result as plain JSON objects."""
    return [{str(k): _plain(v) for k, v in row.items()} for row in sample.to_dict("records")]


def result(found: checks.Violations, severity: dg.AssetCheckSeverity, what: str
           ) -> dg.AssetCheckResult:
    """A check result with the count, a markdown sample and ``found`` (JSON) of ``found``."""
    return dg.AssetCheckResult(
        passed=found.passed,
        severity=severity,
        description=f"{found.count} {what}" if found.count else f"no {what}",
        metadata={
            "violations": found.count,
            "sample": dg.MetadataValue.md(
                found.sample.to_markdown(index=False) if found.count else "_none_"
            ),
            "found": dg.MetadataValue.json(found_json(found.sample)),
        },
    )


def _blocking(context: dg.AssetCheckExecutionContext, con: Any, found: checks.Violations,
              what: str, name: str) -> dg.AssetCheckResult:
    """An ERROR result; the bars it names are queued to be fetched again."""
    if not found.passed and found.bars is not None:
        prices.request_refetch(con, found.bars, reason=name,
                               run_id=context.op_execution_context.run_id,
                               now=clock.now())
    return result(found, ERROR, what)


@dg.asset_check(asset="prices_daily", blocking=True, pool=POOL,
                description="low <= open, close <= high; positive prices; volume >= 0.")
def ohlc_consistent(context: dg.AssetCheckExecutionContext,
                    warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _blocking(context, con, checks.ohlc_violations(con), "inconsistent OHLC bars",
                         "ohlc_consistent")


@dg.asset_check(asset="prices_daily", blocking=True, pool=POOL,
                description=f"No adjusted close moves more than {MAX_DAILY_RATIO:g}x in a day.")
def no_implausible_jumps(context: dg.AssetCheckExecutionContext,
                         warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        found = checks.implausible_jumps(con, MAX_DAILY_RATIO)
        return _blocking(context, con, found, "implausible day-over-day jumps",
                         "no_implausible_jumps")


@dg.asset_check(asset="prices_daily", blocking=True, pool=POOL,
                description="Every dividend is below the previous close (else it cannot be "
                            "applied to adj_close and is almost surely a data error); checked "
                            "once the bars it divides by are in core.")
def dividends_below_close(context: dg.AssetCheckExecutionContext,
                          warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        found = checks.dividends_at_or_above_close(con)
        return _blocking(context, con, found, "dividends at or above the previous close",
                         "dividends_below_close")


@dg.asset_check(asset="prices_daily", pool=POOL,
                description="No session of a symbol's calendar is missing between its first "
                            "and last bar.")
def no_calendar_gaps(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        spans = checks.last_dates(con)
        if spans.empty:
            return result(checks.Violations(0, spans), WARN, "missing sessions")
        expected = pd.concat(
            [
                pd.DataFrame({"calendar": cal, "date": sessions(cal, g.first_date.min(),
                                                                  g.last_date.max())})
                for cal, g in spans.groupby("calendar")
            ]
        )
        return result(checks.calendar_gaps(con, expected), WARN, "missing sessions")


@dg.asset_check(asset="prices_daily", pool=POOL,
                description=f"Every symbol has a bar within {STALE_AFTER_SESSIONS} sessions of "
                            "its calendar's last completed session.")
def not_stale(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        spans = checks.last_dates(con)
    today = clock.today()
    stale = []
    for row in spans.itertuples():
        recent = sessions(row.calendar, today - timedelta(days=40), today - timedelta(days=1))
        due = recent[-STALE_AFTER_SESSIONS] if len(recent) >= STALE_AFTER_SESSIONS else None
        if due is not None and pd.Timestamp(row.last_date) < due:
            stale.append({"symbol": row.symbol, "last_date": row.last_date,
                          "expected_by": due.date()})
    found = checks.Violations(len(stale), pd.DataFrame(stale))
    return result(found, WARN, "stale symbols")


def price_checks() -> list[dg.AssetChecksDefinition]:
    """The price domain's own checks (the key checks come from the serving registry)."""
    return [ohlc_consistent, no_implausible_jumps, dividends_below_close, no_calendar_gaps,
            not_stale]
