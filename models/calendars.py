"""Trading days: the sessions of an exchange calendar, or every day for 24/7 markets.

Exchange calendars come from ``exchange_calendars`` (``"XNYS"``, ``"XLON"``, ... and their aliases
such as ``"NYSE"``). Building a calendar costs ~0.1 s, so calendar objects and session ranges are
cached; ``sessions`` is cheap to call per symbol and per day (gap checks do).
"""

from __future__ import annotations

import warnings
from datetime import date
from functools import lru_cache

import exchange_calendars as xcals
import pandas as pd

ALWAYS_OPEN = "24/7"
"""Calendar of instruments that trade every calendar day (crypto)."""

_EARLIEST_YEAR = 1990
_YEARS_PER_CALENDAR = 50
"""Calendars span 1990 (or earlier, if asked) to the next multiple of 50 years."""


@lru_cache(maxsize=1)
def _exchange_codes() -> frozenset[str]:
    return frozenset(xcals.get_calendar_names(include_aliases=True))


def is_known(calendar: str) -> bool:
    """Whether ``calendar`` names a calendar that ``sessions`` understands.

    Args:
        calendar: an exchange code such as ``"XNYS"`` (or an alias) or ``"24/7"``.

    Returns:
        True for ``"24/7"`` and every ``exchange_calendars`` name or alias.
    """
    return calendar == ALWAYS_OPEN or calendar in _exchange_codes()


def _build(code: str, start: date | None = None, end: date | None = None) -> xcals.ExchangeCalendar:
    with warnings.catch_warnings():
        # exchange_calendars 4.13 reads tz-aware Series.values, which pandas 3.1 deprecates.
        warnings.filterwarnings("ignore", message=r"Series\.values returning an ndarray")
        return xcals.get_calendar(
            code,
            start=None if start is None else pd.Timestamp(start),
            end=None if end is None else pd.Timestamp(end),
        )


@lru_cache(maxsize=64)
def _defined_years(code: str) -> tuple[date, date]:
    """The first and last day for which ``exchange_calendars`` records the holidays of ``code``."""
    calendar_class = type(_build(code))
    lower, upper = calendar_class.bound_min(), calendar_class.bound_max()
    return (
        date.min if lower is None else lower.date(),
        date.max if upper is None else upper.date(),
    )


@lru_cache(maxsize=64)
def _exchange_calendar(code: str, first_year: int, last_year: int) -> xcals.ExchangeCalendar:
    """The calendar for ``code`` covering ``first_year..last_year``, clipped to its own bounds."""
    lower, upper = _defined_years(code)
    start = max(date(first_year, 1, 1), lower)
    end = min(date(last_year, 12, 31), upper)
    return _build(code, start, end)


def sessions(calendar: str, start: date, end: date) -> pd.DatetimeIndex:
    """The trading days of ``calendar`` from ``start`` to ``end``, both inclusive.

    Args:
        calendar: an exchange code (``"XNYS"``; aliases such as ``"NYSE"`` work) or ``"24/7"``
            for every calendar day.
        start: first day of the window.
        end: last day of the window; an ``end`` before ``start`` gives an empty index.

    Returns:
        Tz-naive midnight timestamps (``datetime64[ns]``), ascending. Treat it as read-only: the
        same object is returned to every caller with the same arguments.

    Raises:
        ValueError: ``calendar`` is unknown, or the window reaches outside the years for which
            the exchange's holidays are recorded (XSHG, say, stops at its last published year).
    """
    return _sessions(calendar, _as_date(start), _as_date(end))


def _as_date(day: date) -> date:
    """A plain ``date`` (a ``datetime`` or ``Timestamp`` would miss the cache)."""
    return day if type(day) is date else pd.Timestamp(day).date()


@lru_cache(maxsize=4096)
def _sessions(calendar: str, start: date, end: date) -> pd.DatetimeIndex:
    if not is_known(calendar):
        raise ValueError(f"unknown trading calendar {calendar!r} (use an exchange code or '24/7')")
    if end < start:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    if calendar == ALWAYS_OPEN:
        return pd.DatetimeIndex(pd.date_range(start, end, freq="D").as_unit("ns"), freq=None)
    lower, upper = _defined_years(calendar)
    if start < lower or end > upper:
        raise ValueError(
            f"trading calendar {calendar!r} records holidays only from {lower} to {upper}; "
            f"asked for {start}..{end}"
        )
    # Round the upper year up to half a century so that nearly every window shares one object.
    first_year = min(start.year, _EARLIEST_YEAR)
    last_year = (end.year // _YEARS_PER_CALENDAR + 1) * _YEARS_PER_CALENDAR
    exchange = _exchange_calendar(calendar, first_year, last_year)
    start = max(start, exchange.first_session.date())
    end = min(end, exchange.last_session.date())
    if end < start:
        return pd.DatetimeIndex([], dtype="datetime64[ns]")
    found = exchange.sessions_in_range(pd.Timestamp(start), pd.Timestamp(end))
    return pd.DatetimeIndex(found.as_unit("ns"), freq=None)
