"""SampleSource: the simulator behind the PriceSource interface, offline and deterministic."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import dagster as dg
import numpy as np
import pandas as pd
import pydantic
import pytest

from models.calendars import sessions
from pipelines.sources import sample
from pipelines.sources.base import ACTION_COLUMNS, BAR_COLUMNS, Instrument, PriceSource
from pipelines.sources.sample import SampleSource, synthetic_instruments

AAPL = Instrument(
    symbol="AAPL", name="Apple", asset_class="equity", sector="Technology", calendar="XNYS"
)
MSFT = Instrument(
    symbol="MSFT", name="Microsoft", asset_class="equity", sector="Technology", calendar="XNYS"
)
SPY = Instrument(
    symbol="SPY", name="S&P 500 ETF", asset_class="etf", calendar="XNYS", is_benchmark=True
)
BTC = Instrument(
    symbol="BTC-USD",
    name="Bitcoin",
    asset_class="crypto",
    calendar="24/7",
    currency="USD",
    coingecko_id="bitcoin",
)
EURUSD = Instrument(symbol="EURUSD", name="Euro", asset_class="fx", calendar="24/5")
UNIVERSE = [AAPL, MSFT, SPY, BTC]


@pytest.fixture(autouse=True)
def fresh_history() -> Iterator[None]:
    """Each test starts without generated history, so caching cannot hide a difference."""
    sample._simulator.cache_clear()
    yield
    sample._simulator.cache_clear()


def test_is_a_price_source_named_sample() -> None:
    source = SampleSource()
    assert isinstance(source, PriceSource)
    assert source.source_name == "sample"
    assert source.seed == 42


def test_fetch_returns_bars_in_the_interface_layout() -> None:
    batch = SampleSource(history_start="2022-01-01").fetch(
        UNIVERSE, date(2023, 6, 1), date(2023, 8, 31)
    )
    prices, actions = batch.prices, batch.actions
    assert batch.failures == []
    assert tuple(prices.columns) == BAR_COLUMNS
    assert tuple(actions.columns) == ACTION_COLUMNS
    assert prices["symbol"].dtype == object and prices["date"].dtype == "datetime64[ns]"
    assert sorted(prices["symbol"].unique()) == sorted(i.symbol for i in UNIVERSE)
    assert prices.equals(prices.sort_values(["symbol", "date"], ignore_index=True))
    assert prices[["close", "volume"]].notna().all().all()


def test_equities_follow_their_exchange_and_crypto_trades_daily() -> None:
    start, end = date(2023, 6, 1), date(2023, 12, 31)
    prices = SampleSource(history_start="2023-01-01").fetch(UNIVERSE, start, end).prices
    days = prices.groupby("symbol")["date"].apply(pd.DatetimeIndex)
    assert days["AAPL"].equals(sessions("XNYS", start, end))
    assert days["BTC-USD"].equals(sessions("24/7", start, end))
    assert pd.Timestamp("2023-07-03") in days["AAPL"]
    assert pd.Timestamp("2023-07-04") not in days["AAPL"]
    assert pd.Timestamp("2023-12-25") not in days["SPY"]
    assert pd.Timestamp("2023-12-25") in days["BTC-USD"]


def test_same_seed_same_data_other_seed_other_data() -> None:
    window = (UNIVERSE, date(2021, 1, 1), date(2021, 12, 31))
    first = SampleSource(seed=7, history_start="2020-01-01").fetch(*window)
    sample._simulator.cache_clear()
    again = SampleSource(seed=7, history_start="2020-01-01").fetch(*window)
    other = SampleSource(seed=8, history_start="2020-01-01").fetch(*window)
    pd.testing.assert_frame_equal(first.prices, again.prices, check_exact=True)
    pd.testing.assert_frame_equal(first.actions, again.actions, check_exact=True)
    assert not np.allclose(first.prices["close"], other.prices["close"])


def test_a_day_does_not_depend_on_the_window_or_the_universe() -> None:
    source = SampleSource(seed=3, history_start="2018-01-01")
    wide = source.fetch(
        [*UNIVERSE, *synthetic_instruments(4, 1)], date(2018, 1, 1), date(2021, 12, 31)
    ).prices
    sample._simulator.cache_clear()
    narrow = source.fetch([AAPL], date(2020, 1, 1), date(2020, 12, 31)).prices
    aapl_2020 = wide[(wide["symbol"] == "AAPL") & (wide["date"].dt.year == 2020)]
    pd.testing.assert_frame_equal(aapl_2020.reset_index(drop=True), narrow, check_exact=True)


def test_one_day_after_warm_up_matches_the_long_fetch() -> None:
    source = SampleSource(history_start="2020-01-01")
    history = source.fetch(UNIVERSE, date(2020, 1, 1), date(2023, 12, 31)).prices
    day = source.fetch(UNIVERSE, date(2023, 11, 24), date(2023, 11, 24)).prices
    expected = history[history["date"] == pd.Timestamp("2023-11-24")].reset_index(drop=True)
    pd.testing.assert_frame_equal(day, expected, check_exact=True)
    assert len(day) == 4


def test_unsupported_instruments_fail_alone() -> None:
    odd_calendar = Instrument(symbol="ODD", name="Odd", asset_class="equity", calendar="XFOO")
    start, end = date(2023, 1, 1), date(2023, 1, 31)
    batch = SampleSource(history_start="2022-01-01").fetch(
        [AAPL, EURUSD, odd_calendar, BTC], start, end
    )
    failed = {f.symbol: f for f in batch.failures}
    assert set(failed) == {"EURUSD", "ODD"}
    assert "'fx'" in failed["EURUSD"].reason
    assert "XFOO" in failed["ODD"].reason
    assert (failed["EURUSD"].source, failed["EURUSD"].start, failed["EURUSD"].end) == (
        "sample",
        start,
        end,
    )
    assert set(batch.prices["symbol"]) == {"AAPL", "BTC-USD"}


def test_a_symbol_listed_twice_with_different_fields_fails() -> None:
    twin = Instrument(symbol="AAPL", name="Apple", asset_class="crypto", calendar="24/7")
    batch = SampleSource(history_start="2022-01-01").fetch(
        [AAPL, AAPL, twin], date(2023, 1, 1), date(2023, 1, 31)
    )
    assert [(f.symbol, f.reason) for f in batch.failures] == [("AAPL", "symbol listed twice")]
    assert len(batch.prices) == len(sessions("XNYS", date(2023, 1, 1), date(2023, 1, 31)))


def test_a_window_before_the_history_fails_with_the_start_date() -> None:
    batch = SampleSource(history_start="2022-01-01").fetch(
        [AAPL, BTC], date(2020, 1, 1), date(2020, 12, 31)
    )
    assert batch.prices.empty and batch.actions.empty
    assert {f.symbol for f in batch.failures} == {"AAPL", "BTC-USD"}
    assert all("2022-01-01" in f.reason for f in batch.failures)


def test_actions_lie_in_the_window_and_split_the_as_traded_price() -> None:
    universe = synthetic_instruments(20)
    start, end = date(2019, 1, 1), date(2024, 12, 31)
    batch = SampleSource(history_start="2015-01-01").fetch(universe, start, end)
    actions = batch.actions
    assert actions["date"].between(pd.Timestamp(start), pd.Timestamp(end)).all()
    assert (actions["action"] == "dividend").sum() > 20
    splits = actions[actions["action"] == "split"]
    assert len(splits) >= 1
    close = batch.prices.set_index(["symbol", "date"])["close"]
    for split in splits.itertuples():
        bars = close[split.symbol]
        assert bars[bars.index < split.date].iloc[-1] / bars[split.date] == pytest.approx(
            split.value, rel=0.2
        )


def test_config_is_validated() -> None:
    with pytest.raises(pydantic.ValidationError, match="history_start"):
        SampleSource(history_start="2015-13-01")
    with pytest.raises(pydantic.ValidationError, match="seed"):
        SampleSource(seed=-1)


def test_works_as_a_dagster_resource() -> None:
    @dg.asset
    def bars(prices: PriceSource) -> int:
        return len(prices.fetch([AAPL, BTC], date(2024, 1, 2), date(2024, 1, 8)).prices)

    result = dg.materialize(
        [bars], resources={"prices": SampleSource(seed=1, history_start="2023-06-01")}
    )
    assert result.success
    assert result.output_for_node("bars") == 5 + 7  # five sessions, seven days
