"""A deterministic, seeded market simulator: daily OHLCV bars and corporate actions.

Each series is built from daily log returns on a calendar-day clock::

    r[day, symbol] = drift + beta * market + loading * (sector or crypto factor) + own noise

- The market, sector and crypto factors and each symbol's own noise are GARCH(1,1) processes with
  Student-t shocks, so returns have fat tails and volatility clusters. The market and the crypto
  factor crash now and then (rare jumps of -7..-12% and -15..-25%); a crash feeds the GARCH
  recursion, so volatility spikes after it.
- Equity-like components move on weekdays, crypto components every day. A bar's return is the sum
  since the previous bar, so a holiday's move shows on the next session.
- Closes are as traded: a stock above its split threshold splits now and then (its close drops by
  the ratio) and dividend payers go ex-dividend once a quarter (the close drops by the cash).

Determinism: history is generated from ``history_start`` in calendar-year chunks. Each chunk draws
from ``SeedSequence([seed, crc32(component), year])`` (component ``market``, ``crypto``,
``sector:<name>`` or ``symbol:<symbol>``) and starts from the state the previous year left. So the
same seed gives the same data, a day's value does not depend on the window asked for, and adding a
symbol to the universe never changes another symbol's series. A symbol's character (beta,
volatility, price level, dividend policy) comes from its name alone and is the same for every seed.
"""

from __future__ import annotations

import threading
import zlib
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date
from functools import lru_cache

import numpy as np
import pandas as pd

from models import calendars

PRICE_COLUMNS = ("symbol", "date", "open", "high", "low", "close", "volume", "market_cap")
ACTION_COLUMNS = ("symbol", "date", "action", "value")
"""The frame layouts of ``pipelines.sources.base`` (models may not import pipelines)."""

SUPPORTED_ASSET_CLASSES = ("equity", "etf", "index", "crypto")
SECTORS = (
    "Technology", "Health Care", "Financials", "Consumer Discretionary", "Industrials",
    "Communication Services", "Consumer Staples", "Energy", "Utilities", "Materials",
    "Real Estate",
)  # fmt: skip

GARCH_ALPHA, GARCH_BETA, T_DOF = 0.06, 0.92, 5.0
WEEKDAYS_PER_YEAR, DAYS_PER_YEAR = 261.0, 365.25
SPLIT_RATIOS, SPLIT_ODDS = np.array([2.0, 3.0, 4.0, 10.0]), np.array([0.45, 0.7, 0.9])
SPLIT_CHANCE = 0.02
"""Chance per session that a stock trading above its split threshold splits that day."""
MIN_PRICE_AFTER_SPLIT = 25.0
GAP_SHARE = 0.25
"""Share of an equity's close-to-close move that happens overnight (the open gap)."""


@dataclass(frozen=True)
class SeriesSpec:
    """What the simulator needs to know about one symbol."""

    symbol: str
    asset_class: str
    sector: str | None = None
    calendar: str = "XNYS"


def synthetic_universe(n_equities: int, n_crypto: int = 0) -> list[SeriesSpec]:
    """A made-up universe for benchmarks: ``SIM0000``... on XNYS, ``SIMC000-USD``... on 24/7.

    Args:
        n_equities: number of equities; their sectors cycle through ``SECTORS``.
        n_crypto: number of crypto assets.

    Returns:
        Equities first, then crypto.
    """
    equities = [
        SeriesSpec(f"SIM{i:04d}", "equity", SECTORS[i % len(SECTORS)], "XNYS")
        for i in range(n_equities)
    ]
    crypto = [SeriesSpec(f"SIMC{i:03d}-USD", "crypto", None, "24/7") for i in range(n_crypto)]
    return equities + crypto


@dataclass(frozen=True)
class _Factor:
    """A common return driver: GARCH-t around a drift, with optional crashes."""

    annual_vol: float
    annual_drift: float
    every_day: bool
    crashes_per_year: float = 0.0
    crash_size: tuple[float, float] = (0.0, 0.0)


_MARKET = _Factor(0.15, 0.09, every_day=False, crashes_per_year=0.3, crash_size=(0.07, 0.12))
_SECTOR = _Factor(0.12, 0.0, every_day=False)
_CRYPTO = _Factor(0.55, 0.25, every_day=True, crashes_per_year=0.3, crash_size=(0.15, 0.25))


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


