"""The price job materialised for real on a temporary warehouse with the sample source."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta

import dagster as dg
import duckdb
import pandas as pd

from finscope.build import build
from models import clock
from models.calendars import sessions
from pipelines.sources.base import Instrument, PriceBatch, PriceSource, SymbolFailure
from pipelines.sources.sample import SampleSource
from warehouse.snapshot import current

CORE = "SELECT symbol, date, open, high, low, close, adj_close, volume FROM core.prices_daily"


def table(home, query: str) -> pd.DataFrame:
    con = duckdb.connect(str(home.warehouse), read_only=True)
    try:
        return con.execute(query).df()
    finally:
        con.close()


def expected_rows(start: date, end: date) -> int:
    equities = len(sessions("XNYS", start, end))
    return 3 * equities + (end - start).days + 1


def test_build_lands_every_session_and_publishes(settings, home, instance, start):
    result = build(settings, home, instance=instance)
    assert result.success, result
    assert result.failed_checks == []
    end = clock.yesterday()
    assert result.first_partition == start.replace(day=1).isoformat()
    assert result.last_partition == end.replace(day=1).isoformat()
    bars = table(home, CORE)
    assert len(bars) == expected_rows(start, end)
    assert set(bars["symbol"]) == {"SPY", "AAPL", "MSFT", "BTC-USD"}
    snapshot = current(home.snapshots)
    assert snapshot is not None and snapshot.run_id == result.run_id
    assert snapshot.tables["core.prices_daily"] == len(bars)
    event = instance.get_latest_materialization_event(dg.AssetKey("prices_daily"))
    assert event is not None
    assert event.asset_materialization.metadata["dagster/row_count"].value == len(bars)


def test_rerun_changes_nothing_and_fetches_nothing(settings, home, instance):
    build(settings, home, instance=instance)
    before = table(home, CORE + " ORDER BY symbol, date")
    log_rows = len(table(home, "SELECT * FROM meta.ingest_log"))
    again = build(settings, home, instance=instance)
    assert again.success
    pd.testing.assert_frame_equal(before, table(home, CORE + " ORDER BY symbol, date"))
    assert len(table(home, "SELECT * FROM meta.ingest_log")) == log_rows  # nothing was missing


def test_backfill_fills_an_earlier_range(settings, home, instance, start):
    later_month = (start.replace(day=1) + timedelta(days=32)).replace(day=1)
    build(settings, home, instance=instance, start=later_month)
    first = table(home, "SELECT min(date) AS d FROM core.prices_daily")["d"][0]
    assert first >= pd.Timestamp(later_month)
    build(settings, home, instance=instance, start=start, end=start)
    bars = table(home, CORE)
    end = clock.today() - timedelta(days=1)
    assert len(bars) == expected_rows(start, end)
    gaps = table(home, "SELECT count(*) AS n FROM marts.returns_daily WHERE ret IS NULL")
    assert gaps["n"][0] == 4  # only each symbol's very first bar has no return


class HalfBroken(PriceSource):
    """The sample source, except that one symbol fails or the whole source is down."""

    broken_symbol: str = "AAPL"
    down: bool = False

    @property
    def source_name(self) -> str:
        return "sample"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        if self.down:
            raise ConnectionError("provider unreachable")
        inner = SampleSource(history_start="2000-01-03")
        keep = [i for i in instruments if i.symbol != self.broken_symbol]
        batch = inner.fetch(keep, start, end)
        if len(keep) < len(instruments):
            batch.failures.append(SymbolFailure("sample", self.broken_symbol, start, end,
                                                "unknown symbol"))
        return batch


def test_failing_symbol_still_lands_others_and_names_itself(settings, home, instance):
    result = build(settings, home, instance=instance,
                   resources={"equity_prices": HalfBroken()})
    assert result.success
    assert result.failed_checks == ["raw_prices:fetch_complete"]
    assert set(table(home, CORE)["symbol"]) == {"SPY", "MSFT", "BTC-USD"}
    log = table(home, "SELECT * FROM meta.ingest_log WHERE status = 'failed'")
    assert log[["source", "symbol", "message"]].values.tolist() == [
        ["sample", "AAPL", "unknown symbol"]]
    # The next run fetches only what is missing: AAPL.
    again = build(settings, home, instance=instance)
    latest = table(home, f"SELECT symbol FROM meta.ingest_log WHERE run_id = '{again.run_id}'")
    assert latest["symbol"].tolist() == ["AAPL"]


def test_provider_down_keeps_stored_rows_and_last_snapshot(settings, home, instance, start):
    good = build(settings, home, instance=instance, end=start + timedelta(days=10))
    before = table(home, CORE + " ORDER BY symbol, date")
    snapshot = current(home.snapshots)
    down = HalfBroken(down=True)
    result = build(settings, home, instance=instance,
                   resources={"equity_prices": down, "crypto_prices": down})
    assert good.success and not result.success
    run = instance.get_run_by_id(result.run_id)
    attempts = [e for e in instance.all_logs(run.run_id)
                if e.dagster_event and e.dagster_event.event_type_value == "STEP_RESTARTED"]
    assert attempts == []  # retries live in the sources only: the step is not retried
    pd.testing.assert_frame_equal(before, table(home, CORE + " ORDER BY symbol, date"))
    assert current(home.snapshots) == snapshot


class UnitSlip(PriceSource):
    """Sample prices, except MSFT's last bar is quoted in cents (a 100x unit error)."""

    @property
    def source_name(self) -> str:
        return "sample"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        batch = SampleSource(history_start="2000-01-03").fetch(instruments, start, end)
        last = batch.prices.index[batch.prices["symbol"] == "MSFT"][-1]
        batch.prices.loc[last, ["open", "high", "low", "close"]] *= 100
        return batch


def test_blocking_check_stops_the_snapshot(settings, home, instance):
    result = build(settings, home, instance=instance, resources={"equity_prices": UnitSlip()})
    assert "prices_daily:no_implausible_jumps" in result.failed_checks
    assert current(home.snapshots) is None  # bad data never reached the app


def test_one_source_down_still_lands_and_publishes_the_other(settings, home, instance):
    result = build(settings, home, instance=instance,
                   resources={"crypto_prices": HalfBroken(down=True)})
    assert result.success and result.failed_checks == ["raw_prices:fetch_complete"]
    assert set(table(home, CORE)["symbol"]) == {"SPY", "AAPL", "MSFT"}
    log = table(home, "SELECT symbol, message FROM meta.ingest_log WHERE status = 'failed'")
    assert log.values.tolist() == [["BTC-USD", "ConnectionError: provider unreachable"]]
    assert current(home.snapshots).run_id == result.run_id


class Relabelled(PriceSource):
    """The sample market under another provenance name, as if a live provider answered."""

    name: str = "yahoo"

    @property
    def source_name(self) -> str:
        return self.name

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        return SampleSource(history_start="2000-01-03").fetch(instruments, start, end)


def test_switching_a_class_to_another_source_refetches_its_history(settings, home, instance):
    build(settings, home, instance=instance)
    result = build(settings, home, instance=instance, resources={"equity_prices": Relabelled()})
    assert result.success, result
    sources = table(home, "SELECT DISTINCT symbol, source FROM core.prices_daily ORDER BY 1")
    assert dict(sources.values.tolist()) == {
        "AAPL": "yahoo", "BTC-USD": "sample", "MSFT": "yahoo", "SPY": "yahoo"}
    raw = table(home, "SELECT DISTINCT source FROM raw.prices_daily WHERE symbol = 'AAPL'")
    assert raw["source"].tolist() == ["yahoo"]  # the simulated rows were replaced, not mixed
