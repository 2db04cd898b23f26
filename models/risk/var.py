"""Value at Risk and Conditional VaR (expected shortfall), vectorised over subjects.

Input ``returns`` holds simple daily returns: a 2-D array or ``pd.DataFrame`` of shape
``(n_obs, n_subjects)`` (one column per subject), or 1-D (a ``pd.Series`` or array) for one
subject. Every function gives one value per subject: a float for 1-D input, a 1-D array for a
2-D array, and a ``pd.Series`` indexed by the columns for a DataFrame. Values are positive loss
fractions: a 2% loss is ``0.02`` (a negative value means even the tail is a gain).

Notation: ``c`` is the confidence (strictly between 0.5 and 1), ``alpha = 1 - c`` the tail
probability, ``h`` the horizon in days.

Definitions, per subject:

* Historical: ``VaR = -Q(alpha)``, ``Q`` the empirical quantile with numpy's default
  ("linear") interpolation: over the sorted returns ``x_0 <= ... <= x_{n-1}`` at position
  ``p = (n - 1) * alpha``, ``Q = x_floor(p) + (p - floor(p)) * (x_floor(p)+1 - x_floor(p))``.
  ``CVaR = -mean(x : x <= Q)``: the mean of the tail at or beyond VaR (never empty, so
  ``CVaR >= VaR``). For ``h > 1`` both use the overlapping ``h``-day compounded returns
  ``prod(1 + r_t, ..., 1 + r_{t+h-1}) - 1``, one per start day ``t`` (``n - h + 1`` of them).
* Normal: mean ``mu`` and standard deviation ``sigma`` (``ddof=1``), ``z = Phi^-1(alpha)``:
  ``VaR = -(mu + sigma z)``, ``CVaR = -(mu - sigma phi(z) / alpha)``.
* Student-t: ``(nu, loc, scale)`` fitted per subject by maximum likelihood
  (``scipy.stats.t.fit`` with loc and scale free, see ``fit_student_t``), ``q = t_nu^-1(alpha)``
  of the standard t: ``VaR = -(loc + scale q)``, and with the closed-form expected shortfall of
  the standard t, ``ES = (nu + q^2) / (nu - 1) * f_nu(q) / alpha`` (``f_nu`` its density),
  ``CVaR = -loc + scale * ES``; infinite when the fitted ``nu <= 1`` (no finite mean).
* Cornish-Fisher: the normal quantile corrected by the sample skewness ``S`` and excess
  kurtosis ``K`` (the moment estimators ``g1 = m3 / m2^1.5``, ``g2 = m4 / m2^2 - 3``:
  ``scipy.stats.skew`` / ``kurtosis`` with their default ``bias=True``):
  ``z_cf(z) = z + (z^2 - 1) S/6 + (z^3 - 3z) K/24 - (2z^3 - 5z) S^2/36``,
  ``VaR = -(mu + sigma z_cf(z))``. CVaR integrates that quantile over the tail, exactly, in
  closed form: ``(1/alpha) int_0^alpha z_cf(Phi^-1(u)) du
  = -phi(z)/alpha * (1 + S z/6 + K (z^2 - 1)/24 - S^2 (2 z^2 - 1)/36)``, so
  ``CVaR = -mu + sigma phi(z)/alpha * (1 + S z/6 + K (z^2 - 1)/24 - S^2 (2 z^2 - 1)/36)``.
  The expansion is only a good quantile for moderate ``S`` and ``K``: for heavy skew or
  kurtosis ``z_cf`` is not monotone, and then neither "VaR rises with confidence" nor
  "CVaR >= VaR" is guaranteed.

Horizons: the parametric methods (normal, Student-t, Cornish-Fisher) use the square-root-of-time
rule on the whole one-day figure, ``VaR_h = sqrt(h) * VaR_1`` and ``CVaR_h = sqrt(h) * CVaR_1``
(the mean is scaled by ``sqrt(h)`` too, not by ``h``). Historical uses the overlapping
compounded ``h``-day returns above.

Every function needs at least ``MIN_OBSERVATIONS`` daily returns per subject (historical: at
least that many ``h``-day returns), finite values, ``0.5 < c < 1`` and an integer ``h >= 1``,
and raises ``ValueError`` naming the problem otherwise. Pure numpy/pandas/scipy.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Callable
from typing import TypeAlias

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view
from scipy import stats

MIN_OBSERVATIONS = 30
"""Fewest returns (historical: ``h``-day returns) per subject a VaR is computed from."""

Returns: TypeAlias = np.ndarray | pd.Series | pd.DataFrame
"""Simple returns: ``(n_obs,)`` for one subject or ``(n_obs, n_subjects)``."""
RiskValue: TypeAlias = float | np.ndarray | pd.Series
"""One value per subject: float (1-D input), 1-D array (2-D array), Series (DataFrame)."""

__all__ = [
    "MIN_OBSERVATIONS",
    "cvar_cornish_fisher",
    "cvar_historical",
    "cvar_normal",
    "cvar_student_t",
    "fit_student_t",
    "var_cornish_fisher",
    "var_historical",
    "var_normal",
    "var_student_t",
]


# -- validation and shapes -----------------------------------------------------------------------

def _as_matrix(returns: Returns) -> np.ndarray:
    """``returns`` as a finite float array of shape (n_obs, n_subjects)."""
    values = np.asarray(returns, dtype=float)
    if values.ndim == 1:
        values = values[:, None]
    elif values.ndim != 2:
        raise ValueError(
            f"returns must be 1-D (one subject) or 2-D (n_obs, n_subjects), got {values.ndim}-D"
        )
    if not np.isfinite(values).all():
        bad = int((~np.isfinite(values)).any(axis=0).sum())
        raise ValueError(f"returns must be finite: {bad} subject(s) hold NaN or infinite values")
    return values


def _check_confidence(confidence: float) -> float:
    if not isinstance(confidence, numbers.Real) or not 0.5 < float(confidence) < 1.0:
        raise ValueError(f"confidence must be strictly between 0.5 and 1, got {confidence!r}")
    return float(confidence)


def _check_horizon(horizon_days: int) -> int:
    if (isinstance(horizon_days, bool) or not isinstance(horizon_days, numbers.Integral)
            or horizon_days < 1):
        raise ValueError(f"horizon_days must be an integer >= 1, got {horizon_days!r}")
    return int(horizon_days)


def _check_count(n_obs: int, what: str = "returns") -> None:
    if n_obs < MIN_OBSERVATIONS:
        raise ValueError(
            f"too few observations: {n_obs} {what} per subject, need at least {MIN_OBSERVATIONS}"
        )


def _prepare(returns: Returns, confidence: float,
             horizon_days: int) -> tuple[np.ndarray, float, int]:
    """Validated ``(matrix, alpha, h)``."""
    c = _check_confidence(confidence)
    h = _check_horizon(horizon_days)
    values = _as_matrix(returns)
    _check_count(values.shape[0])
    return values, 1.0 - c, h


def _shape_like(values: np.ndarray, returns: Returns) -> RiskValue:
    """Per-subject ``values`` in the form matching ``returns`` (see module docstring)."""
    if isinstance(returns, pd.DataFrame):
        return pd.Series(values, index=returns.columns, dtype=float)
    if np.ndim(returns) == 1:
        return float(values[0])
    return values


# -- historical ----------------------------------------------------------------------------------

def _horizon_returns(values: np.ndarray, h: int) -> np.ndarray:
    """Overlapping ``h``-day compounded returns, shape (n_obs - h + 1, n_subjects)."""
    if h == 1:
        return values
    windows = sliding_window_view(1.0 + values, h, axis=0)  # (n - h + 1, n_subjects, h)
    compounded: np.ndarray = windows.prod(axis=-1) - 1.0
    return compounded


def _historical(returns: Returns, confidence: float,
                horizon_days: int) -> tuple[np.ndarray, np.ndarray]:
    """Tail returns' ``(quantile, tail_mean)`` per subject, from the h-day returns."""
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    if h > 1:
        n_windows = values.shape[0] - h + 1
        if n_windows < MIN_OBSERVATIONS:
            raise ValueError(
                f"too few observations: {values.shape[0]} daily returns give {max(n_windows, 0)}"
                f" overlapping {h}-day returns per subject, need at least {MIN_OBSERVATIONS}"
            )
    sample = _horizon_returns(values, h)
    quantile = np.quantile(sample, alpha, axis=0)  # numpy's default: method="linear"
    tail = sample <= quantile
    tail_mean = np.where(tail, sample, 0.0).sum(axis=0) / tail.sum(axis=0)
    return quantile, tail_mean


