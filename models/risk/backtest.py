"""VaR and ES backtests: Kupiec, Christoffersen, the Basel traffic light, Acerbi-Szekely Z2.

Conventions, used by every function here:

* An *exception* (a VaR breach) is a day whose realised loss exceeded that day's VaR
  forecast. An exception series holds booleans or 0/1 values; NaN means "no forecast or no
  return that day" and the day is skipped.
* Returns ``X_t`` are signed (a loss is negative). VaR and ES are *positive loss amounts* in
  the same units: a 99% VaR of 0.02 means "a 2% loss is exceeded one day in a hundred", and
  day ``t`` is an exception when ``X_t < -VaR_t`` (see :func:`var_exceptions`).
* ``confidence`` is the VaR level (0.99); the tail probability is ``p = alpha = 1 - confidence``.
* Vectorised: a 1-D input (n_obs,) gives floats; a 2-D input (n_obs, n_subjects), one
  column per portfolio or model, gives numpy arrays of shape (n_subjects,), each column
  tested on its own non-missing days. ``pd.Series`` and ``pd.DataFrame`` are accepted.

Pure numpy/pandas/scipy: nothing here reads a clock or a database.

References: P. Kupiec (1995), "Techniques for verifying the accuracy of risk measurement
models", J. Derivatives 3(2); P. Christoffersen (1998), "Evaluating interval forecasts",
Int. Economic Review 39(4); Basel Committee (1996), "Supervisory framework for the use of
backtesting in conjunction with the internal models approach to market risk capital
requirements"; C. Acerbi and B. Szekely (2014), "Backtesting expected shortfall", Risk.
"""

from __future__ import annotations

from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import special, stats

ArrayLike: TypeAlias = npt.ArrayLike | pd.Series | pd.DataFrame
Stat: TypeAlias = Any
"""A float for a 1-D input, an ``np.ndarray`` of shape (n_subjects,) for a 2-D input."""

GREEN, YELLOW, RED = "green", "yellow", "red"
"""The three zones of a traffic-light backtest."""

BASEL_YELLOW_CUMULATIVE = 0.95
"""Basel (1996): the yellow zone starts at the first count ``x`` with P(X <= x) >= 95%."""
BASEL_RED_CUMULATIVE = 0.9999
"""Basel (1996): the red zone starts at the first count ``x`` with P(X <= x) >= 99.99%."""

Z2_ALPHA = 0.025
"""The tail probability (97.5% ES) for which the Z2 critical values below were tabulated."""
Z2_YELLOW = -0.70
"""Acerbi and Szekely (2014), test 2 at alpha = 2.5%: the 5% critical value of Z2."""
Z2_RED = -1.8
"""Acerbi and Szekely (2014), test 2 at alpha = 2.5%: the 0.01% critical value of Z2."""


def _tail_probability(confidence: float) -> float:
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence!r}")
    return 1.0 - float(confidence)


def _as_2d(values: ArrayLike, name: str) -> tuple[npt.NDArray[np.float64], bool]:
    """``values`` as a float (n_obs, n_subjects) array, and whether the input was 1-D."""
    array = np.asarray(values, dtype=float)
    if array.ndim == 1:
        return array[:, None], True
    if array.ndim == 2:
        return array, False
    raise ValueError(f"{name} must be 1-D (n_obs,) or 2-D (n_obs, n_subjects), "
                     f"got {array.ndim} dimensions")


def _exceptions_2d(exceptions: ArrayLike) -> tuple[npt.NDArray[np.float64], bool]:
    hits, one_d = _as_2d(exceptions, "exceptions")
    present = ~np.isnan(hits)
    if not np.all((hits[present] == 0.0) | (hits[present] == 1.0)):
        raise ValueError("exceptions must be booleans or 0/1 values (NaN for a missing day)")
    return hits, one_d


def _out(values: npt.NDArray[Any], one_d: bool) -> Stat:
    return values.item() if one_d else values


def var_exceptions(returns: ArrayLike, var: ArrayLike) -> npt.NDArray[np.float64]:
    """1.0 where ``returns < -var`` (a loss beyond the positive VaR), 0.0 if not, NaN if either
    is missing. Same (broadcast) shape as the inputs; feed it to the tests below."""
    x = np.asarray(returns, dtype=float)
    v = np.asarray(var, dtype=float)
    hits = (x < -v).astype(float)
    return np.where(np.isnan(x) | np.isnan(v), np.nan, hits)