_RANGES = {
    "equity": _Ranges((0.6, 1.4), (0.8, 1.2), (0.12, 0.28), (-0.01, 0.03), (20, 500),
                      (1e5, 3e7), 0.6, (0.005, 0.03), splits=True),
    "etf": _Ranges((0.85, 1.15), (0.8, 1.2), (0.02, 0.05), (0.0, 0.0), (50, 500),
                   (1e5, 3e7), 0.9, (0.01, 0.02)),
    "index": _Ranges((0.95, 1.05), (1.0, 1.0), (0.005, 0.01), (0.0, 0.0), (1e3, 2e4),
                     (1e8, 5e9)),
    "crypto": _Ranges((0.2, 0.5), (0.8, 1.2), (0.2, 0.5), (0.0, 0.1), (0.5, 5e4), (1e6, 1e10)),
}  # fmt: skip


@dataclass(frozen=True)
class _Profile:
    """One symbol's character; fields are floats so a batch stacks into arrays per field."""

    every_day: float  # 1.0 if its own noise moves every calendar day (crypto)
    beta: float
    loading: float
    own_vol: float
    alpha: float
    start_price: float
    volume: float
    supply: float  # crypto units in circulation (NaN otherwise), for market cap
    split_at: float  # price above which it may split (inf: never)
    dividend_yield: float
    dividend_month: float  # 0, 1 or 2: the first ex-dividend month of each quarter
    dividend_day: float

    @property
    def daily_vol(self) -> float:
        """Rough total volatility of one bar, used to size open gaps, wicks and volume."""
        factor = _CRYPTO if self.every_day else _SECTOR
        annual = (self.beta * _MARKET.annual_vol) ** 2 + (self.loading * factor.annual_vol) ** 2
        return float(np.sqrt((annual + self.own_vol**2) / _ticks_per_year(bool(self.every_day))))


def unsupported_reason(spec: SeriesSpec) -> str | None:
    """Why the simulator cannot produce ``spec``, or None if it can.

    Args:
        spec: the symbol to check.

    Returns:
        A sentence naming the unsupported asset class or unknown calendar, or None.
    """
    if spec.asset_class not in _RANGES:
        supported = ", ".join(SUPPORTED_ASSET_CLASSES)
        return f"asset class {spec.asset_class!r} is not simulated (supported: {supported})"
    if not calendars.is_known(spec.calendar):
        return f"unknown trading calendar {spec.calendar!r}"
    return None


def _ticks_per_year(every_day: bool) -> float:
    return DAYS_PER_YEAR if every_day else WEEKDAYS_PER_YEAR


def _key(text: str) -> int:
    """A stable 32-bit key for a name (Python's ``hash`` is salted per process)."""
    return zlib.crc32(text.encode("utf-8"))


@lru_cache(maxsize=65536)
def _profile_of(spec: SeriesSpec) -> _Profile:
    """The character of ``spec``, drawn from its symbol and asset class (never from the seed)."""
    r = _RANGES[spec.asset_class]
    u = np.random.default_rng([_key(spec.symbol), _key(spec.asset_class)]).random(12)

    def pick(bounds: tuple[float, float], x: float, log: bool = False) -> float:
        lo, hi = np.log(bounds) if log else bounds
        value = lo + (hi - lo) * x
        return float(np.exp(value) if log else value)

    crypto, start_price = spec.asset_class == "crypto", pick(r.price, u[4], log=True)
    pays = u[6] < r.payer_share
    return _Profile(
        every_day=float(crypto), beta=pick(r.beta, u[0]), loading=pick(r.loading, u[1]),
        own_vol=pick(r.own_vol, u[2]), alpha=pick(r.alpha, u[3]), start_price=start_price,
        volume=pick(r.volume, u[5], log=True),
        supply=pick((1e7, 1e11), u[7], log=True) if crypto else np.nan,
        split_at=max(100.0, start_price * pick((1.6, 3.0), u[8])) if r.splits else np.inf,
        dividend_yield=pick(r.dividend_yield, u[9]) if pays else 0.0,
        dividend_month=float(int(u[10] * 3)), dividend_day=float(1 + int(u[11] * 28)),
    )  # fmt: skip


def _t_shocks(rng: np.random.Generator, size: int) -> np.ndarray:
    """Student-t draws scaled to unit variance."""
    return rng.standard_t(T_DOF, size) * np.sqrt((T_DOF - 2.0) / T_DOF)


