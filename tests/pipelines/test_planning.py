"""Fetch planning: the smallest window covering the sessions each instrument is missing."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from models.calendars import sessions
from models.instruments import Instrument
from pipelines.prices.planning import plan_fetch

EQ = Instrument("EQ", "Equity", "equity", calendar="XNYS")
CO = Instrument("CO", "Coin", "crypto", calendar="24/7")
START, END = date(2024, 3, 1), date(2024, 3, 31)


def stored(symbol: str, days) -> pd.DataFrame:
    return pd.DataFrame({"symbol": symbol, "date": pd.to_datetime(list(days))})


def every(instrument: Instrument) -> pd.DataFrame:
    return stored(instrument.symbol, sessions(instrument.calendar, START, END))


@pytest.mark.parametrize("present, forced, expected", [
    # nothing stored: everything, from the first session to the last
    ([], None, (("EQ", "CO"), date(2024, 3, 1), date(2024, 3, 31))),
    # all stored: nothing to do
    (["EQ", "CO"], None, None),
    # the coin misses a weekend day: only it, only that day
    (["EQ", "CO-minus-16th"], None, (("CO",), date(2024, 3, 16), date(2024, 3, 16))),
    # the equity misses two sessions: the window spans both
    (["EQ-minus-5th-and-20th", "CO"], None, (("EQ",), date(2024, 3, 5), date(2024, 3, 20))),
    # a bar a failing check named is fetched again although stored
    (["EQ", "CO"], ("EQ", "2024-03-12"), (("EQ",), date(2024, 3, 12), date(2024, 3, 12))),
    # ... even on a day off the calendar (a bad weekend bar of an equity)
    (["EQ", "CO"], ("EQ", "2024-03-16"), (("EQ",), date(2024, 3, 16), date(2024, 3, 16))),
])
def test_plan_covers_exactly_what_is_missing(present, forced, expected):
    frames = []
    for name in present:
        inst = EQ if name.startswith("EQ") else CO
        frame = every(inst)
        for day in ("5th", "16th", "20th"):
            if day in name:
                frame = frame[frame["date"] != pd.Timestamp(2024, 3, int(day[:-2]))]
        frames.append(frame)
    have = pd.concat(frames) if frames else stored("EQ", [])
    again = None if forced is None else stored(forced[0], [forced[1]])
    plan = plan_fetch([EQ, CO], have, START, END, forced=again)
    if expected is None:
        assert plan is None
    else:
        assert plan is not None
        assert (tuple(plan.symbols), plan.start, plan.end) == expected


def test_refresh_fetches_everything_even_when_stored():
    have = pd.concat([every(EQ), every(CO)])
    plan = plan_fetch([EQ, CO], have, START, END, refresh=True)
    assert plan is not None and plan.symbols == ["EQ", "CO"] and (plan.start, plan.end) == (
        START, END)