def var_historical(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Historical VaR: ``-Q(1 - c)`` of the (``h``-day compounded, overlapping) returns.

    ``Q`` is numpy's default linear-interpolation quantile.
    """
    quantile, _ = _historical(returns, confidence, horizon_days)
    return _shape_like(-quantile, returns)


def cvar_historical(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Historical CVaR: ``-mean`` of the (``h``-day) returns at or below ``-VaR``."""
    _, tail_mean = _historical(returns, confidence, horizon_days)
    return _shape_like(-tail_mean, returns)


# -- normal --------------------------------------------------------------------------------------

def _moments(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return values.mean(axis=0), values.std(axis=0, ddof=1)


def var_normal(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Normal VaR: ``sqrt(h) * -(mu + sigma Phi^-1(1 - c))``, ``sigma`` with ``ddof=1``."""
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    mu, sigma = _moments(values)
    z = stats.norm.ppf(alpha)
    return _shape_like(math.sqrt(h) * -(mu + sigma * z), returns)


def cvar_normal(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Normal CVaR: ``sqrt(h) * -(mu - sigma phi(z) / (1 - c))``, ``z = Phi^-1(1 - c)``."""
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    mu, sigma = _moments(values)
    z = stats.norm.ppf(alpha)
    return _shape_like(math.sqrt(h) * -(mu - sigma * stats.norm.pdf(z) / alpha), returns)


# -- Student-t -----------------------------------------------------------------------------------

def _fit_t_column(x: np.ndarray) -> tuple[float, float, float]:
    """Maximum-likelihood ``(nu, loc, scale)`` of one column.

    The fit runs on ``(x - median) / std`` and is mapped back: the same estimator (the t
    likelihood is location-scale equivariant), but the optimiser's absolute tolerances then
    mean the same thing whatever the returns' scale. A constant column gives
    ``(inf, x_0, 0)``: a point mass.
    """
    centre = float(np.median(x))
    spread = float(x.std(ddof=1))
    if spread == 0.0 or not np.isfinite(spread):
        return math.inf, centre, 0.0
    nu, loc, scale = stats.t.fit((x - centre) / spread)
    return float(nu), centre + spread * float(loc), spread * float(scale)


def fit_student_t(returns: Returns) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Student-t ``(nu, loc, scale)`` per subject by maximum likelihood (``scipy.stats.t.fit``).

    Three arrays of length ``n_subjects`` (length 1 for 1-D input).

    Raises:
        ValueError: non-finite returns, or fewer than ``MIN_OBSERVATIONS`` of them.
    """
    values = _as_matrix(returns)
    _check_count(values.shape[0])
    fits = np.array([_fit_t_column(values[:, j]) for j in range(values.shape[1])],
                    dtype=float).reshape(-1, 3)
    return fits[:, 0], fits[:, 1], fits[:, 2]


def _t_quantile(nu: np.ndarray, alpha: float) -> np.ndarray:
    """Standard-t quantile ``t_nu^-1(alpha)``, the normal one where ``nu`` is infinite."""
    finite = np.isfinite(nu)
    safe = np.where(finite, nu, 1.0)
    q: np.ndarray = np.where(finite, stats.t.ppf(alpha, safe), stats.norm.ppf(alpha))
    return q


def var_student_t(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Student-t VaR: ``sqrt(h) * -(loc + scale t_nu^-1(1 - c))``, ``(nu, loc, scale)`` by MLE."""
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    nu, loc, scale = fit_student_t(values)
    q = _t_quantile(nu, alpha)
    return _shape_like(math.sqrt(h) * -(loc + scale * q), returns)


def cvar_student_t(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Student-t CVaR: ``sqrt(h) * (-loc + scale (nu + q^2)/(nu - 1) f_nu(q)/(1 - c))``.

    ``q = t_nu^-1(1 - c)``; infinite where the fitted ``nu <= 1``.
    """
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    nu, loc, scale = fit_student_t(values)
    q = _t_quantile(nu, alpha)
    finite = np.isfinite(nu)
    safe = np.where(finite & (nu > 1.0), nu, 2.0)
    es_t = (safe + q**2) / (safe - 1.0) * stats.t.pdf(q, safe) / alpha
    es = np.where(finite, es_t, stats.norm.pdf(q) / alpha)  # nu -> inf: the normal ES
    cvar = np.where(finite & (nu <= 1.0), math.inf, -loc + scale * es)
    return _shape_like(math.sqrt(h) * cvar, returns)


# -- Cornish-Fisher ------------------------------------------------------------------------------

def _cornish_fisher(returns: Returns, confidence: float, horizon_days: int,
                    tail: Callable[[float, np.ndarray, np.ndarray], np.ndarray]) -> RiskValue:
    values, alpha, h = _prepare(returns, confidence, horizon_days)
    mu, sigma = _moments(values)
    skew, kurt = _shape(values)
    return _shape_like(math.sqrt(h) * -(mu + sigma * tail(alpha, skew, kurt)), returns)


def _shape(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Moment skewness ``g1 = m3 / m2^1.5`` and excess kurtosis ``g2 = m4 / m2^2 - 3``.

    The same numbers as ``scipy.stats.skew`` / ``kurtosis`` (``bias=True``); 0 and 0 for a
    constant column (no shape: its loss is just ``-mu``).
    """
    dev = values - values.mean(axis=0)
    root_m2 = np.sqrt((dev**2).mean(axis=0))
    varying = root_m2 > 0.0
    unit = dev / np.where(varying, root_m2, 1.0)  # standardised first: no under/overflow
    g1 = np.where(varying, (unit**3).mean(axis=0), 0.0)
    g2 = np.where(varying, (unit**4).mean(axis=0) - 3.0, 0.0)
    return g1, g2


def _cf_quantile(alpha: float, s: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``z_cf`` at ``z = Phi^-1(alpha)``."""
    z = stats.norm.ppf(alpha)
    out: np.ndarray = (z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24
                       - (2 * z**3 - 5 * z) * s**2 / 36)
    return out


def _cf_tail_mean(alpha: float, s: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``(1/alpha) int_0^alpha z_cf(Phi^-1(u)) du``, in closed form."""
    z = stats.norm.ppf(alpha)
    bracket = 1 + s * z / 6 + k * (z**2 - 1) / 24 - s**2 * (2 * z**2 - 1) / 36
    out: np.ndarray = -stats.norm.pdf(z) / alpha * bracket
    return out


def var_cornish_fisher(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Cornish-Fisher VaR: ``sqrt(h) * -(mu + sigma z_cf)``, ``z_cf`` the skew/kurtosis-
    corrected normal quantile at ``1 - c``."""
    return _cornish_fisher(returns, confidence, horizon_days, _cf_quantile)


def cvar_cornish_fisher(returns: Returns, confidence: float, horizon_days: int = 1) -> RiskValue:
    """Cornish-Fisher CVaR: ``sqrt(h) * -(mu + sigma * mean of z_cf over the tail (0, 1 - c))``,
    the tail mean integrated exactly (module docstring)."""
    return _cornish_fisher(returns, confidence, horizon_days, _cf_tail_mean)
