"""The return and price dynamics behind ``models.market_sim``: pure numpy, no state, no I/O.

Arrays are laid out (days, series) so that one day of every series is contiguous: the day loops
below then treat each series identically whatever else is in the batch.
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

GARCH_ALPHA, GARCH_BETA, T_DOF = 0.08, 0.90, 5.0
MAX_VOL_MULTIPLE = 4.0
"""GARCH volatility is capped at this multiple of its long-run level (2008 peaked near 5x)."""
WEEKDAYS_PER_YEAR, DAYS_PER_YEAR = 261.0, 365.25
SPLIT_RATIOS, SPLIT_ODDS = np.array([2.0, 3.0, 4.0, 10.0]), np.array([0.45, 0.7, 0.9])
SPLIT_CHANCE = 0.02
"""Chance per session that a stock trading above its split threshold splits that day."""
MIN_PRICE_AFTER_SPLIT = 25.0
GAP_SHARE = 0.25
"""Share of an equity's close-to-close move that happens overnight (the open gap)."""


@dataclass(frozen=True)
class Factor:
    """A common return driver: GARCH-t around a drift, with optional crashes."""

    annual_vol: float
    annual_drift: float
    every_day: bool  # False: moves on weekdays only
    crashes_per_year: float = 0.0
    crash_size: tuple[float, float] = (0.0, 0.0)


MARKET = Factor(0.13, 0.08, every_day=False, crashes_per_year=0.3, crash_size=(0.07, 0.12))
SECTOR = Factor(0.12, 0.0, every_day=False)
CRYPTO = Factor(0.55, 0.25, every_day=True, crashes_per_year=0.3, crash_size=(0.15, 0.25))


@dataclass(frozen=True)
class _Ranges:
    """Ranges from which a symbol of one asset class draws its character."""

    beta: tuple[float, float]
    loading: tuple[float, float]  # on its sector factor (crypto: on the crypto factor)
    own_vol: tuple[float, float]
    alpha: tuple[float, float]  # annual log drift on top of the factors
    price: tuple[float, float]  # start price, drawn log-uniform
    volume: tuple[float, float]  # typical daily volume, drawn log-uniform
    payer_share: float = 0.0  # share of symbols that pay dividends
    dividend_yield: tuple[float, float] = (0.0, 0.0)
    splits: bool = False


RANGES = {
    "equity": _Ranges((0.6, 1.4), (0.8, 1.2), (0.10, 0.24), (-0.02, 0.02), (20, 500),
                      (1e5, 3e7), 0.6, (0.005, 0.03), splits=True),
    "etf": _Ranges((0.85, 1.15), (0.8, 1.2), (0.02, 0.05), (0.0, 0.0), (50, 500),
                   (1e5, 3e7), 0.9, (0.01, 0.02)),
    "index": _Ranges((0.95, 1.05), (1.0, 1.0), (0.005, 0.01), (0.0, 0.0), (1e3, 2e4),
                     (1e8, 5e9)),
    "crypto": _Ranges((0.2, 0.5), (0.8, 1.2), (0.2, 0.5), (0.0, 0.1), (0.5, 5e4), (1e6, 1e10)),
}  # fmt: skip
"""What the simulator supports, by asset class."""


@dataclass(frozen=True)
class Profile:
    """One symbol's character. All fields are floats so a batch stacks into arrays per field."""

    every_day: float  # 1.0 if it moves every calendar day (crypto), 0.0 for weekdays only
    beta: float
    loading: float
    own_vol: float
    alpha: float
    start_price: float
    volume: float
    supply: float  # crypto units in circulation (NaN otherwise), for market cap
    split_at: float  # price above which it may split (inf: never)
    dividend_yield: float
    dividend_month: float  # 0, 1 or 2: first ex-dividend month of each quarter (Jan, Feb, Mar)
    dividend_day: float  # day of the month a dividend falls due

    @property
    def daily_vol(self) -> float:
        """Rough volatility of one bar, used to size open gaps, wicks and volume."""
        factor = CRYPTO if self.every_day else SECTOR
        annual = (self.beta * MARKET.annual_vol) ** 2 + (self.loading * factor.annual_vol) ** 2
        return float(np.sqrt((annual + self.own_vol**2) / ticks_per_year(bool(self.every_day))))


