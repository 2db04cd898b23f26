"""Faults and corrections, through real builds on a temporary warehouse: provenance, corrected
actions, shrunken sources, refetch after a failing check, dates with no complete day, a failing
domain beside a healthy one, and a provider that hangs while another run writes."""

from __future__ import annotations

import threading
from collections.abc import Sequence
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import duckdb
import pandas as pd
import pytest

from finscope.build import build
from models import clock
from models.instruments import Instrument
from pipelines.definitions import PRICE_JOB, build_definitions
from pipelines.resources import POOL, WarehouseResource
from pipelines.serving.assets import key_checks, serving_assets
from pipelines.sources.base import PriceBatch, PriceSource
from pipelines.sources.sample import SampleSource
from tests.pipelines.test_build import UnitSlip, table
from warehouse.reader import SnapshotReader
from warehouse.serving import ServingDomain, ServingTable
from warehouse.snapshot import current


class Edited(PriceSource):
    """The sample market with edits: a dividend added, or bars cut off after a day."""

    dividend_on: str | None = None
    dividend: float = 1.0
    until: str | None = None

    @property
    def source_name(self) -> str:
        return "sample"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        batch = SampleSource(history_start="2000-01-03").fetch(instruments, start, end)
        actions = batch.actions[batch.actions["symbol"] != "MSFT"]
        if self.dividend_on and pd.Timestamp(start) <= pd.Timestamp(self.dividend_on):
            extra = pd.DataFrame({"symbol": ["MSFT"], "date": [pd.Timestamp(self.dividend_on)],
                                  "action": ["dividend"], "value": [self.dividend]})
            actions = pd.concat([actions, extra], ignore_index=True)
        prices = batch.prices
        if self.until:
            prices = prices[(prices["symbol"] != "MSFT")
                            | (prices["date"] <= pd.Timestamp(self.until))]
        return PriceBatch(prices=prices.reset_index(drop=True),
                          actions=actions.reset_index(drop=True), failures=batch.failures)


def msft(home) -> pd.DataFrame:
    return table(home, "SELECT date, close, adj_close, run_id, fetched_at FROM core.prices_daily"
                       " WHERE symbol = 'MSFT' ORDER BY date")


def test_core_rows_keep_the_provenance_of_their_fetch(settings, home, instance):
    first = build(settings, home, instance=instance)
    with clock.frozen(clock.now() + timedelta(hours=5)):
        second = build(settings, home, instance=instance)  # nothing new: derived rebuilt only
    assert first.success and second.success and first.run_id != second.run_id
    for asset in ("corporate_actions", "prices_daily", "returns_daily"):  # really rebuilt
        event = instance.get_latest_materialization_event(dg.AssetKey(asset))
        assert event is not None and event.run_id == second.run_id, asset
    for name in ("core.prices_daily", "marts.returns_daily", "core.corporate_actions"):
        runs = table(home, f"SELECT run_id, fetched_at, count(*) AS n FROM {name} GROUP BY ALL")
        if name == "core.corporate_actions" and runs.empty:
            continue  # no split or dividend in this short window
        assert runs["run_id"].tolist() == [first.run_id], name  # the fetch's, not the rebuild's
        assert runs["n"][0] > 0, name
        assert runs["fetched_at"][0] == pd.Timestamp(clock.now()), name  # the first build's


def test_a_removed_or_corrected_dividend_readjusts_the_whole_history(settings, home, instance,
                                                                      start):
    day = (start + timedelta(days=20)).isoformat()
    build(settings, home, instance=instance,
          resources={"equity_prices": Edited(dividend_on=day, dividend=2.0)})
    before = msft(home)
    early = before["date"] < pd.Timestamp(day)
    assert (before.loc[early, "adj_close"] < before.loc[early, "close"]).all()
    # The provider corrects the dividend, then removes it: each time a refetch of the month
    # holding it (a later month's build would not see it) re-adjusts every earlier bar.
    month = date.fromisoformat(day)
    build(settings, home, instance=instance, start=month, end=month, refresh=True,
          resources={"equity_prices": Edited(dividend_on=day, dividend=1.0)})
    corrected = msft(home)
    close_before = before.loc[early, "close"].iloc[-1]  # the close the dividend divides
    ratio = (corrected["adj_close"] / corrected["close"])[early]
    assert ratio.to_numpy() == pytest.approx(1 - 1.0 / close_before, rel=1e-12)
    assert (before["adj_close"] / before["close"])[early].to_numpy() == pytest.approx(
        1 - 2.0 / close_before, rel=1e-12)
    build(settings, home, instance=instance, start=month, end=month, refresh=True,
          resources={"equity_prices": Edited()})
    removed = msft(home)
    assert (removed["adj_close"] == removed["close"]).all()  # no action left: no adjustment
    returns = table(home, "SELECT r.adj_close, p.adj_close AS core FROM marts.returns_daily r"
                          " JOIN core.prices_daily p USING (symbol, date)"
                          " WHERE symbol = 'MSFT'")
    assert (returns["adj_close"] == returns["core"]).all()  # the mart followed


