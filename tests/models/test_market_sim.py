"""The market simulator: determinism, stylised facts of returns, calendars, OHLCV and actions."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import models
from models.calendars import sessions
from models.market_sim import (
    ACTION_COLUMNS,
    BAR_COLUMNS,
    MarketSimulator,
    SeriesSpec,
    synthetic_universe,
    unsupported_reason,
)
from tests.models.imports import imports_of, roots

START, END = date(2014, 1, 1), date(2023, 12, 31)
SECTORS = ("Technology", "Energy", "Utilities")
EQUITIES = [SeriesSpec(f"EQ{i}", "equity", SECTORS[i % 3], "XNYS") for i in range(12)]
CRYPTO = [SeriesSpec(s, "crypto", None, "24/7") for s in ("BTC-USD", "ETH-USD", "SOL-USD")]
BENCHMARK = SeriesSpec("SPY", "etf", None, "XNYS")
UNIVERSE = [*EQUITIES, *CRYPTO, BENCHMARK]


@pytest.fixture(scope="module")
def decade() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Ten years of the universe, seed 42."""
    return MarketSimulator(42, START).window(UNIVERSE, START, END)


def total_returns(prices: pd.DataFrame, actions: pd.DataFrame) -> pd.DataFrame:
    """Daily log total returns per symbol (columns), undoing splits and adding dividends back."""
    keyed = actions.set_index(["symbol", "date", "action"])["value"]
    out = {}
    for symbol, bars in prices.groupby("symbol"):
        index = pd.MultiIndex.from_arrays([bars["symbol"], bars["date"]])
        split = keyed.xs("split", level="action").reindex(index).fillna(1.0).to_numpy()
        cash = keyed.xs("dividend", level="action").reindex(index).fillna(0.0).to_numpy()
        close = bars["close"].to_numpy()
        returns = np.log((close[1:] + cash[1:]) * split[1:] / close[:-1])
        out[symbol] = pd.Series(returns, index=bars["date"].to_numpy()[1:])
    return pd.DataFrame(out)


def excess_kurtosis(x: np.ndarray) -> float:
    x = x - x.mean()
    return float((x**4).mean() / (x**2).mean() ** 2 - 3.0)


def autocorrelation(x: np.ndarray, lag: int = 1) -> float:
    x = x - x.mean()
    return float((x[lag:] * x[:-lag]).sum() / (x * x).sum())


def symbols(specs: list[SeriesSpec]) -> list[str]:
    return [s.symbol for s in specs]


# --- determinism -------------------------------------------------------------------------------


