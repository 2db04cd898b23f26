"""models.risk.backtest: hand-computed statistics, then the laws every backtest obeys."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import binom, chi2

from models.risk import backtest as bt
from tests.models.imports import imports_of, roots

NAN = np.nan


def hits(n: int, x: int) -> np.ndarray:
    """``n`` days, the first ``x`` of them exceptions."""
    out = np.zeros(n)
    out[:x] = 1.0
    return out


# -- Kupiec, by hand -----------------------------------------------------------------------------

def test_kupiec_250_days_5_exceptions_at_99_percent():
    n, x, p = 250, 5, 0.01
    null = (n - x) * math.log(1 - p) + x * math.log(p)
    fitted = (n - x) * math.log(1 - x / n) + x * math.log(x / n)
    expected = -2 * null + 2 * fitted
    lr, p_value = bt.kupiec_pof(hits(n, x), 0.99)
    assert lr == pytest.approx(expected, rel=1e-12)
    assert p_value == pytest.approx(chi2.sf(expected, 1), rel=1e-12)
    assert lr == pytest.approx(1.9568, abs=1e-4)


def test_kupiec_with_no_exceptions_and_with_only_exceptions():
    n, p = 100, 0.05
    lr0, _ = bt.kupiec_pof(hits(n, 0), 0.95)  # 0 ln 0 = 0: only (1-p)^n survives
    assert lr0 == pytest.approx(-2 * n * math.log(1 - p))
    lr_all, _ = bt.kupiec_pof(np.ones(n, dtype=bool), 0.95)
    assert lr_all == pytest.approx(-2 * n * math.log(p))


def test_kupiec_is_zero_at_the_nominal_rate():
    lr, p_value = bt.kupiec_pof(hits(200, 10), 0.95)
    assert lr == pytest.approx(0.0, abs=1e-10)
    assert p_value == pytest.approx(1.0)


def test_kupiec_skips_missing_days_and_accepts_pandas():
    with_gaps = pd.Series([NAN, 1, 0, NAN, 0, 0, 1, 0, 0, 0, 0, 0])
    assert bt.kupiec_pof(with_gaps, 0.9) == pytest.approx(bt.kupiec_pof(hits(10, 2), 0.9))


def test_kupiec_is_vectorised_over_columns():
    frame = np.column_stack([hits(250, 0), hits(250, 5), hits(250, 12)])
    lr, p_value = bt.kupiec_pof(frame, 0.99)
    assert lr.shape == p_value.shape == (3,)
    for j in range(3):
        assert (lr[j], p_value[j]) == pytest.approx(bt.kupiec_pof(frame[:, j], 0.99))


@pytest.mark.parametrize("bad", [[0, 2, 1], [0.5, 0.0], [[[0]]]])
def test_kupiec_rejects_what_is_not_an_exception_series(bad):
    with pytest.raises(ValueError):
        bt.kupiec_pof(bad, 0.99)


@pytest.mark.parametrize("confidence", [0.0, 1.0, 1.5, -0.1])
def test_confidence_must_lie_in_the_open_unit_interval(confidence):
    with pytest.raises(ValueError, match="confidence"):
        bt.kupiec_pof(hits(10, 1), confidence)


# -- Christoffersen, by hand ---------------------------------------------------------------------

SEQUENCE = [0, 0, 1, 1, 1, 0, 0, 0, 0, 1]
# pairs: 00 01 11 11 10 00 00 00 01 -> n00=4, n01=2, n10=1, n11=2


def test_transition_counts_by_hand():
    assert bt.transition_counts(SEQUENCE) == (4, 2, 1, 2)
    # a missing day breaks the chain: (1, NaN) and (NaN, 0) are no pairs
    assert bt.transition_counts([0, 1, NAN, 0, 0]) == (1, 1, 0, 0)


def test_christoffersen_on_a_hand_counted_sequence():
    n00, n01, n10, n11 = 4, 2, 1, 2
    pi01, pi11, pi = n01 / (n00 + n01), n11 / (n10 + n11), (n01 + n11) / 9
    null = (n00 + n10) * math.log(1 - pi) + (n01 + n11) * math.log(pi)
    fitted = (n00 * math.log(1 - pi01) + n01 * math.log(pi01)
              + n10 * math.log(1 - pi11) + n11 * math.log(pi11))
    lr_ind = -2 * null + 2 * fitted
    n, x, p = 10, 4, 0.1
    lr_pof = (-2 * ((n - x) * math.log(1 - p) + x * math.log(p))
              + 2 * ((n - x) * math.log(1 - x / n) + x * math.log(x / n)))

    got = bt.christoffersen(SEQUENCE, 0.9)
    assert got == pytest.approx((lr_ind, chi2.sf(lr_ind, 1),
                                 lr_pof + lr_ind, chi2.sf(lr_pof + lr_ind, 2)), rel=1e-12)


def test_christoffersen_with_zero_counts():
    # no exceptions at all: n01 = n10 = n11 = 0, nothing to say about clustering
    lr_ind, p_ind, lr_cc, _ = bt.christoffersen(np.zeros(50), 0.99)
    assert lr_ind == pytest.approx(0.0) and p_ind == pytest.approx(1.0)
    assert lr_cc == pytest.approx(bt.kupiec_pof(np.zeros(50), 0.99)[0])
    # isolated exceptions, never two in a row: n11 = 0
    alternating = [0, 1, 0, 0, 1, 0, 0, 0, 1, 0]
    assert bt.transition_counts(alternating) == (3, 3, 3, 0)
    n00, n01, n10 = 3, 3, 3
    pi01, pi = n01 / (n00 + n01), (n01 + 0) / 9
    expected = (-2 * ((n00 + n10) * math.log(1 - pi) + n01 * math.log(pi))
                + 2 * (n00 * math.log(1 - pi01) + n01 * math.log(pi01)))  # pi11 = 0
    assert bt.christoffersen(alternating, 0.9)[0] == pytest.approx(expected)


def test_clustered_exceptions_fail_independence():
    clustered = hits(250, 5)  # five in a row
    _, p_ind, _, p_cc = bt.christoffersen(clustered, 0.99)
    assert p_ind < 1e-6 and p_cc < 1e-6
    assert bt.kupiec_pof(clustered, 0.99)[1] > 0.1  # the count alone looks fine


def test_christoffersen_is_vectorised_over_columns():
    rng = np.random.default_rng(7)
    frame = (rng.random((300, 4)) < 0.05).astype(float)
    got = bt.christoffersen(frame, 0.95)
    assert all(g.shape == (4,) for g in got)
    for j in range(4):
        assert tuple(g[j] for g in got) == pytest.approx(bt.christoffersen(frame[:, j], 0.95))


# -- Basel traffic light -------------------------------------------------------------------------

@pytest.mark.parametrize(("count", "zone"), [
    (0, "green"), (4, "green"), (5, "yellow"), (9, "yellow"), (10, "red"), (25, "red"),
])
def test_basel_zones_for_250_days_at_99_percent(count, zone):
    assert bt.basel_zone(count, 250) == zone
    assert bt.basel_zone(count, 250, 0.99) == zone


def test_the_binomial_rule_reproduces_the_basel_boundaries():
    cdf = binom.cdf(np.arange(251), 250, 0.01)
    last_green = int(np.flatnonzero(cdf < bt.BASEL_YELLOW_CUMULATIVE)[-1])
    last_yellow = int(np.flatnonzero(cdf < bt.BASEL_RED_CUMULATIVE)[-1])
    assert (last_green, last_yellow) == (4, 9)


def test_basel_zone_is_vectorised():
    zones = bt.basel_zone(np.arange(12), 250)
    assert list(zones) == ["green"] * 5 + ["yellow"] * 5 + ["red"] * 2


@pytest.mark.parametrize(("count", "n_obs"), [(-1, 250), (251, 250), (2.5, 250), (0, 0)])
def test_basel_zone_rejects_impossible_counts(count, n_obs):
    with pytest.raises(ValueError):
        bt.basel_zone(count, n_obs)


# -- Acerbi-Szekely Z2 ---------------------------------------------------------------------------

def tail_exactly_at_es(days: int = 200, alpha: float = 0.025):
    """``days * alpha`` exceptions, each a loss equal to that day's (varying) ES."""
    es = np.linspace(0.03, 0.05, days)
    var = es * 0.8
    returns = np.full(days, 0.001)
    tail_days = np.arange(0, days, days // round(days * alpha))[: round(days * alpha)]
    returns[tail_days] = -es[tail_days]
    return returns, var, es


def test_z2_is_zero_when_tail_losses_equal_es():
    returns, var, es = tail_exactly_at_es()
    assert bt.acerbi_szekely_z2(returns, var, es, 0.975) == pytest.approx(0.0, abs=1e-12)


def test_z2_by_hand():
    returns = np.array([0.01, -0.05, 0.0, -0.03, 0.02])
    var, es = 0.02, 0.04  # days 1 and 3 are exceptions
    expected = (-0.05 / 0.04 - 0.03 / 0.04) / (5 * 0.1) + 1
    assert bt.acerbi_szekely_z2(returns, var, es, 0.9) == pytest.approx(expected)


def test_z2_is_negative_when_losses_exceed_es():
    returns, var, es = tail_exactly_at_es()
    worse = np.where(returns < 0, returns * 1.5, returns)
    z2 = bt.acerbi_szekely_z2(worse, var, es, 0.975)
    assert z2 == pytest.approx(-0.5)
    assert bt.z2_zone(z2) == "green"
    assert bt.acerbi_szekely_z2(returns * 3, var, es, 0.975) == pytest.approx(-2.0)
    assert bt.z2_zone(-2.0) == "red"


def test_z2_is_positive_without_exceptions():
    returns, var, es = tail_exactly_at_es()
    assert bt.acerbi_szekely_z2(np.abs(returns), var, es, 0.975) == pytest.approx(1.0)


def test_z2_skips_missing_days_and_is_vectorised():
    returns, var, es = tail_exactly_at_es()
    padded = np.concatenate([[NAN, -0.5], returns])
    var_padded = np.concatenate([[0.01, NAN], var])
    es_padded = np.concatenate([[0.02, 0.02], es])
    assert bt.acerbi_szekely_z2(padded, var_padded, es_padded, 0.975) == pytest.approx(0.0)

    frame = np.column_stack([returns, returns * 3])
    z2 = bt.acerbi_szekely_z2(frame, var[:, None], es[:, None], 0.975)
    assert z2 == pytest.approx([0.0, -2.0])


def test_z2_needs_a_positive_es():
    with pytest.raises(ValueError, match="es"):
        bt.acerbi_szekely_z2([-0.1, 0.0], 0.02, [0.03, 0.0], 0.975)


@pytest.mark.parametrize(("z2", "zone"), [
    (0.3, "green"), (-0.69, "green"), (-0.70, "green"), (-0.71, "yellow"), (-1.8, "yellow"),
    (-1.81, "red"),
])
def test_z2_zone_uses_the_published_critical_values(z2, zone):
    assert (bt.Z2_YELLOW, bt.Z2_RED, bt.Z2_ALPHA) == (-0.70, -1.8, 0.025)
    assert bt.z2_zone(z2) == zone


def test_var_exceptions_uses_positive_var():
    got = bt.var_exceptions([0.01, -0.02, -0.03, NAN], [0.02, 0.02, 0.02, 0.02])
    np.testing.assert_array_equal(got, [0.0, 0.0, 1.0, NAN])  # -0.02 is not beyond 0.02


# -- laws ----------------------------------------------------------------------------------------

CONFIDENCE = st.sampled_from([0.9, 0.95, 0.975, 0.99, 0.999])
SERIES = st.lists(st.booleans(), min_size=1, max_size=300)


@settings(max_examples=60, deadline=None)
@given(SERIES, CONFIDENCE)
def test_kupiec_lr_is_nonnegative_and_p_value_a_probability(series, confidence):
    lr, p_value = bt.kupiec_pof(series, confidence)
    assert lr >= 0.0
    assert 0.0 <= p_value <= 1.0


@settings(max_examples=60, deadline=None)
@given(st.lists(st.booleans(), min_size=2, max_size=300), CONFIDENCE)
def test_conditional_coverage_adds_pof_and_independence(series, confidence):
    lr_ind, p_ind, lr_cc, p_cc = bt.christoffersen(series, confidence)
    assert lr_ind >= 0.0 and 0.0 <= p_ind <= 1.0 and 0.0 <= p_cc <= 1.0
    assert lr_cc == pytest.approx(bt.kupiec_pof(series, confidence)[0] + lr_ind)
    assert sum(bt.transition_counts(series)) == len(series) - 1


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=1, max_value=1000), CONFIDENCE)
def test_basel_zones_are_monotone_in_the_exception_count(n_obs, confidence):
    rank = {"green": 0, "yellow": 1, "red": 2}
    zones = [rank[z] for z in bt.basel_zone(np.arange(n_obs + 1), n_obs, confidence)]
    assert zones == sorted(zones)
    assert zones[-1] == 2  # every day an exception: P(X <= n) = 1, always red


@settings(max_examples=40, deadline=None)
@given(st.lists(st.floats(min_value=-5.0, max_value=5.0), min_size=1, max_size=50))
def test_z2_zones_are_monotone(values):
    rank = {"green": 0, "yellow": 1, "red": 2}
    ordered = sorted(values, reverse=True)
    zones = [rank[z] for z in bt.z2_zone(ordered)]
    assert zones == sorted(zones)


def test_the_module_imports_only_numpy_pandas_and_scipy():
    assert roots(imports_of(bt)) <= {"__future__", "typing", "numpy", "pandas", "scipy"}
