"""Which (symbol, window) pairs a price run must fetch: the sessions not yet stored."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import pandas as pd

from models.calendars import sessions
from models.instruments import Instrument


@dataclass(frozen=True)
class FetchPlan:
    """One fetch to make: these instruments over ``start..end`` (both inclusive)."""

    instruments: tuple[Instrument, ...]
    start: date
    end: date

    @property
    def symbols(self) -> list[str]:
        return [i.symbol for i in self.instruments]


def plan_fetch(
    instruments: Sequence[Instrument],
    present: pd.DataFrame,
    start: date,
    end: date,
    *,
    refresh: bool = False,
    forced: pd.DataFrame | None = None,
) -> FetchPlan | None:
    """The smallest window covering every session of ``start..end`` not in ``present``.

    Args:
        instruments: the instruments one source serves.
        present: (symbol, date) already stored in core.prices_daily.
        start, end: the partition window.
        refresh: fetch the whole window for every instrument, stored or not.
        forced: (symbol, date) to fetch although stored (bars a failing check named).

    Returns:
        None when nothing is missing, else the instruments with a gap and the window to fetch.
    """
    if refresh:
        return FetchPlan(tuple(instruments), start, end) if instruments else None
    stored = pd.to_datetime(present["date"]).groupby(present["symbol"]).agg(set)
    again = (pd.Series(dtype=object) if forced is None or forced.empty
             else pd.to_datetime(forced["date"]).groupby(forced["symbol"]).agg(set))
    wanted: list[Instrument] = []
    lo: pd.Timestamp | None = None
    hi: pd.Timestamp | None = None
    for instrument in instruments:
        expected = sessions(instrument.calendar, start, end)
        forced_days = {d for d in again.get(instrument.symbol, set())
                       if start <= d.date() <= end}
        have = stored.get(instrument.symbol, set()) - forced_days
        missing = [d for d in expected if d not in have] if have else list(expected)
        missing = sorted(set(missing) | forced_days)  # a named bar may be off the calendar
        if missing:
            wanted.append(instrument)
            lo = missing[0] if lo is None else min(lo, missing[0])
            hi = missing[-1] if hi is None else max(hi, missing[-1])
    if not wanted or lo is None or hi is None:
        return None
    return FetchPlan(tuple(wanted), lo.date(), hi.date())
