"""models.returns: hand-computed tables, then the laws every price series obeys (hypothesis)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from models import returns as r
from tests.models.imports import imports_of

DAYS = pd.date_range("2024-01-01", periods=8)
NAN = np.nan


def series(*prices: float, name: str = "X") -> pd.Series:
    return pd.Series(prices, index=DAYS[: len(prices)], name=name, dtype=float)


# -- definitions, by hand ------------------------------------------------------------------------

@pytest.mark.parametrize(("calendar", "periods"), [
    ("24/7", 365), ("XNYS", 252), ("XLON", 252), ("XTKS", 252), (None, 252), ("", 252),
])
def test_periods_per_year(calendar, periods):
    assert r.periods_per_year(calendar) == periods


@pytest.mark.parametrize(("prices", "simple", "log"), [
    # 110/100 - 1 = 0.10; 99/110 - 1 = -0.10; ln 1.1 = 0.0953102, ln 0.9 = -0.1053605
    ((100, 110, 99), (NAN, 0.10, -0.10), (NAN, 0.0953101798, -0.1053605157)),
    # a missing price is skipped: 121 is compared with 110, the last price before it
    ((100, 110, NAN, 121), (NAN, 0.10, NAN, 0.10), (NAN, 0.0953101798, NAN, 0.0953101798)),
    # leading gap: the first price has no return
    ((NAN, 50, 25), (NAN, NAN, -0.5), (NAN, NAN, -0.6931471806)),
    ((100,), (NAN,), (NAN,)),
])
def test_simple_and_log_returns(prices, simple, log):
    p = series(*prices)
    np.testing.assert_allclose(r.simple_returns(p), simple, rtol=1e-9)
    np.testing.assert_allclose(r.log_returns(p), log, rtol=1e-9)


def test_returns_of_a_wide_frame_use_each_columns_own_bars():
    # Fri 5th, Sat 6th, Sun 7th, Mon 8th: the equity has no weekend bars, the coin has all.
    days = pd.date_range("2024-01-05", periods=4)
    wide = pd.DataFrame({"EQ": [100, NAN, NAN, 102], "COIN": [10, 11, 11, 9.9]}, index=days)
    got = r.simple_returns(wide)
    np.testing.assert_allclose(got["EQ"], [NAN, NAN, NAN, 0.02])  # Monday over Friday
    np.testing.assert_allclose(got["COIN"], [NAN, 0.10, 0.0, -0.10])


def test_rebase_starts_every_column_at_100_on_the_first_common_date():
    wide = pd.DataFrame({"EQ": [NAN, 100, 110, NAN, 121], "COIN": [50, 40, 44, 46, 48.0]},
                        index=DAYS[:5])
    assert r.first_common_date(wide) == DAYS[1]
    got = r.rebase(wide)
    assert list(got.index) == list(DAYS[1:5])  # the day only the coin traded is dropped
    np.testing.assert_allclose(got["EQ"], [100, 110, NAN, 121])  # the later gap stays NaN
    np.testing.assert_allclose(got["COIN"], [100, 110, 115, 120])
    np.testing.assert_allclose(r.rebase(series(NAN, 4, 5), base=1.0), [1.0, 1.25])


def test_columns_that_never_overlap_have_no_common_date():
    apart = pd.DataFrame({"A": [1.0, NAN], "B": [NAN, 2.0]}, index=DAYS[:2])
    assert r.first_common_date(apart) is None
    assert r.first_common_date(apart.iloc[0:0]) is None
    empty = r.rebase(apart)
    assert empty.empty and list(empty.columns) == ["A", "B"]


@pytest.mark.parametrize(("prices", "drawdown", "worst"), [
    ((100, 110, 99), (0, 0, -0.10), -0.10),  # 99 / 110 - 1
    ((100, 50, 75, 150, 120), (0, -0.5, -0.25, 0, -0.2), -0.5),
    ((100, 101, 102), (0, 0, 0), 0.0),  # never falls
    ((100, NAN, 80), (0, NAN, -0.2), -0.2),  # the peak skips the gap
    ((7,), (0,), 0.0),
])
def test_drawdown_and_max_drawdown(prices, drawdown, worst):
    p = series(*prices)
    np.testing.assert_allclose(r.drawdown(p), drawdown, atol=1e-12)
    assert r.max_drawdown(p) == pytest.approx(worst)


# log returns +1%, -1%, +1%, -1%: mean 0, sample variance 4 * 0.0001 / 3, std 0.011547005
DAILY_SD = math.sqrt(4e-4 / 3)


@pytest.mark.parametrize(("periods", "expected"), [
    (252, DAILY_SD * math.sqrt(252)),  # 0.1833030
    (365, DAILY_SD * math.sqrt(365)),  # 0.2206052
    (1, DAILY_SD),
])
def test_volatility_is_the_sample_std_of_log_returns_times_root_periods(periods, expected):
    log_ret = series(NAN, 0.01, -0.01, 0.01, -0.01)
    assert r.volatility(log_ret, periods) == pytest.approx(expected, rel=1e-12)
    assert expected == pytest.approx({252: 0.1833030, 365: 0.2206052, 1: 0.0115470}[periods],
                                     abs=1e-7)


def test_volatility_of_a_wide_frame_uses_each_columns_periods():
    log_ret = pd.DataFrame({"EQ": [NAN, 0.01, -0.01, 0.01, -0.01],
                            "COIN": [0.02, -0.02, NAN, 0.02, -0.02],
                            "ONE": [NAN, NAN, 0.05, NAN, NAN]}, index=DAYS[:5])
    got = r.volatility(log_ret, {"EQ": 252, "COIN": 365, "ONE": 252})
    assert got["EQ"] == pytest.approx(DAILY_SD * math.sqrt(252))
    assert got["COIN"] == pytest.approx(2 * DAILY_SD * math.sqrt(365))
    assert math.isnan(got["ONE"])  # a single return has no sample std
    with pytest.raises(ValueError, match="COIN"):
        r.volatility(log_ret, {"EQ": 252, "ONE": 252})


def test_rolling_volatility_counts_each_columns_own_returns():
    log_ret = pd.DataFrame({"EQ": [NAN, 0.01, NAN, 0.03, -0.01],
                            "COIN": [0.01, 0.03, 0.01, 0.03, 0.01]}, index=DAYS[:5])
    got = r.rolling_volatility(log_ret, 2, {"EQ": 252, "COIN": 365})
    pair = 0.02 / math.sqrt(2)  # sample std of two returns 0.02 apart
    np.testing.assert_allclose(got["EQ"], np.array([NAN, NAN, NAN, 1, 2]) * pair * math.sqrt(252))
    np.testing.assert_allclose(got["COIN"], np.array([NAN, 1, 1, 1, 1]) * pair * math.sqrt(365))
    one = r.rolling_volatility(log_ret["COIN"], 5, 365)
    assert one.isna().tolist() == [True] * 4 + [False]
    assert one.iloc[-1] == pytest.approx(r.volatility(log_ret["COIN"], 365))
    with pytest.raises(ValueError, match="at least 2"):
        r.rolling_volatility(log_ret, 1, 252)


@pytest.mark.parametrize(("prices", "total"), [
    ((100, 110, 99), -0.01),  # 99 / 100 - 1
    ((NAN, 50, NAN, 75, NAN), 0.5),  # first and last prices present
    ((42,), 0.0),
    ((), NAN),
])
def test_total_return(prices, total):
    got = r.total_return(series(*prices))
    assert (math.isnan(got) and math.isnan(total)) or got == pytest.approx(total)


def geometric(first: float, last: float, bars: int) -> pd.Series:
    """``bars + 1`` prices growing at one constant rate from ``first`` to ``last``."""
    days = pd.date_range("2020-01-01", periods=bars + 1)
    return pd.Series(np.geomspace(first, last, bars + 1), index=days)


@pytest.mark.parametrize(("first", "last", "bars", "periods", "cagr"), [
    (100, 110, 252, 252, 0.10),  # one exchange year
    (100, 121, 504, 252, 0.10),  # two years: 1.1 ** 2 = 1.21
    (100, 110, 365, 365, 0.10),  # one 24/7 year
    (100, 121, 365, 252, 1.21 ** (252 / 365) - 1),  # 365 sessions are 1.448 exchange years
    (100, 90, 126, 252, 0.81 - 1),  # half a year down 10%: 0.9 ** 2 - 1 = -0.19
])
def test_annualised_return_is_the_cagr_over_bars_per_year(first, last, bars, periods, cagr):
    assert r.annualised_return(geometric(first, last, bars), periods) == pytest.approx(cagr)


def test_annualised_return_of_a_wide_frame_and_of_too_few_prices():
    wide = pd.DataFrame({"EQ": [100, NAN, 121], "COIN": [100, 110, 121], "ONE": [5, NAN, NAN]},
                        index=DAYS[:3])
    got = r.annualised_return(wide, {"EQ": 1, "COIN": 2, "ONE": 252})
    assert got["EQ"] == pytest.approx(0.21)  # two prices: one bar, one bar a year
    assert got["COIN"] == pytest.approx(0.21)  # three prices: two bars, two bars a year
    assert math.isnan(got["ONE"])
    assert math.isnan(r.annualised_return(series(), 252))


# -- laws ----------------------------------------------------------------------------------------

PRICE = st.floats(min_value=0.01, max_value=1e6, allow_nan=False, allow_infinity=False)


def price_series(price: st.SearchStrategy[float]) -> st.SearchStrategy[pd.Series]:
    """Daily series of three to eighty prices (at least two returns)."""
    return st.lists(price, min_size=3, max_size=80).map(
        lambda xs: pd.Series(xs, index=pd.date_range("2024-01-01", periods=len(xs))))


PRICES = price_series(PRICE)
MODEST = price_series(st.floats(min_value=1.0, max_value=1000.0))
"""Prices within a factor 1000, where compounding loses few digits to rounding."""


@st.composite
def gappy_frames(draw) -> pd.DataFrame:
    """Two or three columns of prices with random gaps (NaN)."""
    n = draw(st.integers(min_value=1, max_value=40))
    columns = {}
    for name in ("A", "B", "C")[: draw(st.integers(min_value=2, max_value=3))]:
        values = draw(st.lists(st.one_of(PRICE, st.just(NAN)), min_size=n, max_size=n))
        columns[name] = values
    return pd.DataFrame(columns, index=pd.date_range("2024-01-01", periods=n), dtype=float)


@given(gappy_frames())
def test_a_rebased_frame_starts_at_100_on_a_day_every_column_has(frame):
    got = r.rebase(frame)
    start = r.first_common_date(frame)
    if start is None:
        assert got.empty
        return
    assert got.index[0] == start and frame.loc[:start].iloc[:-1].notna().all(axis=1).sum() == 0
    np.testing.assert_allclose(got.iloc[0], 100.0)
    np.testing.assert_allclose(got, frame.loc[start:] / frame.loc[start] * 100.0)


@given(PRICES)
def test_drawdown_is_never_positive_and_bounded_by_minus_one(prices):
    dd = r.drawdown(prices)
    assert (dd <= 0).all() and (dd > -1).all()
    assert r.max_drawdown(prices) == dd.min()


@given(PRICES)
def test_a_rising_series_has_no_drawdown(prices):
    rising = prices.sort_values(ignore_index=True).set_axis(prices.index)
    assert r.max_drawdown(rising) == 0.0


@given(PRICES, st.sampled_from([1, 12, 52, 252, 365]))
def test_volatility_scales_with_the_root_of_periods(prices, periods):
    log_ret = r.log_returns(prices)
    daily = r.volatility(log_ret, 1)
    assert r.volatility(log_ret, periods) == pytest.approx(daily * math.sqrt(periods))
    assert daily == pytest.approx(float(np.std(np.diff(np.log(prices.to_numpy())), ddof=1)),
                                  rel=1e-9, abs=1e-15)


@given(MODEST)
def test_returns_compound_to_the_total_return(prices):
    total = r.total_return(prices)
    simple, log = r.simple_returns(prices), r.log_returns(prices)
    assert float((1 + simple.dropna()).prod()) - 1 == pytest.approx(total, rel=1e-6, abs=1e-9)
    assert math.expm1(float(log.sum())) == pytest.approx(total, rel=1e-6, abs=1e-9)


@given(PRICES)
def test_over_exactly_one_year_the_annualised_return_is_the_total_return(prices):
    bars = len(prices) - 1
    assert r.annualised_return(prices, bars) == pytest.approx(r.total_return(prices),
                                                              rel=1e-9, abs=1e-12)


@given(PRICES, st.floats(min_value=0.001, max_value=1000))
def test_returns_and_drawdowns_do_not_depend_on_the_price_unit(prices, scale):
    scaled = prices * scale
    for f in (r.simple_returns, r.log_returns, r.drawdown):
        np.testing.assert_allclose(f(scaled), f(prices), rtol=1e-9, atol=1e-12)


def test_the_module_imports_only_numpy_pandas_and_the_shared_vocabulary():
    assert imports_of(r) == {"__future__", "collections.abc", "typing", "numpy", "pandas",
                             "models.instruments"}