def _pof_lr(n: npt.NDArray[np.float64], x: npt.NDArray[np.float64],
            p: float) -> npt.NDArray[np.float64]:
    """Kupiec's LR for ``x`` exceptions in ``n`` days (NaN where ``n == 0``)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = np.where(n > 0, x / np.where(n > 0, n, 1.0), 0.0)
        null = special.xlogy(n - x, 1.0 - p) + special.xlogy(x, p)
        fitted = special.xlogy(n - x, 1.0 - rate) + special.xlogy(x, rate)
    lr = np.maximum(2.0 * (fitted - null), 0.0)  # >= 0 in exact arithmetic
    return np.where(n > 0, lr, np.nan)


def kupiec_pof(exceptions: ArrayLike, confidence: float) -> tuple[Stat, Stat]:
    """Kupiec's proportion-of-failures test: ``(lr, p_value)``.

    With ``n`` days, ``x`` exceptions and ``p = 1 - confidence``::

        LR = -2 ln[(1-p)^(n-x) p^x] + 2 ln[(1-x/n)^(n-x) (x/n)^x]

    with ``0 ln 0 = 0`` (so ``x = 0`` and ``x = n`` are fine), and ``p_value`` the chi-squared
    (1 d.o.f.) survival function at ``LR``. A small p-value rejects "the exception rate is p"
    (too many or too few exceptions). NaN for a column with no days.
    """
    p = _tail_probability(confidence)
    hits, one_d = _exceptions_2d(exceptions)
    present = ~np.isnan(hits)
    n = present.sum(axis=0).astype(float)
    x = np.where(present, hits, 0.0).sum(axis=0)
    lr = _pof_lr(n, x, p)
    return _out(lr, one_d), _out(stats.chi2.sf(lr, 1), one_d)


def transition_counts(exceptions: ArrayLike) -> Stat:
    """``(n00, n01, n10, n11)``: ``n_ij`` counts days in state ``j`` after a day in state ``i``
    (0 = no exception, 1 = exception). Only pairs of consecutive rows that are both present
    count. Four ints for a 1-D input; a (4, n_subjects) int array for a 2-D input."""
    hits, one_d = _exceptions_2d(exceptions)
    before, after = hits[:-1], hits[1:]
    both = ~np.isnan(before) & ~np.isnan(after)
    counts = np.stack([
        (both & (before == i) & (after == j)).sum(axis=0) for i in (0, 1) for j in (0, 1)
    ])
    return tuple(int(c) for c in counts[:, 0]) if one_d else counts


def christoffersen(exceptions: ArrayLike, confidence: float) -> tuple[Stat, Stat, Stat, Stat]:
    """Christoffersen's independence and conditional-coverage tests:
    ``(lr_ind, p_ind, lr_cc, p_cc)``.

    From the transition counts ``n00, n01, n10, n11`` (:func:`transition_counts`), with
    ``pi01 = n01/(n00+n01)``, ``pi11 = n11/(n10+n11)`` and ``pi = (n01+n11)/(n00+n01+n10+n11)``::

        LR_ind = -2 ln[(1-pi)^(n00+n10) pi^(n01+n11)]
                 + 2 ln[(1-pi01)^n00 pi01^n01 (1-pi11)^n10 pi11^n11]

    with ``0 ln 0 = 0`` (a zero count, or an empty row of the 2x2 table, adds nothing);
    ``p_ind`` is chi-squared with 1 d.o.f. ``LR_cc = LR_pof + LR_ind`` (Kupiec's LR over all
    present days) with ``p_cc`` chi-squared with 2 d.o.f. NaN for a column without a pair.
    """
    lr_pof, _ = kupiec_pof(exceptions, confidence)  # also validates the inputs
    one_d = np.ndim(np.asarray(exceptions)) == 1
    counts = np.asarray(transition_counts(exceptions), dtype=float).reshape(4, -1)
    n00, n01, n10, n11 = counts

    def rate(hit: npt.NDArray[np.float64], total: npt.NDArray[np.float64]
             ) -> npt.NDArray[np.float64]:
        return np.where(total > 0, hit / np.where(total > 0, total, 1.0), 0.0)

    pi01, pi11 = rate(n01, n00 + n01), rate(n11, n10 + n11)
    pairs = counts.sum(axis=0)
    pi = rate(n01 + n11, pairs)
    null = special.xlogy(n00 + n10, 1.0 - pi) + special.xlogy(n01 + n11, pi)
    fitted = (special.xlogy(n00, 1.0 - pi01) + special.xlogy(n01, pi01)
              + special.xlogy(n10, 1.0 - pi11) + special.xlogy(n11, pi11))
    lr_ind = np.where(pairs > 0, np.maximum(2.0 * (fitted - null), 0.0), np.nan)
    lr_cc = np.asarray(lr_pof, dtype=float).reshape(-1) + lr_ind
    return (_out(lr_ind, one_d), _out(stats.chi2.sf(lr_ind, 1), one_d),
            _out(lr_cc, one_d), _out(stats.chi2.sf(lr_cc, 2), one_d))


def basel_zone(exceptions_count: npt.ArrayLike, n_obs: npt.ArrayLike,
               confidence: float = 0.99) -> Any:
    """The Basel traffic light for ``exceptions_count`` exceptions in ``n_obs`` days.

    Rule (Basel 1996, scaled to any ``n_obs`` and ``confidence``): with ``X`` binomial
    ``(n_obs, 1 - confidence)`` — the count a correct model produces — the zone is ``"green"``
    while ``P(X <= count) < 95%``, ``"yellow"`` while ``P(X <= count) < 99.99%``, ``"red"``
    beyond. For 250 days at 99% this gives the Basel table: 0-4 green, 5-9 yellow, 10+ red.

    A str for scalar inputs; an array of str (broadcast shape) for array inputs.
    """
    p = _tail_probability(confidence)
    x = np.asarray(exceptions_count)
    n = np.asarray(n_obs)
    if (not np.issubdtype(x.dtype, np.integer) and not np.all(x == np.round(x))) or \
            (not np.issubdtype(n.dtype, np.integer) and not np.all(n == np.round(n))):
        raise ValueError("exceptions_count and n_obs must be whole numbers")
    if np.any(n < 1) or np.any(x < 0) or np.any(x > n):
        raise ValueError("need n_obs >= 1 and 0 <= exceptions_count <= n_obs")
    cumulative = stats.binom.cdf(x, n, p)
    zones = np.where(cumulative < BASEL_YELLOW_CUMULATIVE, GREEN,
                     np.where(cumulative < BASEL_RED_CUMULATIVE, YELLOW, RED))
    return str(zones) if zones.ndim == 0 else zones


def acerbi_szekely_z2(returns: ArrayLike, var: ArrayLike, es: ArrayLike,
                      confidence: float) -> Stat:
    """Acerbi and Szekely's (2014) unconditional ES backtest, their test statistic Z2::

        Z2 = sum_t X_t I_t / (T alpha ES_t) + 1

    with ``X_t`` the signed return, ``VaR_t`` and ``ES_t`` positive losses at level
    ``confidence``, ``I_t = 1`` when ``X_t < -VaR_t``, ``alpha = 1 - confidence`` and ``T`` the
    number of days where all three are present (other days are skipped). ``Z2 = 0`` when the
    model is right on average (``T alpha`` exceptions whose mean loss is the ES); ``Z2 < 0``
    when the tail is worse than forecast (more exceptions, or larger losses); ``Z2 > 0`` when
    it is milder. Compare with :func:`z2_zone`. Inputs broadcast; each ``ES_t`` must be > 0.
    NaN for a column with no present day.
    """
    alpha = _tail_probability(confidence)
    x, one_d = _as_2d(returns, "returns")
    v = np.asarray(var, dtype=float)
    e = np.asarray(es, dtype=float)
    if one_d:
        v = v[:, None] if v.ndim == 1 else v
        e = e[:, None] if e.ndim == 1 else e
    x, v, e = np.broadcast_arrays(x, v, e)
    present = ~(np.isnan(x) | np.isnan(v) | np.isnan(e))
    if np.any(e[present] <= 0.0):
        raise ValueError("es must be a positive loss on every present day")
    hit = present & (x < -v)
    t = present.sum(axis=0).astype(float)
    tail = np.where(hit, x / np.where(hit, e, 1.0), 0.0).sum(axis=0)
    with np.errstate(divide="ignore", invalid="ignore"):
        z2 = np.where(t > 0, tail / (np.where(t > 0, t, 1.0) * alpha) + 1.0, np.nan)
    return _out(z2, one_d)


def z2_zone(z2: npt.ArrayLike) -> Any:
    """Traffic light for Z2 with the Acerbi-Szekely (2014) critical values at alpha = 2.5%
    (:data:`Z2_YELLOW` = -0.70 at 5%, :data:`Z2_RED` = -1.8 at 0.01%): ``"green"`` while
    ``z2 >= -0.70``, ``"yellow"`` while ``z2 >= -1.8``, ``"red"`` below. The values were
    tabulated for 97.5% ES (the paper finds them stable across tail shapes); use them only
    at that level. NaN raises. A str for a scalar, else an array of str.
    """
    values = np.asarray(z2, dtype=float)
    if np.any(np.isnan(values)):
        raise ValueError("z2 must not be NaN")
    zones = np.where(values >= Z2_YELLOW, GREEN, np.where(values >= Z2_RED, YELLOW, RED))
    return str(zones) if zones.ndim == 0 else zones
