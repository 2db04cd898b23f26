"""YahooSource against self-written Yahoo v8 chart payloads, parsed by yfinance's real code."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from datetime import date, timedelta
from datetime import time as dtime
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yfinance as yf
import yfinance.cache
import yfinance.data
from curl_cffi.requests.exceptions import Timeout
from yfinance.exceptions import YFRateLimitError

from models.clock import FrozenClock
from pipelines.sources import yahoo as yahoo_module
from pipelines.sources.base import BAR_COLUMNS, Instrument
from pipelines.sources.http import FetchError
from pipelines.sources.yahoo import YahooSource
from tests.pipelines.sources.live_payloads import (
    NOT_FOUND,
    Bar,
    FakeYahoo,
    block_network,
    chart,
    empty_chart,
    sleeps,
    stamp,
    utc,
)
from warehouse.paths import HOME_ENV

WEEK1 = [date(2024, 6, d) for d in (3, 4, 5, 6, 7)]
WEEK2 = [date(2024, 6, d) for d in (10, 11, 12, 13, 14)]


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    return FakeYahoo(monkeypatch)


def bars(days: list[date], closes: list[float], volume: int = 8000) -> list[Bar]:
    return [(d, c - 0.5, c + 1.0, c - 1.0, c, volume) for d, c in zip(days, closes, strict=True)]


def source(now_: tuple[int, ...] = (2024, 6, 20, 12), **config: object) -> YahooSource:
    src = YahooSource(**config)  # type: ignore[arg-type]
    src._clock = FrozenClock(utc(*now_))
    return src


def equity(symbol: str, **kw: object) -> Instrument:
    return Instrument(symbol, symbol, "equity", **kw)  # type: ignore[arg-type]


@pytest.fixture
def acme(yahoo: FakeYahoo) -> FakeYahoo:
    """Closes 10..19 (split-adjusted as Yahoo serves them), 4:1 on 10 June, 2:1 on 13 June."""
    yahoo.charts["ACME"] = chart(
        "ACME",
        bars(WEEK1 + WEEK2, [10.0 + i for i in range(10)]),
        dividends={date(2024, 6, 5): 0.25},
        splits={date(2024, 6, 10): (4, 1), date(2024, 6, 13): (2, 1)},
    )
    return yahoo


def test_prices_before_later_splits_are_as_traded(acme: FakeYahoo) -> None:
    batch = source().fetch([equity("ACME")], WEEK1[0], WEEK1[-1])

    assert batch.failures == []
    # Both splits come after the window: Yahoo's values are divided by 4 * 2 = 8.
    assert batch.prices["close"].tolist() == [80.0, 88.0, 96.0, 104.0, 112.0]
    assert batch.prices["open"].tolist() == [76.0, 84.0, 92.0, 100.0, 108.0]
    assert batch.prices["volume"].tolist() == [1000.0] * 5
    assert batch.prices["date"].tolist() == [pd.Timestamp(d) for d in WEEK1]
    assert batch.actions[["date", "action", "value"]].values.tolist() == [
        [pd.Timestamp("2024-06-05"), "dividend", 2.0]  # 0.25 * 8 as paid that day
    ]
    # The request ran to today, not to the window's end, so that later splits were seen.
    (request,) = acme.history_requests("ACME")
    assert request["period1"] == stamp(WEEK1[0], "America/New_York", dtime(0))
    assert request["period2"] > utc(2024, 6, 20, 12).timestamp()


def test_splits_inside_the_window(acme: FakeYahoo) -> None:
    batch = source().fetch([equity("ACME")], WEEK2[0], WEEK2[-1])

    assert batch.prices["close"].tolist() == [30.0, 32.0, 34.0, 18.0, 19.0]
    assert batch.actions[["date", "action", "value"]].values.tolist() == [
        [pd.Timestamp("2024-06-10"), "split", 4.0],
        [pd.Timestamp("2024-06-13"), "split", 2.0],
    ]


@pytest.mark.parametrize(
    ("tz", "opens_at", "calendar", "days"),
    [
        ("Europe/Berlin", dtime(9), "XETR", [date(2023, 8, 4), date(2023, 8, 7), date(2023, 8, 8)]),
        # 10:00 in Auckland is 22:00 UTC the day before: the session date is the local one.
        ("Pacific/Auckland", dtime(10), "XNZE", [date(2024, 7, d) for d in (1, 2, 3)]),
        ("Asia/Tokyo", dtime(9), "XTKS", [date(2024, 7, d) for d in (1, 2, 3)]),
        ("UTC", dtime(0), "24/7", [date(2024, 7, d) for d in (5, 6, 7)]),
    ],
)
def test_bars_land_on_the_exchange_session_date(
    yahoo: FakeYahoo, tz: str, opens_at: dtime, calendar: str, days: list[date]
) -> None:
    yahoo.charts["X"] = chart("X", bars(days, [1.0, 2.0, 3.0]), tz=tz, opens_at=opens_at)

    batch = source((2024, 8, 1)).fetch([equity("X", calendar=calendar)], days[0], days[-1])

    assert batch.failures == []
    assert batch.prices["date"].tolist() == [pd.Timestamp(d) for d in days]
    assert batch.prices["close"].tolist() == [1.0, 2.0, 3.0]


def test_null_close_is_dropped_and_reported(yahoo: FakeYahoo) -> None:
    rows = bars(WEEK1, [1.0, 2.0, 3.0, 4.0, 5.0])
    rows[2] = (WEEK1[2], 2.5, None, None, None, 0)
    yahoo.charts["X"] = chart("X", rows)

    batch = source().fetch([equity("X")], WEEK1[0], WEEK1[-1])

    assert batch.prices["close"].tolist() == [1.0, 2.0, 4.0, 5.0]
    (failure,) = batch.failures
    assert (failure.start, failure.end) == (WEEK1[2], WEEK1[2])
    assert "2024-06-05" in failure.reason


@pytest.mark.parametrize(
    ("answer", "words"),
    [
        ((404, NOT_FOUND), "No data found, symbol may be delisted"),
        ("empty", "no price data found"),
        ((200, '{"chart": {"result": [{"meta": '), "Expecting value"),
    ],
    ids=["error-object", "no-timestamps", "garbled"],
)
def test_a_bad_answer_fails_that_symbol_only(yahoo: FakeYahoo, answer: object, words: str) -> None:
    for symbol in ("GOOD", "BAD"):
        yahoo.charts[symbol] = chart(symbol, bars(WEEK1, [1.0, 2.0, 3.0, 4.0, 5.0]))
    yahoo.script["BAD"] = [(200, empty_chart(yahoo.charts["BAD"])) if answer == "empty" else answer]

    batch = source().fetch([equity("BAD"), equity("GOOD")], WEEK1[0], WEEK1[-1])

    assert batch.prices["symbol"].unique().tolist() == ["GOOD"]
    (failure,) = batch.failures
    assert (failure.source, failure.symbol, failure.start, failure.end) == (
        "yahoo",
        "BAD",
        WEEK1[0],
        WEEK1[-1],
    )
    assert words in failure.reason
    assert str(failure).startswith("yahoo: BAD 2024-06-03..2024-06-07: ")


def test_unknown_symbol_fails_and_others_land(yahoo: FakeYahoo) -> None:
    yahoo.charts["GOOD"] = chart("GOOD", bars(WEEK1, [1.0, 2.0, 3.0, 4.0, 5.0]))

    batch = source().fetch([equity("NOPE"), equity("GOOD")], WEEK1[0], WEEK1[-1])

    assert len(batch.prices) == 5
    (failure,) = batch.failures
    assert (failure.source, failure.symbol, failure.start, failure.end) == (
        "yahoo",
        "NOPE",
        WEEK1[0],
        WEEK1[-1],
    )
    assert "NOPE" in failure.reason


def test_timeouts_are_retried_with_backoff_then_reported(acme: FakeYahoo) -> None:
    acme.script["ACME"] = [Timeout("timed out"), Timeout("timed out")]
    src = source(max_attempts=2, backoff_base_s=3.0)

    batch = src.fetch([equity("ACME")], WEEK1[0], WEEK1[-1])

    assert len(acme.history_requests("ACME")) == 2
    assert len(sleeps(src)) == 1 and 3.0 <= sleeps(src)[0] <= 4.0
    (failure,) = batch.failures
    assert failure.symbol == "ACME" and "Timeout" in failure.reason
    assert batch.prices.empty


@pytest.mark.parametrize("error", [Timeout("timed out"), YFRateLimitError()])
def test_a_transient_error_then_success_lands(acme: FakeYahoo, error: Exception) -> None:
    acme.script["ACME"] = [error]

    batch = source().fetch([equity("ACME")], WEEK1[0], WEEK1[-1])

    assert batch.failures == []
    assert batch.prices["close"].tolist() == [80.0, 88.0, 96.0, 104.0, 112.0]


def test_the_session_still_trading_is_not_returned(yahoo: FakeYahoo) -> None:
    yahoo.charts["X"] = chart("X", bars(WEEK1, [1.0, 2.0, 3.0, 4.0, 5.0]), trading_day=WEEK1[-1])

    batch = source((2024, 6, 7, 15)).fetch([equity("X")], WEEK1[0], WEEK1[-1])  # 11:00 in NY

    assert batch.prices["close"].tolist() == [1.0, 2.0, 3.0, 4.0]
    assert batch.failures == []


def test_batches_pause_and_provider_ids_are_used(yahoo: FakeYahoo) -> None:
    for symbol in ("A", "B", "BRK-B"):
        yahoo.charts[symbol] = chart(symbol, bars(WEEK1, [1.0, 2.0, 3.0, 4.0, 5.0]))
    src = source(batch_size=2, pause_s=7.0)
    instruments = [equity("B"), equity("BRK.B", yahoo_id="BRK-B"), equity("A")]

    batch = src.fetch(instruments, WEEK1[0], WEEK1[-1])

    assert sleeps(src) == [7.0]
    assert batch.failures == []
    assert list(batch.prices.columns) == list(BAR_COLUMNS)
    assert batch.prices["symbol"].tolist() == ["A"] * 5 + ["B"] * 5 + ["BRK.B"] * 5
    assert batch.prices["date"].dtype == np.dtype("datetime64[ns]")
    assert batch.prices["market_cap"].isna().all()


def test_missing_sessions_are_reported_with_their_dates(yahoo: FakeYahoo) -> None:
    yahoo.charts["X"] = chart("X", bars(WEEK1[:3], [1.0, 2.0, 3.0]))

    batch = source().fetch([equity("X")], WEEK1[0], WEEK1[-1] + timedelta(days=2))

    assert len(batch.prices) == 3
    (failure,) = batch.failures
    assert (failure.start, failure.end) == (WEEK1[3], WEEK1[4])
    assert "2 XNYS session(s): 2024-06-06, 2024-06-07" in failure.reason


@pytest.mark.parametrize(
    "fault",
    [
        OSError(errno.ENOSPC, "No space left on device"),
        PermissionError(errno.EACCES, "Permission denied"),
        PermissionError(errno.EPERM, "Operation not permitted"),
        OSError(errno.EROFS, "Read-only file system"),
    ],
    ids=["ENOSPC", "EACCES", "EPERM", "EROFS"],
)
def test_a_local_fault_stops_the_fetch_at_once(acme: FakeYahoo, fault: OSError) -> None:
    acme.charts["NEXT"] = acme.charts["ACME"]
    acme.script["ACME"] = [fault, fault]
    src = source()

    with pytest.raises(FetchError) as raised:
        src.fetch([equity("ACME"), equity("NEXT")], WEEK1[0], WEEK1[-1])

    assert str(raised.value).startswith(
        "yahoo: history of ACME 2024-06-03..2024-06-07: local fault, not retried: "
    )
    assert fault.strerror in str(raised.value)
    assert len(acme.history_requests("ACME")) == 1 and sleeps(src) == []
    assert acme.history_requests("NEXT") == []


def test_retries_stop_before_a_backoff_that_would_outlast_the_deadline(acme: FakeYahoo) -> None:
    acme.charts["B"] = acme.charts["ACME"]
    acme.script["ACME"] = [Timeout("timed out")] * 4
    src = source(deadline_s=10.0, backoff_base_s=4.0, max_attempts=4)

    batch = src.fetch([equity("ACME"), equity("B")], WEEK1[0], WEEK1[-1])

    (slept,) = sleeps(src)  # 4..5 s fitted; the next 8..9 s would not, so it was not started
    assert 4.0 <= slept <= 5.0
    assert len(acme.history_requests("ACME")) == 2
    (failure,) = batch.failures
    assert failure.symbol == "ACME"
    assert failure.reason.startswith("ACME: deadline of 10 s reached (after 2 attempt(s)")
    assert "Timeout: timed out" in failure.reason
    assert batch.prices["symbol"].unique().tolist() == ["B"]  # time was left for B


def test_once_the_deadline_is_spent_no_request_is_made(
    acme: FakeYahoo, monkeypatch: pytest.MonkeyPatch
) -> None:
    for symbol in ("B", "C"):
        acme.charts[symbol] = acme.charts["ACME"]
    src = source(deadline_s=12.0)
    clock = src._clock
    assert isinstance(clock, FrozenClock)

    def slow(_self: object, url: str, params: dict | None = None, timeout: float = 30) -> object:
        clock.advance(5.0)  # every call to Yahoo takes 5 s
        return acme._get(url, params, timeout)

    monkeypatch.setattr(yfinance.data.YfData, "get", slow)
    monkeypatch.setattr(yfinance.data.YfData, "cache_get", slow)

    batch = src.fetch([equity("ACME"), equity("B"), equity("C")], WEEK1[0], WEEK1[-1])

    assert batch.prices["symbol"].unique().tolist() == ["ACME", "B"]  # B began with time left
    (failure,) = batch.failures
    assert (failure.symbol, failure.reason) == ("C", "deadline of 12 s reached (not requested)")
    assert acme.history_requests("C") == []


def test_batch_pauses_count_toward_the_deadline(acme: FakeYahoo) -> None:
    acme.charts["B"] = acme.charts["ACME"]
    src = source(deadline_s=5.0, batch_size=1, pause_s=7.0)

    batch = src.fetch([equity("ACME"), equity("B")], WEEK1[0], WEEK1[-1])

    assert sleeps(src) == []  # a 7 s pause cannot fit in 5 s: B fails without waiting
    assert batch.prices["symbol"].unique().tolist() == ["ACME"]
    (failure,) = batch.failures
    assert (failure.symbol, failure.reason) == ("B", "deadline of 5 s reached (not requested)")
    assert acme.history_requests("B") == []


@pytest.fixture
def yfinance_cache(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Fresh yfinance caches for the test; their folder (and our memo of it) restored after."""
    before = yfinance.cache._TzDBManager.get_location()
    monkeypatch.setattr(yfinance.cache._TzCacheManager, "_tz_cache", None)
    monkeypatch.setattr(yfinance.cache._CookieCacheManager, "_Cookie_cache", None)
    monkeypatch.setattr(yfinance.cache._ISINCacheManager, "_isin_cache", None)
    yield
    yf.set_tz_cache_location(before)
    yahoo_module._cache_dir = None


def test_yfinance_caches_go_under_the_data_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, yfinance_cache: None
) -> None:
    home, data = tmp_path / "home", tmp_path / "data"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv(HOME_ENV, str(data))
    # yfinance's default, as if it had been imported with this HOME
    yf.set_tz_cache_location(str(home / ".cache" / "py-yfinance"))
    monkeypatch.setattr(yahoo_module, "_cache_dir", None)
    src = source(max_attempts=2)

    batch = src.fetch([equity("ACME")], WEEK1[0], WEEK1[-1])  # the real yfinance, no network

    assert [f.symbol for f in batch.failures] == ["ACME"]
    assert list(home.rglob("*")) == []
    assert (data / "cache" / "yfinance" / "tkr-tz.db").is_file()
