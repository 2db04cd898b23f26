"""Yahoo Finance daily bars and corporate actions through yfinance, returned AS TRADED.

yfinance is asked for raw prices (``auto_adjust=False``) plus actions, one symbol at a time
(``Instrument.yahoo_id`` or ``symbol``), in batches of ``batch_size`` with ``pause_s`` between
batches, each request under the one HTTP policy (``pipelines.sources.http``): retries with
backoff, pacing per host (``min_interval_s``) and a total ``deadline_s`` per fetch that the batch
pauses count toward; once it is spent the remaining symbols fail at once, not requested. A
local fault (disk full, permission denied, read-only filesystem) is not retried: the fetch
raises ``FetchError`` at once. yfinance's caches (timezones, cookies) live under FinScope's
data directory (``<data>/cache/yfinance``), never in the home directory.

Yahoo's open/high/low/close, volume and dividend amounts are split-adjusted as of today. They
are converted back: ``as_traded(d) = yahoo(d) * R(d)`` for prices and dividends and
``yahoo_volume(d) / R(d)`` for volume, where ``R(d)`` is the product of the ratios of all
splits with ex-date after ``d``. Every request therefore runs from ``start`` to today, so that
splits after the window are known, and the bars are then cut to the window.

Dates are the exchange's session dates (Yahoo stamps daily bars at local midnight/open in the
exchange's timezone; BTC-USD in UTC). Bars with a null close are dropped; the bar of a session
still trading (Yahoo's ``currentTradingPeriod``) is not returned. Failures (unknown symbol,
empty/garbled answer, timeout, and sessions of ``Instrument.calendar`` without a bar) become
``SymbolFailure``s; the other symbols still land.
"""

from __future__ import annotations

import functools
import threading
import warnings
from collections.abc import Mapping, Sequence
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import exchange_calendars as xc
import numpy as np
import pandas as pd
import yfinance as yf
from pydantic import Field
from yfinance.exceptions import YFRateLimitError

from pipelines.sources.base import (
    ACTION_COLUMNS,
    BAR_COLUMNS,
    Instrument,
    PriceBatch,
    SourceError,
    SymbolFailure,
    empty_actions,
    empty_prices,
)
from pipelines.sources.deadline import Deadline, DeadlineExceeded
from pipelines.sources.http import HOSTS, FetchError
from pipelines.sources.live import LiveSource
from pipelines.sources.retry import RetryPolicy, TransientError, is_local_fault
from warehouse.paths import DataHome

_PRICES = {"Open": "open", "High": "high", "Low": "low", "Close": "close"}
HOST = "query2.finance.yahoo.com"
"""The host yfinance's history requests go to: the key of Yahoo's pacing."""
_cache_lock = threading.Lock()
_cache_dir: Path | None = None


def use_data_home_cache() -> Path:
    """Point yfinance's caches (timezones, cookies, ISINs) at ``<data>/cache/yfinance``.

    The data directory is read now, not at import; yfinance creates the folder on first use.

    Returns:
        The cache folder.
    """
    global _cache_dir
    target = DataHome.from_env().cache / "yfinance"
    with _cache_lock:
        if target != _cache_dir:
            yf.set_tz_cache_location(str(target))  # sets all of yfinance's cache folders
            _cache_dir = target
    return target


