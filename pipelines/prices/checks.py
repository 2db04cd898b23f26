"""Asset checks on the price tables. ERROR checks block the serving snapshot in the same run."""

from __future__ import annotations

from datetime import timedelta

import dagster as dg
import pandas as pd

from models import clock
from models.calendars import sessions
from pipelines.resources import POOL, WarehouseResource
from warehouse import checks

STALE_AFTER_SESSIONS = 3
"""A symbol whose last bar is this many sessions behind its calendar's last session is stale."""
MAX_DAILY_RATIO = 10.0
"""An adjusted close moving more than 10x (or to under 1/10) in a day is a unit or data error."""

ERROR, WARN = dg.AssetCheckSeverity.ERROR, dg.AssetCheckSeverity.WARN


def _result(found: checks.Violations, severity: dg.AssetCheckSeverity, what: str):
    return dg.AssetCheckResult(
        passed=found.passed,
        severity=severity,
        description=f"{found.count} {what}" if found.count else f"no {what}",
        metadata={
            "violations": found.count,
            "sample": dg.MetadataValue.md(
                found.sample.to_markdown(index=False) if found.count else "_none_"
            ),
        },
    )


def unique_keys_check(asset: str, table: str) -> dg.AssetChecksDefinition:
    """A blocking check that ``table``'s logical key is unique."""

    @dg.asset_check(asset=asset, name="unique_keys", blocking=True, pool=POOL,
                    description=f"Each key of {table} appears once.")
    def _check(warehouse: WarehouseResource) -> dg.AssetCheckResult:
        with warehouse.connect() as con:
            return _result(checks.duplicate_keys(con, table), ERROR, "duplicate keys")

    return _check


@dg.asset_check(asset="prices_daily", blocking=True, pool=POOL,
                description="low <= open, close <= high; positive prices; volume >= 0.")
def ohlc_consistent(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        return _result(checks.ohlc_violations(con), ERROR, "inconsistent OHLC bars")


@dg.asset_check(asset="prices_daily", blocking=True, pool=POOL,
                description=f"No adjusted close moves more than {MAX_DAILY_RATIO:g}x in a day.")
def no_implausible_jumps(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        found = checks.implausible_jumps(con, MAX_DAILY_RATIO)
    return _result(found, ERROR, "implausible day-over-day jumps")


@dg.asset_check(asset="prices_daily", pool=POOL,
                description="No session of a symbol's calendar is missing between its first "
                            "and last bar.")
def no_calendar_gaps(warehouse: WarehouseResource) -> dg.AssetCheckResult:
    with warehouse.connect() as con:
        spans = checks.last_dates(con)
        if spans.empty:
            return _result(checks.Violations(0, spans), WARN, "missing sessions")
        expected = pd.concat(
            [
                pd.DataFrame({"calendar": cal, "date": sessions(cal, g.first_date.min(),
                                                                  g.last_date.max())})
                for cal, g in spans.groupby("calendar")
            ]
        )
        return _result(checks.calendar_gaps(con, expected), WARN, "missing sessions")


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
    return _result(found, WARN, "stale symbols")


def price_checks() -> list[dg.AssetChecksDefinition]:
    """Every check on the price assets."""
    return [
        unique_keys_check("prices_daily", "core.prices_daily"),
        unique_keys_check("returns_daily", "marts.returns_daily"),
        unique_keys_check("corporate_actions", "core.corporate_actions"),
        ohlc_consistent,
        no_implausible_jumps,
        no_calendar_gaps,
        not_stale,
    ]
