"""The Markets page's state: parsed from the URL query string or the controls, and back.

``parse_state`` never raises on bad input: it returns a sensible state plus a list of
plain-text problems the page shows in an alert. Values echoed into a problem are shortened.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from urllib.parse import urlencode

CHARTS = ("candlestick", "line")
WINDOWS = (21, 63, 126)
MAX_SYMBOLS = 10
MAX_REQUESTED = 200
"""Distinct symbols read from one request; the rest are ignored (and the user told so)."""
DEFAULT_DAYS = 365
_TRUE, _FALSE = {"1", "true", "yes", "on"}, {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class MarketsState:
    """What the Markets page shows; ``query()`` is its shareable URL query string."""

    symbols: tuple[str, ...]
    start: date
    end: date
    chart: str = "candlestick"
    log: bool = False
    window: int = WINDOWS[0]

    def query(self) -> str:
        """``?symbols=AAPL,MSFT&start=...&end=...&chart=line&log=1&window=21``."""
        params = {"symbols": ",".join(self.symbols), "start": self.start.isoformat(),
                  "end": self.end.isoformat(), "chart": self.chart,
                  "log": "1" if self.log else "0", "window": str(self.window)}
        return "?" + urlencode(params, safe=",")


def _show(value: object) -> str:
    text = str(value)
    return text if len(text) <= 24 else text[:23] + "…"


def _one(value: object) -> object:
    """Dash passes a repeated query key as a list: use its last value."""
    if isinstance(value, list | tuple):
        return value[-1] if value else None
    return value


def split_symbols(value: object, *, limit: int = MAX_REQUESTED) -> tuple[list[str], bool]:
    """``"aapl, MSFT"`` or ``["AAPL", "MSFT"]`` -> ``["AAPL", "MSFT"]`` (order kept, no repeats).

    Reads at most ``limit`` distinct symbols, in linear time, and stops there.

    Returns:
        The symbols, and whether more distinct symbols were given than were read.
    """
    parts = value if isinstance(value, list | tuple) else [value]
    seen: dict[str, None] = {}
    for part in parts:
        for item in str(part or "").split(","):
            item = item.strip().upper()
            if not item or item in seen:
                continue
            if len(seen) == limit:
                return list(seen), True
            seen[item] = None
    return list(seen), False


def parse_date(value: object) -> date | None:
    """A ``date`` from a date, ``YYYY-MM-DD`` or an ISO datetime string; None if it is none."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return datetime.fromisoformat(str(value).strip()).date()
    except ValueError:
        return None


def _parse_range(
    raw_start: object, raw_end: object, first: date, last: date
) -> tuple[date, date, str | None]:
    """The requested range clipped to ``first..last``, or the last year with a problem."""
    default = (max(first, last - timedelta(days=DEFAULT_DAYS)), last)
    if raw_start in (None, "") and raw_end in (None, ""):
        return (*default, None)
    start = parse_date(raw_start) if raw_start not in (None, "") else first
    end = parse_date(raw_end) if raw_end not in (None, "") else last
    if start is None or end is None:
        bad = [f"{label} date “{_show(value)}” is not a date"
               for label, value, got in (("Start", raw_start, start), ("End", raw_end, end))
               if got is None]
        problem = "; ".join(bad) + " (use YYYY-MM-DD)."
    elif start > end:
        problem = f"Start date {start} is after end date {end}."
    elif end < first or start > last:
        problem = f"No data between {start} and {end}; the data runs from {first} to {last}."
    else:
        return max(start, first), min(end, last), None
    return (*default, f"{problem} Showing {default[0]} to {default[1]}.")


def parse_state(
    raw: Mapping[str, object],
    *,
    known: Sequence[str],
    default_symbols: Sequence[str],
    first: date,
    last: date,
) -> tuple[MarketsState, list[str]]:
    """Turn query parameters (or control values) into a valid ``MarketsState``.

    Args:
        raw: keys symbols, start, end, chart, log, window; any may be missing or malformed.
        known: the symbols that exist (matched case-insensitively).
        default_symbols: shown when no requested symbol is usable.
        first, last: the data's date range; the default range is the last year of it.

    Returns:
        The state to show and the problems found, as sentences for the user.
    """
    problems: list[str] = []
    by_upper = {s.upper(): s for s in known}
    requested, cut = split_symbols(raw.get("symbols"))
    if cut:
        problems.append(f"Only the first {MAX_REQUESTED} distinct symbols given were read.")
    symbols = [by_upper[s] for s in requested if s in by_upper]
    unknown = [s for s in requested if s not in by_upper]
    if unknown:
        names = ", ".join(_show(s) for s in unknown[:5]) + (" …" if len(unknown) > 5 else "")
        problems.append(f"Unknown symbol{'s' if len(unknown) > 1 else ''}: {names}.")
    if len(symbols) > MAX_SYMBOLS:
        problems.append(f"Showing the first {MAX_SYMBOLS} of {len(symbols)} symbols.")
        symbols = symbols[:MAX_SYMBOLS]
    if not symbols:
        symbols = list(default_symbols)
        if requested:
            problems.append(f"Showing {', '.join(symbols)} instead.")

    start, end, problem = _parse_range(_one(raw.get("start")), _one(raw.get("end")), first, last)
    if problem:
        problems.append(problem)

    chart = str(_one(raw.get("chart")) or CHARTS[0]).strip().lower()
    if chart not in CHARTS:
        problems.append(f"Chart type “{_show(chart)}” is not one of: {', '.join(CHARTS)}.")
        chart = CHARTS[0]
    log_raw = _one(raw.get("log"))
    log = bool(log_raw) if isinstance(log_raw, bool) else str(log_raw or "").lower() in _TRUE
    if not isinstance(log_raw, bool) and str(log_raw or "").lower() not in _TRUE | _FALSE:
        problems.append(f"Log scale “{_show(log_raw)}” should be 1 or 0.")
    window_raw = _one(raw.get("window"))
    window = WINDOWS[0]
    if window_raw not in (None, ""):
        try:
            window = int(str(window_raw))
        except ValueError:
            window = -1
        if window not in WINDOWS:
            problems.append(f"Volatility window “{_show(window_raw)}” is not one of "
                            f"{', '.join(map(str, WINDOWS))} days.")
            window = WINDOWS[0]
    state = MarketsState(tuple(symbols), start, end, chart, log, window)
    return state, problems