def as_traded(history: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Undo Yahoo's split adjustment on a yfinance ``history(auto_adjust=False)`` frame.

    Args:
        history: yfinance's frame (tz-aware daily index; Open..Volume, Dividends, Stock Splits).

    Returns:
        ``(bars, actions)``: bars with ``date`` (naive session day), open..volume as traded,
        rows with a null close dropped; actions with ``date``, ``action``, ``value``.
    """
    history = history.sort_index()
    index = pd.DatetimeIndex(history.index)
    days = (index.tz_localize(None) if index.tz is not None else index).normalize()
    splits = history.get("Stock Splits", pd.Series(0.0, index=index)).fillna(0.0).to_numpy()
    ratio = np.where(splits > 0, splits, 1.0)
    later = np.append(np.cumprod(ratio[::-1])[::-1][1:], 1.0)  # product over later ex-dates
    bars = pd.DataFrame({"date": days.astype("datetime64[ns]")})
    for column, name in _PRICES.items():
        bars[name] = history[column].to_numpy(dtype="float64") * later
    bars["volume"] = np.round(history["Volume"].to_numpy(dtype="float64") / later)
    bars = bars[bars["close"].notna()].reset_index(drop=True)
    dividends = history.get("Dividends", pd.Series(0.0, index=index)).fillna(0.0).to_numpy()
    is_split, is_div = splits > 0, dividends > 0
    actions = pd.DataFrame(
        {
            "date": np.concatenate([days[is_split], days[is_div]]),
            "action": ["split"] * int(is_split.sum()) + ["dividend"] * int(is_div.sum()),
            "value": np.concatenate([splits[is_split], (dividends * later)[is_div]]),
        }
    )
    return bars, actions.astype({"date": "datetime64[ns]", "action": object})


@functools.lru_cache(maxsize=32)
def _calendar(name: str) -> xc.ExchangeCalendar | None:
    try:
        with warnings.catch_warnings():  # exchange_calendars vs pandas 3 deprecation noise
            warnings.simplefilter("ignore", DeprecationWarning)
            return xc.get_calendar(name)
    except xc.errors.CalendarError:  # unknown name: no session check for it
        return None


def closed_sessions(
    calendar: str, start: date, end: date, now: datetime
) -> pd.DatetimeIndex | None:
    """Sessions of ``calendar`` in ``start..end`` that had closed by ``now``.

    Returns:
        Naive session days, or ``None`` when the calendar or that span is unknown.
    """
    cal = _calendar(calendar)
    if (
        cal is None
        or pd.Timestamp(start) < cal.first_session
        or pd.Timestamp(end) > cal.last_session
    ):
        return None
    sessions = cal.sessions_in_range(start, end)
    closes = cal.closes.reindex(sessions)
    return pd.DatetimeIndex(sessions[closes <= pd.Timestamp(now)]).astype("datetime64[ns]")


def live_session(metadata: Mapping[str, Any], now: datetime) -> pd.Timestamp | None:
    """The session Yahoo says is still trading at ``now`` (its bar is not final), if any."""
    try:
        regular = metadata["currentTradingPeriod"]["regular"]
        tz = metadata["exchangeTimezoneName"]
        start, end = (
            pd.Timestamp(v, unit="s", tz="UTC") if isinstance(v, int | float) else pd.Timestamp(v)
            for v in (regular["start"], regular["end"])
        )
    except (KeyError, TypeError, ValueError):
        return None
    if pd.Timestamp(now) >= end:
        return None
    return start.tz_convert(tz).tz_localize(None).normalize()


class YahooSource(LiveSource):
    """Live daily bars and corporate actions from Yahoo Finance (yfinance)."""

    batch_size: int = Field(default=20, ge=1, le=500, description="Symbols per batch.")
    pause_s: float = Field(
        default=2.0, ge=0.0, le=300.0, description="Pause between batches, in seconds."
    )
    timeout_s: float = Field(
        default=20.0, gt=0.0, le=300.0, description="Per-request timeout in seconds."
    )

    @property
    def source_name(self) -> str:
        return "yahoo"

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        """As-traded bars and actions for ``start..end``; see the module docstring."""
        use_data_home_cache()
        deadline = self.start_deadline()
        policy = self.retry_policy(deadline)
        bars, actions = [empty_prices()], [empty_actions()]
        failures: list[SymbolFailure] = []
        spent = False
        for i, inst in enumerate(instruments):
            if i and i % self.batch_size == 0 and not spent:
                spent = deadline.remaining() <= self.pause_s
                if not spent:
                    self.clock.sleep(self.pause_s)
            spent = spent or deadline.expired()
            if spent:
                reason = deadline.message("not requested")
                failures.append(SymbolFailure(self.source_name, inst.symbol, start, end, reason))
                continue
            try:
                got, acts, missing = self._one(inst, start, end, policy, deadline)
            except SourceError as exc:
                failures.append(exc.failure)
                continue
            bars.append(got.assign(symbol=inst.symbol))
            actions.append(acts.assign(symbol=inst.symbol))
            failures.extend(missing)
        prices = pd.concat(bars, ignore_index=True)[list(BAR_COLUMNS)]
        acts_all = pd.concat(actions, ignore_index=True)[list(ACTION_COLUMNS)]
        types = {"symbol": object, "date": "datetime64[ns]"}
        return PriceBatch(
            prices=prices.astype(types).sort_values(["symbol", "date"], ignore_index=True),
            actions=acts_all.astype(types).sort_values(["symbol", "date"], ignore_index=True),
            failures=failures,
        )

    def _one(
        self, inst: Instrument, start: date, end: date, policy: RetryPolicy, deadline: Deadline
    ) -> tuple[pd.DataFrame, pd.DataFrame, list[SymbolFailure]]:
        """One symbol: fetch start..today, convert, cut to the window, check the sessions."""
        ticker_id = inst.yahoo_id or inst.symbol
        now = self.clock.now()
        until = now.date() + timedelta(days=2)  # past "today" in every timezone

        def failure(reason: str) -> SourceError:
            return SourceError(self.source_name, inst.symbol, start, end, reason)

        ticker = yf.Ticker(ticker_id)

        def attempt() -> pd.DataFrame:
            HOSTS.wait(HOST, self.min_interval_s, self.clock, deadline)
            return self._history(ticker, start, until, min(self.timeout_s, deadline.remaining()))

        try:
            history = policy.call(attempt)
            bars, actions = as_traded(history)
            live = live_session(ticker.history_metadata, now)
        except DeadlineExceeded as exc:
            raise failure(f"{ticker_id}: {exc}") from exc
        except Exception as exc:  # yfinance raises many kinds on unknown/garbled answers
            why = f"{type(exc).__name__}: {exc}"
            if is_local_fault(exc):  # the next symbols would hit it too: stop the fetch
                asked = f"history of {ticker_id} {start}..{end}"
                raise FetchError(
                    self.source_name, asked, f"local fault, not retried: {why}"
                ) from exc
            raise failure(f"{ticker_id}: {why}") from exc
        lo, hi = pd.Timestamp(start), pd.Timestamp(end)
        bars = bars[bars["date"].between(lo, hi) & (bars["date"] != live)]
        actions = actions[actions["date"].between(lo, hi)]
        expected = closed_sessions(inst.calendar, start, end, now)
        if expected is None:
            if bars.empty:
                raise failure(f"{ticker_id}: Yahoo returned no bars for the window")
            return bars, actions, []
        missing = expected.difference(pd.DatetimeIndex(bars["date"]))
        if len(missing) == 0:
            return bars, actions, []
        shown = ", ".join(d.strftime("%Y-%m-%d") for d in missing[:5])
        reason = f"{ticker_id}: no bar for {len(missing)} {inst.calendar} session(s): {shown}"
        gap = SymbolFailure(
            self.source_name, inst.symbol, missing[0].date(), missing[-1].date(), reason
        )
        return bars, actions, [gap]

    def _history(
        self, ticker: yf.Ticker, start: date, until: date, timeout_s: float
    ) -> pd.DataFrame:
        """yfinance's raw daily history with actions.

        Raises:
            TransientError: a rate limit, timeout or connection error (worth a retry).
            OSError: a local fault (``is_local_fault``), as raised.
        """
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)  # raise_errors' deprecation
                return ticker.history(
                    start=start.isoformat(),
                    end=until.isoformat(),
                    interval="1d",
                    auto_adjust=False,
                    actions=True,
                    timeout=timeout_s,
                    raise_errors=True,
                )
        except YFRateLimitError as exc:
            raise TransientError("Yahoo rate limit (HTTP 429)") from exc
        except OSError as exc:  # timeouts and connection errors (curl_cffi's are OSErrors)
            if is_local_fault(exc):  # disk full, permission denied: retrying cannot help
                raise
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
