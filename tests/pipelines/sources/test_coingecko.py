"""CoinGeckoSource against self-written market_chart payloads served by ``responses``."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import numpy as np
import pandas as pd
import pytest
import requests
import responses

from models.clock import FrozenClock
from pipelines.sources.base import BAR_COLUMNS, Instrument
from pipelines.sources.coingecko import CoinGeckoSource, daily_values, plan_windows
from tests.pipelines.sources.live_payloads import (
    block_network,
    market_chart,
    sleeps,
    utc,
)

FREE = "https://api.coingecko.com/api/v3/coins/{}/market_chart/range"
PRO = "https://pro-api.coingecko.com/api/v3/coins/{}/market_chart/range"
RATE_LIMITED = {
    "status": {
        "error_code": 429,
        "error_message": "You've exceeded the Rate Limit. Please visit https://www.coingecko.com"
        "/en/api/pricing to subscribe to our API plans for higher rate limits.",
    }
}
BTC = Instrument("BTC", "Bitcoin", "crypto", calendar="24/7", coingecko_id="bitcoin")
ETH = Instrument("ETH", "Ether", "crypto", calendar="24/7", coingecko_id="ethereum")


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def source(now: datetime, **config: object) -> CoinGeckoSource:
    src = CoinGeckoSource(**{"min_interval_s": 0.0, **config})  # type: ignore[arg-type]
    src._clock = FrozenClock(now)
    return src


def query(call: responses.Call) -> dict[str, int]:
    return span(call.request.url)


def span(url: str | None) -> dict[str, int]:
    """The ``from``/``to`` parameters of a request URL."""
    params = parse_qs(urlsplit(url or "").query)
    return {k: int(params[k][0]) for k in ("from", "to")}


def midnights(api: responses.RequestsMock, url: str) -> None:
    """Serve daily points at every 00:00 UTC in from..to; value = days since 1970."""

    def answer(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        q = span(request.url)
        first = -(-q["from"] // 86400) * 86400
        days = [datetime.fromtimestamp(t, tz=UTC) for t in range(first, q["to"] + 1, 86400)]
        points = [(t, t.timestamp() / 86400, 1e9, 1e12) for t in days]
        return 200, {}, json.dumps(market_chart(points))

    api.add_callback(responses.GET, re.compile(re.escape(url.split("{}")[0]) + ".*"), answer)


@pytest.mark.parametrize(
    ("points", "expected"),
    [
        # daily granularity: the point at D+1 00:00 is D's close; the "now" point is D+1's
        (
            [(utc(2024, 6, 2), 2.0), (utc(2024, 6, 3), 3.0), (utc(2024, 6, 3, 14, 39), 3.5)],
            {"2024-06-01": 2.0, "2024-06-02": 3.0, "2024-06-03": 3.5},
        ),
        # 5-minute granularity, given out of order: 00:00 closes the day before, 00:05 opens
        (
            [(utc(2024, 6, 2, 0, 5), 5.0), (utc(2024, 6, 1, 23, 55), 1.0), (utc(2024, 6, 2), 2.0)],
            {"2024-06-01": 2.0, "2024-06-02": 5.0},
        ),
        # hourly granularity at odd minutes, with a null value skipped
        (
            [
                (utc(2024, 6, 1, 22, 4), 1.0),
                (utc(2024, 6, 1, 23, 4), 2.0),
                (utc(2024, 6, 1, 23, 34), None),
                (utc(2024, 6, 2, 0, 4), 3.0),
            ],
            {"2024-06-01": 2.0, "2024-06-02": 3.0},
        ),
    ],
    ids=["daily", "5-minute", "hourly"],
)
def test_daily_close_rule(points: list, expected: dict[str, float]) -> None:
    series = daily_values([[int(t.timestamp() * 1000), v] for t, v in points])

    assert {d.strftime("%Y-%m-%d"): v for d, v in series.items()} == expected


def test_fetch_daily_series(api: responses.RequestsMock) -> None:
    points = [(utc(2024, 6, d), 100.0 + d, 10.0 + d, 1000.0 + d) for d in (1, 2, 3, 4)]
    api.get(FREE.format("bitcoin"), json=market_chart([*points, (utc(2024, 6, 4, 15), 9, 9, 9)]))

    batch = source(utc(2024, 6, 4, 15)).fetch([BTC], date(2024, 6, 1), date(2024, 6, 4))

    assert batch.failures == []
    assert list(batch.prices.columns) == list(BAR_COLUMNS)
    assert batch.prices["symbol"].tolist() == ["BTC"] * 3  # FinScope's symbol, not the id
    assert batch.prices["date"].tolist() == [pd.Timestamp(f"2024-06-0{d}") for d in (1, 2, 3)]
    assert batch.prices["close"].tolist() == [102.0, 103.0, 104.0]  # 4 June is not over yet
    assert batch.prices["volume"].tolist() == [12.0, 13.0, 14.0]
    assert batch.prices["market_cap"].tolist() == [1002.0, 1003.0, 1004.0]
    assert batch.prices[["open", "high", "low"]].isna().all().all()
    assert batch.prices["date"].dtype == np.dtype("datetime64[ns]")
    (call,) = api.calls
    assert query(call) == {"from": 1717200000, "to": 1717200000 + 3 * 86400 + 60}


def test_fetch_five_minute_series(api: responses.RequestsMock) -> None:
    start = utc(2024, 6, 1, 0, 5)
    points = [(start + timedelta(minutes=5 * i), float(i), 1.0, 1.0) for i in range(300)]
    api.get(FREE.format("bitcoin"), json=market_chart(points))

    batch = source(utc(2024, 6, 2, 1)).fetch([BTC], date(2024, 6, 1), date(2024, 6, 2))

    # 2 June 00:00 is point 287 (23h55m after 00:05): the last point of 1 June.
    assert batch.prices["close"].tolist() == [287.0]


def test_rate_limit_waits_as_told(api: responses.RequestsMock) -> None:
    api.get(FREE.format("bitcoin"), status=429, json=RATE_LIMITED, headers={"Retry-After": "119"})
    api.get(FREE.format("bitcoin"), json=market_chart([(utc(2024, 6, 2), 5.0, 1.0, 1.0)]))
    src = source(utc(2024, 6, 2, 12), backoff_base_s=1.0)

    batch = src.fetch([BTC], date(2024, 6, 1), date(2024, 6, 1))

    assert sleeps(src) == [119.0]
    assert batch.failures == [] and batch.prices["close"].tolist() == [5.0]


def test_server_errors_are_retried_then_reported(api: responses.RequestsMock) -> None:
    api.get(
        FREE.format("bitcoin"), status=500, json={"status": 500, "error": "Internal Server Error"}
    )
    src = source(utc(2024, 6, 2, 12), max_attempts=3)

    batch = src.fetch([BTC], date(2024, 6, 1), date(2024, 6, 1))

    assert len(api.calls) == 3 and len(sleeps(src)) == 2
    (failure,) = batch.failures
    assert failure.reason == "HTTP 500: Internal Server Error"


@pytest.mark.parametrize(
    ("reply", "words"),
    [
        ({"status": 404, "json": {"error": "coin not found"}}, "HTTP 404: coin not found"),
        ({"status": 422, "json": {"error": "Missing parameter vs_currency"}}, "HTTP 422: Missing"),
        ({"body": "<html>Bad gateway</html>"}, "garbled response"),
        ({"json": {"prices": "soon"}}, "garbled response"),
        ({"json": {"prices": [[1717286400000]]}}, "garbled series"),
        ({"body": requests.exceptions.ReadTimeout("read timed out")}, "ReadTimeout"),
    ],
    ids=["unknown-id", "422", "not-json", "no-prices", "bad-pairs", "timeout"],
)
def test_a_bad_answer_fails_that_coin_only(
    api: responses.RequestsMock, reply: dict, words: str
) -> None:
    api.get(FREE.format("ethereum"), **reply)
    api.get(FREE.format("bitcoin"), json=market_chart([(utc(2024, 6, 2), 5.0, 1.0, 1.0)]))

    batch = source(utc(2024, 6, 2, 12), max_attempts=2).fetch(
        [ETH, BTC], date(2024, 6, 1), date(2024, 6, 1)
    )

    assert batch.prices["symbol"].tolist() == ["BTC"]
    (failure,) = batch.failures
    assert (failure.source, failure.symbol) == ("coingecko", "ETH")
    assert (failure.start, failure.end) == (date(2024, 6, 1), date(2024, 6, 1))
    assert words in failure.reason


def test_instrument_without_coingecko_id_fails() -> None:
    coin = Instrument("XYZ", "No id", "crypto", calendar="24/7")

    batch = source(utc(2024, 6, 2, 12)).fetch([coin], date(2024, 6, 1), date(2024, 6, 1))

    (failure,) = batch.failures
    assert failure.symbol == "XYZ" and "coingecko_id" in failure.reason


@pytest.mark.parametrize(
    ("plan", "key", "url", "header"),
    [
        ("demo", "demo-key", FREE, "x-cg-demo-api-key"),
        ("pro", "pro-key", PRO, "x-cg-pro-api-key"),
        ("demo", None, FREE, None),
    ],
)
def test_api_key_is_sent_in_the_documented_header(
    api: responses.RequestsMock, plan: str, key: str | None, url: str, header: str | None
) -> None:
    api.get(url.format("bitcoin"), json=market_chart([(utc(2024, 6, 2), 5.0, 1.0, 1.0)]))

    source(utc(2024, 6, 2, 12), plan=plan, api_key=key).fetch(
        [BTC], date(2024, 6, 1), date(2024, 6, 1)
    )

    (call,) = api.calls
    sent = {k.lower(): v for k, v in call.request.headers.items() if "cg" in k.lower()}
    assert sent == ({header: key} if header else {})
    assert "api_key" not in str(call.request.url)  # never in the URL, where logs would keep it


def test_pro_plan_needs_a_key() -> None:
    with pytest.raises(ValueError, match="api_key"):
        source(utc(2024, 6, 2), plan="pro").fetch([BTC], date(2024, 6, 1), date(2024, 6, 1))


def test_demo_plan_reports_days_older_than_365_and_fetches_the_rest(
    api: responses.RequestsMock,
) -> None:
    midnights(api, FREE)

    batch = source(utc(2024, 6, 15, 12)).fetch([BTC], date(2022, 1, 1), date(2024, 6, 10))

    (failure,) = batch.failures
    assert (failure.symbol, failure.start, failure.end) == (
        "BTC",
        date(2022, 1, 1),
        date(2023, 6, 16),
    )
    assert "last 365 days" in failure.reason
    (call,) = api.calls
    assert query(call)["from"] == int(utc(2023, 6, 17).timestamp())
    assert batch.prices["date"].iloc[[0, -1]].tolist() == [
        pd.Timestamp("2023-06-17"),
        pd.Timestamp("2024-06-10"),
    ]
    days = (batch.prices["date"] - pd.Timestamp("1970-01-01")).dt.days
    assert (batch.prices["close"] == days + 1).all()  # the 00:00 point of the next day


def test_pro_plan_walks_back_in_365_day_windows(api: responses.RequestsMock) -> None:
    midnights(api, PRO)

    batch = source(utc(2024, 6, 15, 12), plan="pro", api_key="k").fetch(
        [BTC], date(2022, 1, 1), date(2024, 6, 10)
    )

    assert batch.failures == []
    assert len(batch.prices) == (date(2024, 6, 10) - date(2022, 1, 1)).days + 1
    spans = [(query(c)["from"], query(c)["to"]) for c in api.calls]
    assert [datetime.fromtimestamp(a, UTC).date() for a, _ in spans] == [
        date(2022, 1, 1),
        date(2023, 1, 1),
        date(2024, 1, 1),
    ]
    assert all(b - a <= 365 * 86400 + 60 for a, b in spans)


def test_plan_windows_drops_days_not_over_yet() -> None:
    too_old, windows = plan_windows(date(2024, 6, 1), date(2024, 6, 30), utc(2024, 6, 15, 23), 365)

    assert too_old is None
    assert windows == [(date(2024, 6, 1), date(2024, 6, 14))]


def test_calls_are_paced(api: responses.RequestsMock) -> None:
    for coin in ("bitcoin", "ethereum"):
        api.get(FREE.format(coin), json=market_chart([(utc(2024, 6, 2), 5.0, 1.0, 1.0)]))
    src = source(utc(2024, 6, 2, 12), min_interval_s=2.5)

    src.fetch([BTC, ETH], date(2024, 6, 1), date(2024, 6, 1))

    assert sleeps(src) == [2.5]


def test_once_the_deadline_is_spent_no_request_is_made(api: responses.RequestsMock) -> None:
    sol = Instrument("SOL", "Solana", "crypto", calendar="24/7", coingecko_id="solana")
    src = source(utc(2024, 6, 2, 12), deadline_s=10.0)
    clock = src._clock
    assert isinstance(clock, FrozenClock)

    def slow(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.advance(6.0)  # every call takes 6 s
        return 200, {}, json.dumps(market_chart([(utc(2024, 6, 2), 5.0, 1.0, 1.0)]))

    api.add_callback(responses.GET, re.compile(r"https://api\.coingecko\.com/.*"), slow)

    batch = src.fetch([BTC, ETH, sol], date(2024, 6, 1), date(2024, 6, 1))

    assert batch.prices["symbol"].tolist() == ["BTC", "ETH"]  # ETH began with 4 s left
    assert len(api.calls) == 2
    (failure,) = batch.failures
    assert failure.symbol == "SOL"
    assert failure.reason == "deadline of 10 s reached (no attempt made)"


def test_retries_stop_before_a_wait_that_would_outlast_the_deadline(
    api: responses.RequestsMock,
) -> None:
    api.get(FREE.format("bitcoin"), status=429, json=RATE_LIMITED, headers={"Retry-After": "119"})
    src = source(utc(2024, 6, 2, 12), deadline_s=60.0)

    batch = src.fetch([BTC], date(2024, 6, 1), date(2024, 6, 1))

    assert sleeps(src) == [] and len(api.calls) == 1
    (failure,) = batch.failures
    assert failure.reason.startswith("deadline of 60 s reached (after 1 attempt(s)")
    assert "HTTP 429" in failure.reason