def test_a_shrunken_source_never_deletes_stored_bars_silently(settings, home, instance, start):
    build(settings, home, instance=instance)
    stored = msft(home)
    cut = (start + timedelta(days=10)).isoformat()
    shrunk = build(settings, home, instance=instance, refresh=True,
                   resources={"equity_prices": Edited(until=cut)})
    assert shrunk.success
    kept = msft(home)
    assert kept["date"].tolist() == stored["date"].tolist()  # nothing lost
    notes = table(home, "SELECT message FROM meta.ingest_log WHERE symbol = 'MSFT'"
                        f" AND run_id = '{shrunk.run_id}'")
    dropped = int((stored["date"] > pd.Timestamp(cut)).sum())
    assert notes["message"].tolist() == [
        f"kept {dropped} stored bar(s) this fetch did not return (run with --replace to drop "
        "them)"]
    replaced = build(settings, home, instance=instance, refresh=True, replace=True,
                     resources={"equity_prices": Edited(until=cut)})
    assert replaced.success
    assert msft(home)["date"].max() == pd.Timestamp(cut)  # asked for: replaced


def test_after_a_blocking_failure_fixing_the_source_is_enough(settings, home, instance):
    bad = build(settings, home, instance=instance, resources={"equity_prices": UnitSlip()})
    assert "prices_daily:no_implausible_jumps" in bad.failed_checks
    assert current(home.snapshots) is None
    queued = table(home, "SELECT symbol, reason FROM meta.refetch")
    assert queued.values.tolist() == [["MSFT", "no_implausible_jumps"]]
    fixed = build(settings, home, instance=instance)  # plain build, the source fixed
    assert fixed.success and fixed.failed_checks == [], fixed
    assert table(home, "SELECT count(*) AS n FROM meta.refetch")["n"][0] == 0
    assert current(home.snapshots).run_id == fixed.run_id


@pytest.mark.parametrize("at, last_month", [
    (datetime(2026, 12, 1, 0, 30, tzinfo=UTC), "2026-11-01"),
    (datetime(2026, 12, 31, 23, 30, tzinfo=UTC), "2026-12-01"),
])
def test_partitions_with_no_complete_day_have_nothing_to_do(tmp_path, home, instance, at,
                                                            last_month):
    from pipelines.settings import load_settings
    from tests.pipelines.conftest import write_settings

    with clock.frozen(at):
        settings = load_settings(write_settings(tmp_path, clock.today() - timedelta(days=40)))
        result = build(settings, home, instance=instance)
        assert result.success and result.last_partition == last_month
        defs = build_definitions(settings, home)
        today = clock.today().replace(day=1).isoformat()
        run = defs.resolve_job_def(PRICE_JOB).execute_in_process(instance=instance,
                                                                 partition_key=today)
    assert run.success  # the month holding today: nothing to do yet on the 1st, never a failure
    fetched = run.asset_materializations_for_node("fetched_prices")[0]
    assert ("nothing_to_do" in fetched.metadata) == (at.day == 1)


NEWS = ServingDomain("news", (ServingTable("marts.headlines", asset="headlines", key=("id",)),))


@dg.asset(group_name="news", owners=["team:data-eng"], kinds={"duckdb"}, pool=POOL)
def headlines(warehouse: WarehouseResource) -> dg.MaterializeResult:
    """Headlines of a fake second domain, with one duplicate key (a bad row in a feed)."""
    with warehouse.connect() as con:
        con.execute("CREATE OR REPLACE TABLE marts.headlines AS SELECT * FROM"
                    " (VALUES (1, 'A'), (1, 'A again')) t(id, title)")
    return dg.MaterializeResult(metadata={"dagster/row_count": 2})


