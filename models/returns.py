"""Return and risk maths on price series: the one place each definition is written.

Inputs are positive prices (or returns) as a ``pd.Series`` indexed by date, or a wide
``pd.DataFrame`` with one column per symbol (date x symbol). Every function works column by
column over that column's own non-missing values, so an equity (no weekend bars: NaN on
Saturdays) and a coin (a bar every day) can share one frame: a Monday equity return is Monday
over Friday. NaN means "no price (or return) on that row". The reducing functions (volatility,
maximum drawdown, total and annualised return) give a float for a Series and a Series indexed
by the columns for a DataFrame.

Annualisation has one rule, ``periods_per_year``: 365 bars a year for the 24/7 calendar, 252
for every exchange calendar. Pure numpy/pandas: nothing here reads a clock or a database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

import numpy as np
import pandas as pd

from models.instruments import ALWAYS_OPEN

TRADING_DAYS_PER_YEAR = 252
"""Bars a year on an exchange calendar (sessions, not calendar days)."""
CALENDAR_DAYS_PER_YEAR = 365
"""Bars a year on the 24/7 calendar (crypto trades every calendar day)."""

Frame = TypeVar("Frame", pd.Series, pd.DataFrame)
Periods = int | Mapping[str, int]
"""Bars per year: one number for every column, or one per column name."""


def periods_per_year(calendar: str | None) -> int:
    """Bars per year used to annualise: 365 for ``"24/7"``, 252 for any other calendar.

    Args:
        calendar: an instrument's calendar (``"XNYS"``, ``"24/7"``, ...); None or unknown
            names count as exchange calendars.
    """
    return CALENDAR_DAYS_PER_YEAR if calendar == ALWAYS_OPEN else TRADING_DAYS_PER_YEAR


def _previous(prices: Frame) -> Frame:
    """Each row's previous non-missing price of the same column (NaN before the first)."""
    return prices.ffill().shift(1)


def simple_returns(prices: Frame) -> Frame:
    """``r_t = P_t / P_prev - 1``, where ``P_prev`` is the column's previous non-missing price.

    Same shape as ``prices``; NaN on each column's first price and wherever ``P_t`` is NaN.
    Prices 100, 110, 99 give NaN, 0.10, -0.10.
    """
    out: Frame = prices / _previous(prices) - 1.0
    return out


def log_returns(prices: Frame) -> Frame:
    """``l_t = ln(P_t / P_prev)``, with ``P_prev`` and NaN exactly as in ``simple_returns``."""
    out: Frame = np.log(prices / _previous(prices))
    return out


def first_common_date(prices: pd.DataFrame) -> pd.Timestamp | None:
    """The first index label (in index order) on which every column has a value.

    None when there is no such row (an empty frame, or columns that never overlap).
    """
    complete = prices.notna().all(axis=1).to_numpy()
    if not complete.any():
        return None
    return pd.Timestamp(prices.index[int(complete.argmax())])


def rebase(prices: Frame, base: float = 100.0) -> Frame:
    """``P_t / P_0 * base``, where row 0 is the first row on which every column has a price.

    Rows before that are dropped (a Series starts at its first non-missing price); later
    gaps stay NaN. Empty (same columns, no rows) when the columns never share a row.
    """
    complete = prices.notna()
    if isinstance(complete, pd.DataFrame):
        complete = complete.all(axis=1)
    mask = complete.to_numpy()
    if not mask.any():
        return prices.iloc[0:0]
    shown = prices.iloc[int(mask.argmax()):]
    out: Frame = shown / shown.iloc[0] * base
    return out


def _per_year(columns: pd.Index, periods: Periods) -> np.ndarray:
    """Bars per year for each of ``columns``, as floats."""
    if isinstance(periods, int):
        return np.full(len(columns), float(periods))
    missing = [str(c) for c in columns if c not in periods]
    if missing:
        raise ValueError(f"No periods per year for column(s): {', '.join(missing)}")
    return np.array([periods[c] for c in columns], dtype=float)


def _name(series: pd.Series) -> pd.Index:
    return pd.Index([series.name])


