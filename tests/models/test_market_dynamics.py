"""The simulator's building blocks against values worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from models import market_dynamics as dyn

LONG_RUN = np.array([1e-4])


def hand_garch(z: list[float], variance: float) -> tuple[list[float], float]:
    """GARCH(1,1) written out one scalar step at a time."""
    omega = 1e-4 * (1 - dyn.GARCH_ALPHA - dyn.GARCH_BETA)
    returns = []
    for shock in z:
        r = variance**0.5 * shock
        returns.append(r)
        variance = omega + dyn.GARCH_ALPHA * r * r + dyn.GARCH_BETA * variance
    return returns, variance


def test_garch_follows_the_recursion() -> None:
    z = [1.0, -2.0, 0.5, 3.0]
    returns, variances, end = dyn.garch(
        np.array(z)[:, None], np.ones((4, 1), bool), LONG_RUN, np.array([2e-4])
    )
    expected, expected_end = hand_garch(z, 2e-4)
    np.testing.assert_allclose(returns[:, 0], expected, rtol=1e-12)
    assert end[0] == pytest.approx(expected_end, rel=1e-12)
    assert variances[0, 0] == 2e-4
    assert variances[1, 0] == pytest.approx(hand_garch(z[:1], 2e-4)[1], rel=1e-12)


def test_garch_stands_still_on_days_it_does_not_tick() -> None:
    tick = np.array([[True], [False], [True]])
    returns, variances, _ = dyn.garch(np.ones((3, 1)), tick, LONG_RUN, np.array([1e-4]))
    assert returns[1, 0] == 0.0
    assert variances[2, 0] == variances[1, 0]  # no update across the weekend
    expected, _ = hand_garch([1.0, 1.0], 1e-4)
    np.testing.assert_allclose(returns[[0, 2], 0], expected, rtol=1e-12)


def test_a_crash_raises_volatility_up_to_the_cap() -> None:
    jumps = np.array([[-0.5], [0.0]])
    _, variances, _ = dyn.garch(np.zeros((2, 1)), np.ones((2, 1), bool), LONG_RUN, LONG_RUN, jumps)
    assert variances[1, 0] == pytest.approx(1e-4 * dyn.MAX_VOL_MULTIPLE**2)
    _, mild, _ = dyn.garch(np.zeros((2, 1)), np.ones((2, 1), bool), LONG_RUN, LONG_RUN, jumps / 20)
    assert 1e-4 < mild[1, 0] < 1e-4 * dyn.MAX_VOL_MULTIPLE**2


def test_weekdays() -> None:
    days = np.arange(np.datetime64("2024-06-01"), np.datetime64("2024-06-08"))  # Sat..Fri
    assert dyn.weekdays(days).tolist() == [False, False, True, True, True, True, True]


def as_traded_one(
    prices: list[float],
    split_at: float = np.inf,
    dividend_yield: float = 0.0,
    split_day: int | None = None,
    due_day: int | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``as_traded`` for one series that trades every day from a first close of 100."""
    n = len(prices)
    draws = np.ones((2, n, 1))
    if split_day is not None:
        draws[:, split_day] = 0.0  # split, with the most common ratio (2:1)
    due = np.zeros((n, 1), bool)
    if due_day is not None:
        due[due_day] = True
    state = {
        "log_value_at_bar": np.log([100.0]),
        "log_adjustment": np.zeros(1),
        "last_close": np.array([100.0]),
        "dividend_due": np.zeros(1),
    }
    p = {"split_at": np.array([split_at]), "dividend_yield": np.array([dividend_yield])}
    log_value = np.log(np.array(prices))[:, None]
    return dyn.as_traded(log_value, np.ones((n, 1), bool), draws, due, p, state)


def test_without_actions_closes_follow_the_index() -> None:
    close, bar_return, ratio, cash = as_traded_one([110.0, 99.0])
    np.testing.assert_allclose(close[:, 0], [110.0, 99.0])
    np.testing.assert_allclose(bar_return[:, 0], np.log([1.1, 0.9]))
    assert (ratio == 1).all() and (cash == 0).all()


def test_a_dividend_comes_off_the_close_and_stays_off() -> None:
    # 4% a year = 1% a quarter of the previous close 110 -> 1.10 a share, ex on day 1.
    close, _, _, cash = as_traded_one([110.0, 121.0, 121.0], dividend_yield=0.04, due_day=1)
    assert cash[:, 0].tolist() == [0.0, 1.1, 0.0]
    np.testing.assert_allclose(close[:, 0], [110.0, 119.9, 119.9])


def test_a_split_divides_the_close_by_its_ratio() -> None:
    close, _, ratio, _ = as_traded_one([110.0, 121.0, 133.1], split_at=105.0, split_day=1)
    assert ratio[:, 0].tolist() == [1.0, 2.0, 1.0]
    np.testing.assert_allclose(close[:, 0], [110.0, 60.5, 66.55])


def test_no_split_below_the_threshold() -> None:
    _, _, ratio, _ = as_traded_one([110.0, 121.0], split_at=200.0, split_day=1)
    assert (ratio == 1).all()


@pytest.mark.parametrize(
    ("u", "last_close", "ratio"),
    [
        (0.1, 400.0, 2.0),
        (0.5, 400.0, 3.0),
        (0.8, 400.0, 4.0),
        (0.95, 400.0, 10.0),
        (0.95, 200.0, 2.0),
        (0.8, 90.0, 2.0),
    ],
)
def test_split_ratio(u: float, last_close: float, ratio: float) -> None:
    assert dyn._split_ratio(np.array([u]), np.array([last_close]))[0] == ratio


def test_dividends_fall_due_once_a_quarter() -> None:
    days = np.arange(np.datetime64("2023-01-01"), np.datetime64("2024-01-01"))
    p = {
        "dividend_month": np.array([1.0]),
        "dividend_day": np.array([15.0]),
        "dividend_yield": np.array([0.02]),
    }
    due = days[dyn.dividend_due_days(days, p)[:, 0]]
    assert [str(d) for d in due] == ["2023-02-15", "2023-05-15", "2023-08-15", "2023-11-15"]
    p["dividend_yield"] = np.array([0.0])
    assert not dyn.dividend_due_days(days, p).any()


@pytest.mark.parametrize("asset_class", sorted(dyn.RANGES))
def test_profiles_stay_in_their_ranges(asset_class: str) -> None:
    r = dyn.RANGES[asset_class]
    profiles = [dyn.profile_of(f"S{i}", asset_class) for i in range(200)]
    assert all(r.beta[0] <= x.beta <= r.beta[1] for x in profiles)
    assert all(r.own_vol[0] <= x.own_vol <= r.own_vol[1] for x in profiles)
    assert all(r.price[0] <= x.start_price <= r.price[1] for x in profiles)
    payers = [x for x in profiles if x.dividend_yield > 0]
    assert len(payers) == pytest.approx(200 * r.payer_share, abs=30)
    assert all(r.dividend_yield[0] <= x.dividend_yield <= r.dividend_yield[1] for x in payers)
    assert all((x.split_at < np.inf) == r.splits for x in profiles)
    assert dyn.profile_of("S1", asset_class) == profiles[1]  # from the name alone


def test_stable_key_never_changes() -> None:
    # Every series is seeded from these keys: a different hash would change all sample data.
    assert dyn.stable_key("market") == 0x6BAC85CB
