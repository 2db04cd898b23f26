"""A deterministic, seeded market simulator: daily OHLCV bars and corporate actions.

Each series is built from daily log returns on a calendar-day clock::

    r[day, symbol] = drift + beta * market + loading * (sector or crypto factor) + own noise

- The market, sector and crypto factors and each symbol's own noise are GARCH(1,1) processes with
  Student-t shocks, so returns have fat tails and volatility clusters; own noise also swells and
  shrinks with the market's (crypto's) volatility. The market and the crypto factor crash now and
  then (jumps of -7..-12% and -15..-25%), and volatility spikes after a crash.
- Equity-like components move on weekdays, crypto every day. A bar's return is the sum since the
  previous bar, so a holiday's move shows on the next session.
- Closes are as traded: a stock above its split threshold splits now and then (its close drops by
  the ratio) and dividend payers go ex-dividend once a quarter (the close drops by the cash).

Determinism: history is generated from ``history_start`` in calendar-year chunks. Each chunk draws
from ``SeedSequence([seed, crc32(component), year])`` (component ``market``, ``crypto``,
``sector:<name>`` or ``symbol:<symbol>``) and starts from the state the previous year left. So the
same seed gives the same data, a day's value does not depend on the window asked for, and adding a
symbol never changes another symbol's series. A symbol's character (beta, volatility, price level,
dividend policy) comes from its name and asset class alone, the same for every seed.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, fields
from datetime import date

import numpy as np
import pandas as pd

from models import calendars
from models import market_dynamics as dyn
from models.instruments import ACTION_COLUMNS, BAR_COLUMNS

SUPPORTED_ASSET_CLASSES = tuple(dyn.RANGES)
SECTORS = (
    "Technology", "Health Care", "Financials", "Consumer Discretionary", "Industrials",
    "Communication Services", "Consumer Staples", "Energy", "Utilities", "Materials",
    "Real Estate",
)  # fmt: skip


@dataclass(frozen=True)
class SeriesSpec:
    """What the simulator needs to know about one symbol."""

    symbol: str
    asset_class: str  # one of SUPPORTED_ASSET_CLASSES
    sector: str | None = None
    calendar: str = "XNYS"  # an exchange code, or "24/7"


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


def unsupported_reason(spec: SeriesSpec) -> str | None:
    """Why the simulator cannot produce ``spec`` at all, or None if it can.

    Args:
        spec: the symbol to check.

    Returns:
        A sentence naming the unsupported asset class or unknown calendar, or None.
    """
    if spec.asset_class not in dyn.RANGES:
        supported = ", ".join(SUPPORTED_ASSET_CLASSES)
        return f"asset class {spec.asset_class!r} is not simulated (supported: {supported})"
    if not calendars.is_known(spec.calendar):
        return f"unknown trading calendar {spec.calendar!r}"
    return None


@dataclass(frozen=True)
class _Year:
    """One series' output for one calendar year and the state the next year starts from."""

    dates: np.ndarray  # datetime64[D] of its bars
    bars: np.ndarray  # (6, bars): open, high, low, close, volume, market_cap
    actions: list[tuple[str, np.datetime64, str, float]]  # symbol, ex-date, action, value
    state: np.ndarray  # the values of _STATE


_STATE = (
    "variance",
    "log_value",
    "log_value_at_bar",
    "log_adjustment",
    "last_close",
    "dividend_due",
    "shares",
)
"""Carried from year to year, per series: own GARCH variance, log total-return index (at the end
of the year and at the last bar), log(as traded / total return), last close, whether a dividend
waits for the next bar, cumulative split factor."""


_FACTORS = {"market": dyn.MARKET, "crypto": dyn.CRYPTO}
"""Factor kinds by name; any other name (``sector:<name>``) is a sector factor."""


def _group_factor(spec: SeriesSpec) -> str | None:
    """The factor a series loads on besides the market: crypto's, its sector's, or none."""
    if spec.asset_class == "crypto":
        return "crypto"
    return None if spec.sector is None else f"sector:{spec.sector}"


def _first_state(profile: dyn.Profile) -> list[float]:
    """The ``_STATE`` of a series on ``history_start``."""
    variance = profile.own_vol**2 / dyn.ticks_per_year(bool(profile.every_day))
    log_price = float(np.log(profile.start_price))
    return [variance, log_price, log_price, 0.0, profile.start_price, 0.0, 1.0]