def volatility(log_ret: pd.Series | pd.DataFrame, periods: Periods) -> float | pd.Series:
    """Annualised volatility ``sigma = std(l, ddof=1) * sqrt(periods)`` of log returns ``l``.

    NaN returns are skipped; NaN when a column has fewer than two returns.

    Args:
        log_ret: daily log returns (``log_returns(prices)``).
        periods: bars per year (``periods_per_year``), one number or one per column.

    Raises:
        ValueError: ``periods`` is a mapping without an entry for some column.
    """
    if isinstance(log_ret, pd.Series):
        return float(log_ret.std(ddof=1)) * float(np.sqrt(_per_year(_name(log_ret), periods)[0]))
    return log_ret.std(ddof=1) * np.sqrt(_per_year(log_ret.columns, periods))


def rolling_volatility(log_ret: Frame, window: int, periods: Periods) -> Frame:
    """``volatility`` over each trailing window of ``window`` returns: same shape as ``log_ret``.

    A window counts the column's own non-missing returns, not rows (21 equity returns span
    about 29 calendar days beside a coin's). NaN until a column has ``window`` returns, and on
    rows where the column has no return.

    Raises:
        ValueError: ``window < 2``, or ``periods`` misses a column.
    """
    if window < 2:
        raise ValueError(f"A volatility window needs at least 2 returns, got {window}")

    def roll(series: pd.Series) -> pd.Series:
        return series.dropna().rolling(window, min_periods=window).std(ddof=1)

    if isinstance(log_ret, pd.Series):
        scale = float(np.sqrt(_per_year(_name(log_ret), periods)[0]))
        out_s: pd.Series = roll(log_ret).reindex(log_ret.index) * scale
        return out_s
    stds = pd.DataFrame({c: roll(log_ret[c]) for c in log_ret.columns},
                        index=log_ret.index, columns=log_ret.columns)
    out_f: pd.DataFrame = stds * np.sqrt(_per_year(log_ret.columns, periods))
    return out_f


def drawdown(prices: Frame) -> Frame:
    """``D_t = P_t / max(P_s, s <= t) - 1``: the fall from the running peak, always <= 0.

    Same shape as ``prices``; NaN where the price is NaN (the peak skips missing prices).
    Prices 100, 110, 99 give 0, 0, -0.10.
    """
    out: Frame = prices / prices.cummax() - 1.0
    return out


def max_drawdown(prices: pd.Series | pd.DataFrame) -> float | pd.Series:
    """``min_t D_t``: the deepest fall from a running peak (``drawdown``), in ``[-1, 0]``.

    0 for a series that never falls; NaN for a column with no prices.
    """
    dd = drawdown(prices)
    return float(dd.min()) if isinstance(dd, pd.Series) else dd.min()


def _ends(prices: pd.Series | pd.DataFrame) -> tuple[pd.Series, pd.Series, pd.Series]:
    """First and last non-missing price and the number of prices, per column."""
    frame = prices.to_frame() if isinstance(prices, pd.Series) else prices
    if frame.empty:
        nan = pd.Series(np.nan, index=frame.columns)
        return nan, nan, frame.count()
    return frame.bfill().iloc[0], frame.ffill().iloc[-1], frame.count()


def total_return(prices: pd.Series | pd.DataFrame) -> float | pd.Series:
    """``P_last / P_first - 1`` over each column's first and last non-missing price.

    0 for a single price; NaN for a column with no prices.
    """
    first, last, _ = _ends(prices)
    out = last / first - 1.0
    return float(out.iloc[0]) if isinstance(prices, pd.Series) else out


def annualised_return(
    prices: pd.Series | pd.DataFrame, periods: Periods
) -> float | pd.Series:
    """CAGR ``(P_last / P_first) ** (periods / n) - 1``, ``n`` = bars from first to last.

    ``n`` is the number of non-missing prices minus one, so ``n / periods`` is the span in
    years (252 sessions or 365 days make a year). NaN for a column with fewer than two prices.

    Raises:
        ValueError: ``periods`` is a mapping without an entry for some column.
    """
    first, last, count = _ends(prices)
    years = (count - 1).astype(float) / _per_year(first.index, periods)
    out = ((last / first) ** (1.0 / years) - 1.0).where(count > 1)  # 1 ** nan would be 1
    return float(out.iloc[0]) if isinstance(prices, pd.Series) else out