def stable_key(text: str) -> int:
    """A stable 32-bit key for a name (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


def ticks_per_year(every_day: bool) -> float:
    """How many days a year a component moves: every day, or weekdays."""
    return DAYS_PER_YEAR if every_day else WEEKDAYS_PER_YEAR


@lru_cache(maxsize=65536)
def profile_of(symbol: str, asset_class: str) -> Profile:
    """The character of a symbol, drawn from its name and asset class alone (never the seed).

    Raises:
        KeyError: ``asset_class`` is not in ``RANGES``.
    """
    r = RANGES[asset_class]
    u = np.random.default_rng([stable_key(symbol), stable_key(asset_class)]).random(12)

    def pick(bounds: tuple[float, float], x: float, log: bool = False) -> float:
        lo, hi = np.log(bounds) if log else bounds
        value = lo + (hi - lo) * x
        return float(np.exp(value) if log else value)

    crypto, start_price = asset_class == "crypto", pick(r.price, u[4], log=True)
    pays = u[6] < r.payer_share
    return Profile(
        every_day=float(crypto),
        beta=pick(r.beta, u[0]),
        loading=pick(r.loading, u[1]),
        own_vol=pick(r.own_vol, u[2]),
        alpha=pick(r.alpha, u[3]),
        start_price=start_price,
        volume=pick(r.volume, u[5], log=True),
        supply=pick((1e7, 1e11), u[7], log=True) if crypto else np.nan,
        split_at=max(150.0, start_price * pick((2.0, 3.5), u[8])) if r.splits else np.inf,
        dividend_yield=pick(r.dividend_yield, u[9]) if pays else 0.0,
        dividend_month=float(int(u[10] * 3)),
        dividend_day=float(1 + int(u[11] * 28)),
    )


def t_shocks(rng: np.random.Generator, size: int) -> np.ndarray:
    """Student-t draws (``T_DOF`` degrees of freedom) scaled to unit variance."""
    return rng.standard_t(T_DOF, size) * np.sqrt((T_DOF - 2.0) / T_DOF)


def garch(
    z: np.ndarray,
    tick: np.ndarray,
    long_run_var: np.ndarray,
    variance: np.ndarray,
    jumps: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Run GARCH(1,1) over days (rows) for many series (columns) at once.

    Args:
        z: unit-variance shocks, (days, series).
        tick: whether each series moves that day; on other days its return is 0 and its
            variance holds.
        long_run_var: unconditional variance per tick, per series.
        variance: conditional variance entering the first day, per series.
        jumps: optional jump returns added to the shocks; they feed the variance recursion, so
            volatility spikes after a jump (up to ``MAX_VOL_MULTIPLE`` times its usual level).

    Returns:
        The returns and the conditional variance of each day, both (days, series), and the
        variance entering the day after the last.
    """
    omega = long_run_var * (1.0 - GARCH_ALPHA - GARCH_BETA)
    cap = long_run_var * MAX_VOL_MULTIPLE**2
    returns, variances = np.zeros_like(z), np.empty_like(z)
    for t in range(z.shape[0]):
        variances[t] = variance
        shock = np.sqrt(variance) * z[t] + (0.0 if jumps is None else jumps[t])
        returns[t] = np.where(tick[t], shock, 0.0)
        updated = np.minimum(omega + GARCH_ALPHA * shock**2 + GARCH_BETA * variance, cap)
        variance = np.where(tick[t], updated, variance)
    return returns, variances, variance


def weekdays(days: np.ndarray) -> np.ndarray:
    """Whether each ``datetime64[D]`` day is Monday to Friday."""
    return (days.astype("int64") + 3) % 7 < 5  # 1970-01-01 was a Thursday