class MarketSimulator:
    """Simulated daily bars and corporate actions for one seed, from ``history_start`` on.

    History is generated a calendar year at a time and kept, so later windows over the same
    symbols cost only a slice. Safe to share between threads. Memory: ~60 bytes per bar (500
    symbols x 10 years is ~75 MB).
    """

    def __init__(self, seed: int, history_start: date) -> None:
        """Set up an empty history.

        Args:
            seed: any non-negative integer; the same seed gives the same data.
            history_start: first simulated day; no series has bars before it.

        Raises:
            ValueError: ``seed`` is negative.
        """
        if seed < 0:
            raise ValueError(f"seed must be a non-negative integer, got {seed}")
        self.seed, self.history_start = seed, history_start
        self._factors: dict[str, list[tuple[np.ndarray, np.ndarray, float]]] = {}
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
            ``(prices, actions)`` laid out as ``BAR_COLUMNS`` and ``ACTION_COLUMNS``, sorted by
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
        with self._lock:
            self._extend(ordered, end.year)
            return self._frames(ordered, max(start, self.history_start), end)

    def _extend(self, specs: Sequence[SeriesSpec], last_year: int) -> None:
        """Generate every year up to ``last_year`` that a spec is missing, oldest first."""
        first_year = self.history_start.year
        behind = [s for s in specs if len(self._series.get(s, ())) <= last_year - first_year]
        for year in range(first_year, last_year + 1) if behind else ():
            todo = [s for s in behind if len(self._series.get(s, ())) == year - first_year]
            if todo:
                self._simulate_year(todo, year)

    def _rng(self, component: str, year: int) -> np.random.Generator:
        entropy = [self.seed, dyn.stable_key(component), year]
        return np.random.default_rng(np.random.SeedSequence(entropy))

    def _days(self, year: int) -> np.ndarray:
        first = max(self.history_start, date(year, 1, 1))
        return np.arange(np.datetime64(first, "D"), np.datetime64(date(year + 1, 1, 1), "D"))

    def _factor_year(self, keys: set[str], year: int) -> dict[str, tuple[np.ndarray, np.ndarray]]:
        """Per factor: daily log returns in ``year`` and its volatility relative to normal."""
        done = year - self.history_start.year
        todo = sorted(k for k in keys if len(self._factors.setdefault(k, [])) == done)
        if todo:
            self._generate_factors(todo, year)
        return {k: self._factors[k][done][:2] for k in keys}

    def _generate_factors(self, keys: Sequence[str], year: int) -> None:
        done = year - self.history_start.year
        kinds = [_FACTORS.get(key, dyn.SECTOR) for key in keys]
        rngs = [self._rng(key, year) for key in keys]
        start = np.array([self._factors[k][-1][2] for k in keys]) if done else None
        returns, regime, end = dyn.factor_paths(kinds, rngs, self._days(year), start)
        for j, key in enumerate(keys):
            self._factors[key].append((returns[:, j].copy(), regime[:, j].copy(), end[j]))

    def _simulate_year(self, specs: Sequence[SeriesSpec], year: int) -> None:
        """Generate ``year`` for ``specs`` (each of which has every earlier year) and keep it."""
        days = self._days(year)
        profiles = [dyn.profile_of(s.symbol, s.asset_class) for s in specs]
        p = {f.name: np.array([getattr(x, f.name) for x in profiles]) for f in fields(dyn.Profile)}
        p["daily_vol"] = np.array([x.daily_vol for x in profiles])
        state = self._start_state(specs, profiles, year)
        rngs = [self._rng(f"symbol:{s.symbol}", year) for s in specs]
        draws = np.stack([dyn.series_draws(rng, len(days)) for rng in rngs], axis=2)
        log_value = self._log_values(specs, year, p, draws[0], state)
        trading = self._trading(specs, days)
        due_days = dyn.dividend_due_days(days, p)
        close, bar_return, ratio, cash = dyn.as_traded(
            log_value, trading, draws[5:], due_days, p, state
        )
        bars = dyn.ohlcv(close, bar_return, ratio, draws, p, state)
        end_state = np.stack([state[name] for name in _STATE])
        actions: list[list[tuple[str, np.datetime64, str, float]]] = [[] for _ in specs]
        for kind, values in (("dividend", cash), ("split", np.where(ratio == 1, 0.0, ratio))):
            for t, j in zip(*np.nonzero(values), strict=True):
                actions[j].append((specs[j].symbol, days[t], kind, float(values[t, j])))
        for j, spec in enumerate(specs):
            rows = trading[:, j]
            kept = _Year(days[rows], bars[:, rows, j], sorted(actions[j]), end_state[:, j].copy())
            self._series.setdefault(spec, []).append(kept)

    def _log_values(
        self,
        specs: Sequence[SeriesSpec],
        year: int,
        p: dict[str, np.ndarray],
        z: np.ndarray,
        state: dict[str, np.ndarray],
    ) -> np.ndarray:
        """The log total-return index of each series on each day, (days, series).

        Every series follows the market; crypto also its crypto factor, others their sector's.
        Own noise is GARCH-t on the series' own clock, scaled by its lead factor's volatility
        regime (the market's, or crypto's), so calm and stormy spells are shared.
        """
        days = self._days(year)
        leads = ["crypto" if s.asset_class == "crypto" else "market" for s in specs]
        groups = [_group_factor(s) for s in specs]
        factors = self._factor_year({"market", *leads, *filter(None, groups)}, year)
        market = factors["market"][0][:, None]
        group = np.stack([factors[g][0] if g else np.zeros(len(days)) for g in groups], axis=1)
        regime = np.stack([factors[lead][1] for lead in leads], axis=1)

        every_day = p["every_day"] > 0
        tick = every_day | dyn.weekdays(days)[:, None]
        ticks = np.where(every_day, dyn.DAYS_PER_YEAR, dyn.WEEKDAYS_PER_YEAR)
        own, _, state["variance"] = dyn.garch(z, tick, p["own_vol"] ** 2 / ticks, state["variance"])
        drift = np.where(tick, p["alpha"] / ticks, 0.0)
        log_return = drift + p["beta"] * market + p["loading"] * group + own * regime
        log_value = state["log_value"] + np.cumsum(log_return, axis=0)
        state["log_value"] = log_value[-1]
        return log_value

    def _start_state(
        self, specs: Sequence[SeriesSpec], profiles: Sequence[dyn.Profile], year: int
    ) -> dict[str, np.ndarray]:
        """The ``_STATE`` each series enters the year with, by field, as arrays over series."""
        if year > self.history_start.year:
            rows = np.stack([self._series[s][-1].state for s in specs], axis=1)
        else:
            rows = np.array([_first_state(x) for x in profiles]).T
        return dict(zip(_STATE, rows, strict=True))

    @staticmethod
    def _trading(specs: Sequence[SeriesSpec], days: np.ndarray) -> np.ndarray:
        """Whether each series has a bar on each day, (days, series)."""
        first, last = days[0].astype(date), days[-1].astype(date)
        masks = {
            code: np.isin(days, calendars.sessions(code, first, last).values.astype(days.dtype))
            for code in {s.calendar for s in specs}
        }
        return np.stack([masks[s.calendar] for s in specs], axis=1)

    def _frames(
        self, specs: Sequence[SeriesSpec], start: date, end: date
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """Slice the kept history to ``start..end`` and lay it out as frames."""
        lo, hi = np.datetime64(start, "D"), np.datetime64(end, "D")
        first = start.year - self.history_start.year
        dates, bars, counts, actions = [], [], [], []
        for spec in specs:
            count = 0
            years = self._series.get(spec, []) if start <= end else []
            for chunk in years[first : end.year - self.history_start.year + 1]:
                a, b = np.searchsorted(chunk.dates, lo), np.searchsorted(chunk.dates, hi, "right")
                dates.append(chunk.dates[a:b])
                bars.append(chunk.bars[:, a:b])
                count += int(b - a)
                whole = a == 0 and b == len(chunk.dates)
                actions += (
                    chunk.actions if whole else [x for x in chunk.actions if lo <= x[1] <= hi]
                )
            counts.append(count)
        values = np.concatenate(bars, axis=1) if bars else np.empty((6, 0))
        prices = pd.DataFrame(values.T, columns=list(BAR_COLUMNS[2:]), copy=False)
        day = np.concatenate(dates) if dates else np.array([], "datetime64[D]")
        prices.insert(0, "date", day.astype("datetime64[ns]"))
        symbols = np.repeat(np.array([s.symbol for s in specs], dtype=object), counts)
        prices.insert(0, "symbol", pd.Series(symbols, dtype=object))
        action_frame = pd.DataFrame(actions, columns=list(ACTION_COLUMNS))
        action_types = {"symbol": object, "date": "M8[ns]", "action": object, "value": float}
        return prices, action_frame.astype(action_types)
