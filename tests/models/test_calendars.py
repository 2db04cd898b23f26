"""Trading days of exchange calendars and of 24/7 markets."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from models.calendars import is_known, sessions


@pytest.mark.parametrize(
    ("day", "is_session"),
    [
        (date(2023, 1, 2), False),  # New Year's Day observed
        (date(2023, 1, 16), False),  # Martin Luther King Jr. Day
        (date(2023, 4, 7), False),  # Good Friday
        (date(2023, 6, 19), False),  # Juneteenth
        (date(2023, 7, 3), True),  # the day before Independence Day trades (early close)
        (date(2023, 7, 4), False),  # Independence Day
        (date(2023, 11, 23), False),  # Thanksgiving
        (date(2023, 11, 24), True),  # the day after Thanksgiving trades (early close)
        (date(2023, 12, 25), False),  # Christmas
        (date(2023, 12, 23), False),  # a Saturday
        (date(2023, 12, 24), False),  # a Sunday
        (date(2023, 12, 27), True),  # an ordinary Wednesday
        (date(2012, 10, 29), False),  # closed for Hurricane Sandy
    ],
)
def test_xnys_sessions_skip_weekends_and_holidays(day: date, is_session: bool) -> None:
    year = sessions("XNYS", date(day.year, 1, 1), date(day.year, 12, 31))
    assert (pd.Timestamp(day) in year) is is_session


def test_xnys_has_250_sessions_in_2023() -> None:
    year = sessions("XNYS", date(2023, 1, 1), date(2023, 12, 31))
    assert len(year) == 250
    assert year[0] == pd.Timestamp("2023-01-03")
    assert year[-1] == pd.Timestamp("2023-12-29")


def test_window_is_inclusive_and_typed() -> None:
    week = sessions("XNYS", date(2023, 7, 3), date(2023, 7, 7))
    assert list(week.strftime("%Y-%m-%d")) == [
        "2023-07-03",
        "2023-07-05",
        "2023-07-06",
        "2023-07-07",
    ]
    assert week.dtype == "datetime64[ns]"
    assert week.tz is None


def test_aliases_name_the_same_calendar() -> None:
    window = (date(2024, 1, 1), date(2024, 3, 31))
    assert sessions("NYSE", *window).equals(sessions("XNYS", *window))


def test_other_exchanges_have_their_own_holidays() -> None:
    # Boxing Day: London is closed, New York is open.
    day = pd.Timestamp("2023-12-26")
    assert day not in sessions("XLON", date(2023, 12, 1), date(2023, 12, 31))
    assert day in sessions("XNYS", date(2023, 12, 1), date(2023, 12, 31))


def test_always_open_has_every_calendar_day() -> None:
    days = sessions("24/7", date(2023, 12, 20), date(2024, 1, 10))
    assert len(days) == 22
    assert pd.Timestamp("2023-12-25") in days  # a holiday
    assert pd.Timestamp("2023-12-23") in days  # a Saturday
    assert days.dtype == "datetime64[ns]"
    assert (pd.Series(days).diff().dropna() == pd.Timedelta(days=1)).all()


def test_leap_year_for_always_open() -> None:
    assert len(sessions("24/7", date(2024, 1, 1), date(2024, 12, 31))) == 366


@pytest.mark.parametrize("calendar", ["XNYS", "24/7"])
def test_end_before_start_is_empty(calendar: str) -> None:
    assert len(sessions(calendar, date(2024, 1, 10), date(2024, 1, 1))) == 0


def test_windows_before_1990_work() -> None:
    days = sessions("XNYS", date(1985, 12, 23), date(1985, 12, 31))
    assert pd.Timestamp("1985-12-25") not in days
    assert len(days) == 6


def test_unknown_calendar_raises_naming_it() -> None:
    with pytest.raises(ValueError, match="XFOO"):
        sessions("XFOO", date(2024, 1, 1), date(2024, 1, 31))


def test_years_beyond_recorded_holidays_raise_naming_the_calendar() -> None:
    # exchange_calendars records Shanghai's holidays only up to its last published year.
    with pytest.raises(ValueError, match="XSHG"):
        sessions("XSHG", date(2199, 1, 1), date(2199, 1, 31))


def test_is_known() -> None:
    assert is_known("XNYS")
    assert is_known("NYSE")
    assert is_known("24/7")
    assert not is_known("XFOO")
    assert not is_known("")


def test_results_are_cached() -> None:
    window = (date(2022, 1, 1), date(2022, 12, 31))
    assert sessions("XNYS", *window) is sessions("XNYS", *window)