def factor_paths(
    kinds: Sequence[Factor],
    rngs: Sequence[np.random.Generator],
    days: np.ndarray,
    variance: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Daily log returns of common factors over ``days``, one column per factor.

    Args:
        kinds: what each factor is.
        rngs: each factor's own random generator for these days.
        days: consecutive ``datetime64[D]`` days.
        variance: the GARCH variance each factor enters the first day with; None at the very
            start of history (each starts at its long-run level).

    Returns:
        Returns and volatility regime (volatility over its long-run level), both (days,
        factors), and the variance entering the day after the last.
    """
    n = len(days)
    z, jumps = np.empty((n, len(kinds))), np.zeros((n, len(kinds)))
    for j, (f, rng) in enumerate(zip(kinds, rngs, strict=True)):
        z[:, j] = t_shocks(rng, n)
        crash = rng.random(n) < f.crashes_per_year / ticks_per_year(f.every_day)
        jumps[:, j] = np.where(crash, -rng.uniform(*f.crash_size, n), 0.0)
    every_day = np.array([f.every_day for f in kinds], dtype=bool)
    ticks = np.where(every_day, DAYS_PER_YEAR, WEEKDAYS_PER_YEAR)
    tick = every_day | weekdays(days)[:, None]
    long_run = np.array([f.annual_vol**2 for f in kinds]) / ticks
    start = long_run if variance is None else variance
    shocks, variances, end = garch(z, tick, long_run, start, jumps)
    drift = np.where(tick, np.array([f.annual_drift for f in kinds]) / ticks, 0.0)
    return drift + shocks, np.sqrt(variances / long_run), end


def series_draws(rng: np.random.Generator, n: int) -> np.ndarray:
    """The random numbers one series uses over ``n`` days, (7, n).

    Rows: own shock (unit t), open gap (normal), volume (normal), upper and lower wick
    (exponential), whether to split and the split ratio (uniform).
    """
    shocks = t_shocks(rng, n)[None]
    normal, exponential = rng.standard_normal((2, n)), rng.standard_exponential((2, n))
    return np.concatenate([shocks, normal, exponential, rng.random((2, n))])


def _split_ratio(u: np.ndarray, last_close: np.ndarray) -> np.ndarray:
    """2:1 mostly, sometimes 3:1, 4:1 or 10:1; never so large the price falls below ~25."""
    ratio = SPLIT_RATIOS[np.searchsorted(SPLIT_ODDS, u, side="right")]
    return np.where(last_close / ratio < MIN_PRICE_AFTER_SPLIT, 2.0, ratio)


def as_traded(
    log_value: np.ndarray,
    trading: np.ndarray,
    draws: np.ndarray,
    due_days: np.ndarray,
    p: dict[str, np.ndarray],
    state: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk the bars: total-return index -> as-traded closes, splits and dividends.

    Args:
        log_value: log total-return index, (days, series).
        trading: whether each series has a bar that day, (days, series).
        draws: uniforms (2, days, series) deciding whether a stock splits and by how much.
        due_days: days on which a quarterly dividend falls due; it is paid (goes ex) on the
            first bar from then on.
        p: stacked profiles (``split_at``, ``dividend_yield``).
        state: ``log_value_at_bar``, ``log_adjustment`` (log of as traded / total return),
            ``last_close`` and ``dividend_due`` per series; updated in place.

    Returns:
        Closes (NaN where no bar), log total return since the previous bar, split ratios
        (1 = none) and dividends per share (0 = none), each (days, series).
    """
    close = np.full_like(log_value, np.nan)
    bar_return = np.zeros_like(log_value)
    ratio = np.ones_like(log_value)
    cash = np.zeros_like(log_value)
    at_bar, adjustment = state["log_value_at_bar"], state["log_adjustment"]
    last_close, due = state["last_close"], state["dividend_due"] > 0
    for t in np.flatnonzero(trading.any(axis=1) | due_days.any(axis=1)):
        trade, value = trading[t], log_value[t]
        bar_return[t] = np.where(trade, value - at_bar, 0.0)
        at_bar = np.where(trade, value, at_bar)
        split = trade & (last_close > p["split_at"]) & (draws[0, t] < SPLIT_CHANCE)
        ratio[t] = np.where(split, _split_ratio(draws[1, t], last_close), 1.0)
        due = due | due_days[t]
        paid, due = trade & due, due & ~trade
        quarterly = np.round(p["dividend_yield"] / 4 * last_close / ratio[t], 2)
        cash[t] = np.where(paid, np.maximum(quarterly, 0.01), 0.0)
        before = np.exp(value + adjustment) / ratio[t]  # the price had nothing been paid
        close[t] = before - cash[t]
        adjustment = adjustment - np.log(ratio[t]) + np.log1p(-cash[t] / before)
        last_close = np.where(trade, close[t], last_close)
    state.update(
        log_value_at_bar=at_bar,
        log_adjustment=adjustment,
        last_close=last_close,
        dividend_due=due.astype(float),
    )
    return close, bar_return, ratio, cash


def dividend_due_days(days: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
    """Days on which a payer's quarterly dividend falls due, (days, series)."""
    months = days.astype("datetime64[M]")
    day_of_month = (days - months.astype(days.dtype)).astype("int64") + 1
    in_quarter = (months.astype("int64") % 12)[:, None] % 3 == p["dividend_month"]
    return in_quarter & (day_of_month[:, None] == p["dividend_day"]) & (p["dividend_yield"] > 0)


def ohlcv(
    close: np.ndarray,
    bar_return: np.ndarray,
    ratio: np.ndarray,
    draws: np.ndarray,
    p: dict[str, np.ndarray],
    state: dict[str, np.ndarray],
) -> np.ndarray:
    """Open, high, low, close, volume and market cap around the closes, (6, days, series).

    Crypto opens at the previous close; equities open after a small overnight gap. Wicks and
    volume grow with the size of the move; volume is in shares, so it scales up after a split.
    """
    vol = p["daily_vol"]
    intraday = np.where(
        p["every_day"] > 0, bar_return, (1 - GAP_SHARE) * bar_return + 0.2 * vol * draws[1]
    )
    open_ = close * np.exp(-intraday)
    wick = 0.5 * (vol + np.abs(bar_return))
    high = np.maximum(open_, close) * np.exp(wick * draws[3])
    low = np.minimum(open_, close) * np.exp(-wick * draws[4])
    shares = state["shares"] * np.cumprod(ratio, axis=0)
    state["shares"] = shares[-1]
    surprise = 1.0 + np.abs(bar_return) / vol
    volume = np.round(p["volume"] * shares * np.exp(0.35 * draws[2]) * surprise)
    return np.stack([open_, high, low, close, volume, close * p["supply"]])