def _garch(
    z: np.ndarray, tick: np.ndarray, long_run_var: np.ndarray, variance: np.ndarray,
    jumps: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Run GARCH(1,1) over days (rows) for many series (columns) at once.

    Args:
        z: unit-variance shocks, shape (days, series).
        tick: whether each series moves that day; on other days its return is 0 and its variance
            holds.
        long_run_var: unconditional variance per tick, per series.
        variance: conditional variance entering the first day, per series.
        jumps: optional jump returns added to the shocks; they feed the variance recursion.

    Returns:
        The returns (days, series) and the variance entering the day after the last.
    """
    omega = long_run_var * (1.0 - GARCH_ALPHA - GARCH_BETA)
    out = np.zeros_like(z)
    for t in range(z.shape[0]):
        shock = np.sqrt(variance) * z[t] + (0.0 if jumps is None else jumps[t])
        out[t] = np.where(tick[t], shock, 0.0)
        variance = np.where(tick[t], omega + GARCH_ALPHA * shock**2 + GARCH_BETA * variance,
                            variance)  # fmt: skip
    return out, variance


def _weekdays(days: np.ndarray) -> np.ndarray:
    return (days.astype("int64") + 3) % 7 < 5  # 1970-01-01 was a Thursday


@dataclass
class _Year:
    """One series' output for one calendar year and the state the next year starts from."""

    dates: np.ndarray  # datetime64[D] of its bars
    bars: np.ndarray  # (bars, 6): open, high, low, close, volume, market_cap
    actions: list[tuple[np.datetime64, str, float]]
    state: np.ndarray  # see _STATE


_STATE = ("variance", "log_value", "log_value_at_bar", "log_adjustment", "last_close",
          "dividend_due", "shares")  # fmt: skip
"""Carried between years, per series: own GARCH variance, log total-return index at the end of
the year and at the last bar, log(as traded / total return), last close, whether a dividend is
waiting for the next session, cumulative split factor."""


def _split_ratio(u: np.ndarray, last_close: np.ndarray) -> np.ndarray:
    """2:1 mostly, sometimes 3:1, 4:1 or 10:1; never so large the price falls below ~25."""
    ratio = SPLIT_RATIOS[np.searchsorted(SPLIT_ODDS, u, side="right")]
    return np.where(last_close / ratio < MIN_PRICE_AFTER_SPLIT, 2.0, ratio)


def _as_traded(
    log_value: np.ndarray, trading: np.ndarray, draws: np.ndarray, anchors: np.ndarray,
    p: dict[str, np.ndarray], state: dict[str, np.ndarray],
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Walk the bars of one year: total-return index -> as-traded closes, splits, dividends.

    Args:
        log_value: log total-return index, (days, series).
        trading: whether each series has a bar that day.
        draws: uniforms (2, days, series) deciding whether and how much a stock splits.
        anchors: days on which a quarterly dividend falls due (paid on the next bar).
        p: stacked profiles.
        state: the carried state (``_STATE``); updated in place for the next year.

    Returns:
        Closes, log return since the previous bar, split ratios (1 = none) and dividends (0 = none),
        each (days, series).
    """
    close = np.full_like(log_value, np.nan)
    bar_return, cash = np.zeros_like(log_value), np.zeros_like(log_value)
    ratio = np.ones_like(log_value)
    at_bar, adjustment = state["log_value_at_bar"], state["log_adjustment"]
    last_close, due = state["last_close"], state["dividend_due"] > 0
    for t in np.flatnonzero(trading.any(axis=1)):
        trade, value = trading[t], log_value[t]
        bar_return[t] = np.where(trade, value - at_bar, 0.0)
        at_bar = np.where(trade, value, at_bar)
        split = trade & (last_close > p["split_at"]) & (draws[0, t] < SPLIT_CHANCE)
        ratio[t] = np.where(split, _split_ratio(draws[1, t], last_close), 1.0)
        due = due | anchors[t]
        paid, due = trade & due, due & ~trade
        quarterly = np.round(p["dividend_yield"] / 4 * last_close / ratio[t], 2)
        cash[t] = np.where(paid, np.maximum(quarterly, 0.01), 0.0)
        before = np.exp(value + adjustment) / ratio[t]  # what it would have traded at
        close[t] = before - cash[t]
        adjustment = adjustment - np.log(ratio[t]) + np.log1p(-cash[t] / before)
        last_close = np.where(trade, close[t], last_close)
    state.update(log_value_at_bar=at_bar, log_adjustment=adjustment, last_close=last_close,
                 dividend_due=due.astype(float))  # fmt: skip
    return close, bar_return, ratio, cash


class MarketSimulator:
    """Simulated daily bars and corporate actions for one seed, from ``history_start`` on.

    History is generated a calendar year at a time and kept, so later windows over the same
    symbols cost only a slice. Safe to share between threads. Memory: ~70 bytes per bar (500
    symbols x 10 years of bars is ~90 MB).
    """

    def __init__(self, seed: int, history_start: date) -> None:
        """Args:
            seed: any non-negative integer; the same seed gives the same data.
            history_start: first simulated day; no series has bars before it.

        Raises:
            ValueError: ``seed`` is negative.
        """
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.seed, self.history_start = seed, history_start
        self._factors: dict[str, list[tuple[np.ndarray, float]]] = {}
        self._series: dict[SeriesSpec, list[_Year]] = {}
        self._lock = threading.Lock()

    def unsupported_reason(self, spec: SeriesSpec, end: date) -> str | None:
        """Why ``spec`` cannot be simulated up to ``end``, or None if it can.

        Args:
            spec: the symbol to check.
            end: the last day that will be asked for.

        Returns:
            A sentence naming the unsupported asset class or calendar problem, or None.
        """
        reason = unsupported_reason(spec)
        if reason is None and end >= self.history_start:
            try:
                calendars.sessions(spec.calendar, self.history_start, date(end.year, 12, 31))
            except ValueError as exc:
                reason = str(exc)
        return reason

    def window(
        self, specs: Sequence[SeriesSpec], start: date, end: date
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Bars and corporate actions of ``specs`` on ``start..end`` (both inclusive).

        Args:
            specs: the symbols, each at most once; their order does not matter.
            start: first day; days before ``history_start`` have no bars.
            end: last day.

        Returns:
            ``(prices, actions)`` laid out as ``PRICE_COLUMNS`` and ``ACTION_COLUMNS``, sorted by
            symbol and date: as-traded bars on the symbol's trading days, actions on their
            ex-dates.

        Raises:
            ValueError: a symbol appears twice, or a spec fails ``unsupported_reason``.
        """
        ordered = sorted(set(specs), key=lambda s: s.symbol)
        if len({s.symbol for s in ordered}) != len(ordered):
            raise ValueError("each symbol may appear only once")
        for spec in ordered:
            if (reason := self.unsupported_reason(spec, end)) is not None:
                raise ValueError(f"{spec.symbol}: {reason}")
        if end >= self.history_start:
            with self._lock:
                for year in range(self.history_start.year, end.year + 1):
                    done = year - self.history_start.year
                    todo = [s for s in ordered if len(self._series.get(s, ())) == done]
                    if todo:
                        self._simulate_year(todo, year)
        return self._frames(ordered, max(start, self.history_start), end)

    def _rng(self, component: str, year: int) -> np.random.Generator:
        return np.random.default_rng(np.random.SeedSequence([self.seed, _key(component), year]))

    def _days(self, year: int) -> np.ndarray:
        first = max(self.history_start, date(year, 1, 1))
        return np.arange(np.datetime64(first, "D"), np.datetime64(date(year + 1, 1, 1), "D"))

    def _factor_year(self, keys: Sequence[str], year: int) -> dict[str, np.ndarray]:
        """Daily log returns of the named factors in ``year``, generating the ones missing."""
        done = year - self.history_start.year
        todo = [k for k in keys if len(self._factors.setdefault(k, [])) == done]
        if todo:
            days = self._days(year)
            spec = [_MARKET if k == "market" else _CRYPTO if k == "crypto" else _SECTOR
                    for k in todo]  # fmt: skip
            z, jumps = np.empty((len(days), len(todo))), np.zeros((len(days), len(todo)))
            for j, (key, f) in enumerate(zip(todo, spec, strict=True)):
                rng = self._rng(key, year)
                z[:, j] = _t_shocks(rng, len(days))
                crash = rng.random(len(days)) < f.crashes_per_year / _ticks_per_year(f.every_day)
                jumps[:, j] = np.where(crash, -rng.uniform(*f.crash_size, len(days)), 0.0)
            every_day = np.array([f.every_day for f in spec])
            ticks = np.where(every_day, DAYS_PER_YEAR, WEEKDAYS_PER_YEAR)
            tick = every_day | _weekdays(days)[:, None]
            long_run = np.array([f.annual_vol**2 for f in spec]) / ticks
            previous = [self._factors[k][-1][1] if done else np.nan for k in todo]
            variance = np.where(done > 0, previous, long_run)
            shocks, variance = _garch(z, tick, long_run, variance, jumps)
            drift = np.array([f.annual_drift for f in spec]) / ticks
            returns = np.where(tick, drift, 0.0) + shocks
            for j, key in enumerate(todo):
                self._factors[key].append((returns[:, j].copy(), float(variance[j])))
        return {k: self._factors[k][done][0] for k in keys}