def test_same_seed_gives_identical_frames(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    prices, actions = MarketSimulator(42, START).window(UNIVERSE, START, END)
    pd.testing.assert_frame_equal(prices, decade[0], check_exact=True)
    pd.testing.assert_frame_equal(actions, decade[1], check_exact=True)


def test_different_seed_gives_different_paths(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    prices, _ = MarketSimulator(43, START).window(UNIVERSE, START, END)
    assert prices[["symbol", "date"]].equals(decade[0][["symbol", "date"]])
    assert not np.allclose(prices["close"], decade[0]["close"])


def test_a_day_does_not_depend_on_the_window() -> None:
    wide, wide_actions = MarketSimulator(5, date(2016, 3, 15)).window(
        UNIVERSE, date(2018, 1, 1), date(2021, 12, 31)
    )
    year, year_actions = MarketSimulator(5, date(2016, 3, 15)).window(
        UNIVERSE, date(2020, 1, 1), date(2020, 12, 31)
    )
    in_2020 = wide[wide["date"].dt.year == 2020].reset_index(drop=True)
    pd.testing.assert_frame_equal(in_2020, year, check_exact=True)
    actions_2020 = wide_actions[wide_actions["date"].dt.year == 2020].reset_index(drop=True)
    pd.testing.assert_frame_equal(actions_2020, year_actions, check_exact=True)


def test_adding_symbols_leaves_existing_series_unchanged() -> None:
    alone, alone_actions = MarketSimulator(9, START).window([EQUITIES[0]], START, END)
    newcomers = [*synthetic_universe(5, 2), SeriesSpec("XLE", "etf", "Energy", "XNYS")]
    crowd, crowd_actions = MarketSimulator(9, START).window([EQUITIES[0], *newcomers], START, END)
    mine = crowd[crowd["symbol"] == EQUITIES[0].symbol].reset_index(drop=True)
    pd.testing.assert_frame_equal(mine, alone, check_exact=True)
    mine_actions = crowd_actions[crowd_actions["symbol"] == EQUITIES[0].symbol]
    pd.testing.assert_frame_equal(mine_actions.reset_index(drop=True), alone_actions)
    assert len(alone_actions) > 0  # the comparison covers actions, not just empty frames


def test_no_bars_before_history_start() -> None:
    sim = MarketSimulator(1, date(2020, 6, 10))
    prices, actions = sim.window(UNIVERSE, date(2019, 1, 1), date(2020, 6, 30))
    assert prices["date"].min() == pd.Timestamp("2020-06-10")
    assert (actions["date"] >= pd.Timestamp("2020-06-10")).all()
    before, _ = sim.window(UNIVERSE, date(2019, 1, 1), date(2020, 6, 9))
    assert before.empty
    assert list(before.columns) == list(BAR_COLUMNS)


def test_negative_seed_is_rejected() -> None:
    with pytest.raises(ValueError, match="seed"):
        MarketSimulator(-1, START)


# --- returns look like markets -----------------------------------------------------------------


def test_equity_returns_have_fat_tails(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    returns = total_returns(*decade)
    kurtosis = [excess_kurtosis(returns[s].dropna().to_numpy()) for s in symbols(EQUITIES)]
    assert min(kurtosis) > 1.0
    assert np.median(kurtosis) > 2.0


def test_volatility_clusters_but_returns_do_not_predict(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    returns = total_returns(*decade)
    for symbol in symbols(EQUITIES):
        r = returns[symbol].dropna().to_numpy()
        assert autocorrelation(np.abs(r)) > 0.1, symbol
        assert abs(autocorrelation(r)) < 0.1, symbol


def test_same_sector_equities_correlate_more(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    corr = total_returns(*decade)[symbols(EQUITIES)].dropna().corr()
    sector = {s.symbol: s.sector for s in EQUITIES}
    pairs = [(a, b) for i, a in enumerate(sector) for b in list(sector)[i + 1 :]]
    same = np.mean([corr.loc[a, b] for a, b in pairs if sector[a] == sector[b]])
    other = np.mean([corr.loc[a, b] for a, b in pairs if sector[a] != sector[b]])
    assert same > other + 0.05
    assert other > 0.1  # the market ties everything together


def test_equities_move_with_the_benchmark(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    returns = total_returns(*decade)[[*symbols(EQUITIES), "SPY"]].dropna()
    assert (returns.corr()["SPY"].drop("SPY") > 0.2).all()


def test_crypto_is_more_volatile_and_its_own_market(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    returns = total_returns(*decade)
    equity_vol = returns[symbols(EQUITIES)].std() * np.sqrt(252)
    crypto_vol = returns[symbols(CRYPTO)].std() * np.sqrt(365)
    assert equity_vol.between(0.12, 0.5).all()
    assert crypto_vol.between(0.45, 1.2).all()
    assert crypto_vol.min() > equity_vol.max()
    weekly = returns.resample("W").sum()  # crypto trades weekends, so compare by week
    crypto_corr = weekly[symbols(CRYPTO)].corr().to_numpy()[np.triu_indices(3, 1)]
    assert (crypto_corr > 0.4).all()
    assert (weekly[symbols(CRYPTO)].corrwith(weekly["SPY"]).abs() < 0.35).all()


def test_equities_drift_up(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    annual = total_returns(*decade)[symbols(EQUITIES)].sum() / 10
    assert 0.0 < annual.median() < 0.2


# --- calendars and bars ------------------------------------------------------------------------


def test_equities_trade_on_exchange_sessions_crypto_every_day(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    prices = decade[0]
    days = prices.groupby("symbol")["date"].apply(pd.DatetimeIndex)
    for symbol in [*symbols(EQUITIES), "SPY"]:
        assert days[symbol].equals(sessions("XNYS", START, END))
    for symbol in symbols(CRYPTO):
        assert days[symbol].equals(sessions("24/7", START, END))
    spy = set(days["SPY"])
    assert pd.Timestamp("2023-07-03") in spy
    assert not {pd.Timestamp("2023-07-04"), pd.Timestamp("2023-12-25")} & spy
    assert (days["SPY"].day_of_week < 5).all()


def test_frames_are_typed_and_sorted(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    prices, actions = decade
    assert tuple(prices.columns) == BAR_COLUMNS
    assert tuple(actions.columns) == ACTION_COLUMNS
    assert prices["symbol"].dtype == object and isinstance(prices["symbol"].iloc[0], str)
    assert prices["date"].dtype == "datetime64[ns]" and actions["date"].dtype == "datetime64[ns]"
    assert actions["symbol"].dtype == object and actions["action"].dtype == object
    assert set(actions["action"]) == {"split", "dividend"}
    assert (prices[list(BAR_COLUMNS[2:])].dtypes == "float64").all()
    assert prices.equals(prices.sort_values(["symbol", "date"], ignore_index=True))
    assert actions.equals(actions.sort_values(["symbol", "date"], ignore_index=True))
    assert not prices.duplicated(["symbol", "date"]).any()


def assert_bars_consistent(prices: pd.DataFrame) -> None:
    low, high = prices["low"], prices["high"]
    body_low = np.minimum(prices["open"], prices["close"])
    body_high = np.maximum(prices["open"], prices["close"])
    assert (low > 0).all()
    assert (low <= body_low).all()
    assert (body_high <= high).all()
    assert (prices["volume"] > 0).all()
    assert prices[["open", "high", "low", "close", "volume"]].notna().all().all()


def test_bars_are_consistent(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    assert_bars_consistent(decade[0])


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32 - 1),
    history_offset=st.integers(0, 400),
    window_offset=st.integers(0, 900),
    length=st.integers(0, 400),
)
def test_bars_are_consistent_for_any_seed_and_window(
    seed: int, history_offset: int, window_offset: int, length: int
) -> None:
    history_start = date(2015, 1, 1) + timedelta(days=history_offset)
    start = history_start + timedelta(days=window_offset)
    universe = [*synthetic_universe(6, 2), BENCHMARK, SeriesSpec("^GSPC", "index", None, "XNYS")]
    prices, actions = MarketSimulator(seed, history_start).window(
        universe, start, start + timedelta(days=length)
    )
    assert_bars_consistent(prices)
    assert (
        prices["date"].between(pd.Timestamp(start), pd.Timestamp(start + timedelta(length))).all()
    )
    assert (
        actions["date"].between(pd.Timestamp(start), pd.Timestamp(start + timedelta(length))).all()
    )


def test_crypto_opens_at_the_previous_close_and_has_a_market_cap(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    prices = decade[0]
    btc = prices[prices["symbol"] == "BTC-USD"]
    np.testing.assert_allclose(btc["open"].to_numpy()[1:], btc["close"].to_numpy()[:-1], rtol=1e-9)
    assert (btc["market_cap"] > 0).all()
    supply = btc["market_cap"] / btc["close"]
    np.testing.assert_allclose(supply, supply.iloc[0])
    assert prices.loc[~prices["symbol"].isin(symbols(CRYPTO)), "market_cap"].isna().all()


def test_equity_opens_gap_a_little_from_the_previous_close(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    prices, actions = decade
    eq = prices[prices["symbol"] == "EQ1"].set_index("date")
    ex_dates = set(actions.loc[actions["symbol"] == "EQ1", "date"])
    gap = np.log(eq["open"] / eq["close"].shift()).drop(index=list(ex_dates)).dropna()
    assert gap.abs().median() < 0.01
    assert gap.abs().max() > 0.0


# --- corporate actions -------------------------------------------------------------------------


def test_splits_and_dividends_happen(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    actions = decade[1]
    splits = actions[actions["action"] == "split"]
    dividends = actions[actions["action"] == "dividend"]
    assert len(splits) >= 1
    assert set(splits["value"]) <= {2.0, 3.0, 4.0, 10.0}
    assert dividends["symbol"].nunique() >= 3
    assert (dividends["value"] > 0).all()
    assert not actions["symbol"].isin(symbols(CRYPTO)).any()
    payer = dividends[dividends["symbol"] == dividends["symbol"].iloc[0]]
    assert 35 <= len(payer) <= 41  # quarterly over ten years


def test_as_traded_close_drops_by_the_split_ratio(
    decade: tuple[pd.DataFrame, pd.DataFrame],
) -> None:
    prices, actions = decade
    close = prices.set_index(["symbol", "date"])["close"]
    for split in actions[actions["action"] == "split"].itertuples():
        bars = close[split.symbol]
        before = bars[bars.index < split.date].iloc[-1]
        assert before / bars[split.date] == pytest.approx(split.value, rel=0.2)


def test_dividends_are_a_plausible_yield(decade: tuple[pd.DataFrame, pd.DataFrame]) -> None:
    prices, actions = decade
    close = prices.set_index(["symbol", "date"])["close"]
    for dividend in actions[actions["action"] == "dividend"].itertuples():
        bars = close[dividend.symbol]
        before = bars[bars.index < dividend.date].iloc[-1]
        assert 0.0009 <= dividend.value / before <= 0.0085  # 0.5-3% a year, paid quarterly
        assert dividend.value * 100 == pytest.approx(round(dividend.value * 100))  # cents


# --- what is supported -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "words"),
    [
        (SeriesSpec("EURUSD", "fx", None, "24/5"), "'fx'"),
        (SeriesSpec("ABC", "equity", "Energy", "XFOO"), "'XFOO'"),
        (SeriesSpec("AAPL", "equity", "Technology", "XNYS"), None),
        (SeriesSpec("^GSPC", "index", None, "XNYS"), None),
    ],
)
def test_unsupported_reason(spec: SeriesSpec, words: str | None) -> None:
    reason = unsupported_reason(spec)
    assert reason is None if words is None else words in (reason or "")


def test_window_rejects_what_it_cannot_simulate() -> None:
    sim = MarketSimulator(1, START)
    with pytest.raises(ValueError, match="EURUSD"):
        sim.window([SeriesSpec("EURUSD", "fx", None, "24/5")], START, END)
    with pytest.raises(ValueError, match="once"):
        sim.window([SeriesSpec("A", "equity"), SeriesSpec("A", "etf")], START, END)
    # Shanghai's holidays are recorded only up to a published year.
    assert "XSHG" in (
        sim.unsupported_reason(SeriesSpec("C", "equity", None, "XSHG"), date(2199, 1, 1)) or ""
    )


def test_synthetic_universe() -> None:
    universe = synthetic_universe(12, 3)
    assert len(universe) == 15 == len({s.symbol for s in universe})
    assert [s.asset_class for s in universe].count("crypto") == 3
    assert len({s.sector for s in universe if s.asset_class == "equity"}) == 11
    assert all(unsupported_reason(s) is None for s in universe)


def test_models_import_nothing_of_dagster_dash_or_pipelines() -> None:
    package = Path(models.__file__).parent
    for name in ("market_sim.py", "market_dynamics.py", "calendars.py"):
        found = roots(imports_of(package / name))
        assert not found & {"dagster", "dash", "pipelines", "warehouse"}, name