def test_a_failing_check_in_one_domain_holds_back_only_that_domain(settings, home, instance):
    prices = build_definitions(settings, home)
    defs = dg.Definitions(
        assets=[*prices.assets, headlines, *serving_assets((NEWS,))],
        asset_checks=[*prices.asset_checks, *key_checks((NEWS,))],
        jobs=prices.jobs, resources=prices.resources, executor=dg.in_process_executor,
    )
    month = (clock.yesterday()).replace(day=1).isoformat()
    job = defs.resolve_implicit_global_asset_job_def()
    run = job.execute_in_process(instance=instance, partition_key=month, raise_on_error=False)
    checks = {e.asset_check_evaluation_data.check_name: e.asset_check_evaluation_data.passed
              for e in run.all_events if e.event_type_value == "ASSET_CHECK_EVALUATION"
              and e.asset_check_evaluation_data.asset_key == dg.AssetKey("headlines")}
    assert checks == {"unique_keys": False}
    assert current(home.snapshots, "news") is None  # held back
    served = current(home.snapshots, "prices")
    assert served is not None and served.run_id == run.run_id  # prices still published
    with SnapshotReader(home.snapshots).cursor() as cur:
        assert cur.execute("SELECT count(*) FROM core.prices_daily").fetchone()[0] > 0


class Hanging(PriceSource):
    """A provider that does not answer until released (bounded, so the test always ends)."""

    @property
    def source_name(self) -> str:
        return "sample"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        HANGING.set()
        RELEASE.wait(timeout=120)
        return SampleSource(history_start="2000-01-03").fetch(instruments, start, end)


HANGING, RELEASE = threading.Event(), threading.Event()


@pytest.mark.slow
def test_a_hanging_provider_does_not_stop_another_run_from_writing(settings, home,
                                                                    finscope_instance):
    HANGING.clear()
    RELEASE.clear()
    stuck: dict[str, object] = {}

    def hang() -> None:
        stuck["result"] = build(settings, home, instance=finscope_instance,
                                resources={"equity_prices": Hanging()})

    thread = threading.Thread(target=hang)
    thread.start()
    try:
        assert HANGING.wait(timeout=60)  # the first run is inside its fetch, holding no writer
        other = build(settings, home, instance=finscope_instance)  # writes everything meanwhile
        assert other.success and thread.is_alive()
        assert current(home.snapshots).run_id == other.run_id
    finally:
        RELEASE.set()
        thread.join(timeout=120)
    assert stuck["result"].success  # type: ignore[attr-defined]
    with duckdb.connect(str(home.warehouse), read_only=True) as con:
        dupes = con.execute("SELECT count(*) FROM (SELECT symbol, date FROM core.prices_daily"
                            " GROUP BY ALL HAVING count(*) > 1)").fetchone()
    assert dupes == (0,)


def test_staged_fetches_of_runs_that_are_over_are_cleaned(settings, home, instance):
    left = home.staging / "run-that-died" / "equity_prices"
    left.mkdir(parents=True)
    (left / "prices.parquet").write_bytes(b"half")
    result = build(settings, home, instance=instance)
    assert result.success
    assert list(home.staging.iterdir()) == []  # the dead run's folder and this run's own


def test_a_write_with_nothing_staged_fails_and_says_why(settings, home, instance):
    defs = build_definitions(settings, home)
    job = defs.resolve_implicit_global_asset_job_def()
    month = clock.yesterday().replace(day=1).isoformat()
    run = job.execute_in_process(instance=instance, partition_key=month, raise_on_error=False,
                                 asset_selection=[dg.AssetKey("raw_prices")])
    assert not run.success
    failure = next(e for e in run.all_events if e.event_type_value == "STEP_FAILURE")
    assert "materialise fetched_prices and raw_prices together" in str(
        failure.step_failure_data.error)


def test_a_dividend_above_the_close_blocks_even_the_first_build(settings, home, instance, start):
    day = (start + timedelta(days=20)).isoformat()
    result = build(settings, home, instance=instance,
                   resources={"equity_prices": Edited(dividend_on=day, dividend=1e6)})
    assert "prices_daily:dividends_below_close" in result.failed_checks
    assert current(home.snapshots) is None  # the bad dividend never reached the app
    [failure] = [f for f in result.check_failures if f.name.endswith("dividends_below_close")]
    assert failure.found and failure.found[0].startswith("MSFT ")


def test_a_bad_bar_the_fixed_source_no_longer_has_is_dropped(settings, home, instance):
    bad = build(settings, home, instance=instance, resources={"equity_prices": UnitSlip()})
    assert "prices_daily:no_implausible_jumps" in bad.failed_checks
    [(day,)] = table(home, "SELECT date FROM meta.refetch").values.tolist()
    before = pd.Timestamp(day) - pd.Timedelta(days=1)
    # The provider's fix is to drop the bad bar: shrink protection must not keep it for ever.
    fixed = build(settings, home, instance=instance,
                  resources={"equity_prices": Edited(until=before.date().isoformat())})
    assert fixed.success and fixed.failed_checks == [], fixed
    assert msft(home)["date"].max() < pd.Timestamp(day)
    assert table(home, "SELECT count(*) AS n FROM meta.refetch")["n"][0] == 0
    assert current(home.snapshots).run_id == fixed.run_id
