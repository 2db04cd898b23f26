"""The real captured payloads in ``../shared/fixtures``, through the sources' own parsing.

Skipped where that directory does not exist (it is not part of the project).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import responses

from models.clock import FrozenClock
from pipelines.sources.base import Instrument
from pipelines.sources.coingecko import CoinGeckoSource, parse_market_chart
from pipelines.sources.yahoo import YahooSource, as_traded
from tests.pipelines.sources.live_payloads import FakeYahoo, block_network, utc

FIXTURES = Path(__file__).resolve().parents[3] / ".." / "shared" / "fixtures"
pytestmark = pytest.mark.skipif(not FIXTURES.is_dir(), reason=f"{FIXTURES} not present")
CHART = "https://api.coingecko.com/api/v3/coins/bitcoin/market_chart/range"


def load(name: str) -> Any:
    return json.loads((FIXTURES / name).read_text())


@pytest.fixture(autouse=True)
def _no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    block_network(monkeypatch)


@pytest.fixture
def yahoo(monkeypatch: pytest.MonkeyPatch) -> FakeYahoo:
    fake = FakeYahoo(monkeypatch)
    for symbol, name in [
        ("WSU.DE", "yahoo_chart_WSU.DE_1d_2023-08-04_2023-08-09.json"),
        ("BTC-USD", "yahoo_chart_BTC-USD_1d_2020-01-01_2020-01-03.json"),
        ("AAPL", "yahoo_chart_AAPL_1d_2020-08-31_2020-11-07_div_split.json"),
        ("NVDA", "yahoo_chart_NVDA_1d_2021-02-01_2022-01-31_split.json"),
        ("MSFT", "yahoo_chart_MSFT_1d_2021-02-01_2022-01-31_dividends.json"),
    ]:
        fake.charts[symbol] = load(name)
    return fake


def fetch_yahoo(inst: Instrument, start: date, end: date) -> Any:
    src = YahooSource()
    src._clock = FrozenClock(utc(end.year, end.month, end.day) + pd.Timedelta(days=5))
    return src.fetch([inst], start, end)


def quote(fake: FakeYahoo, symbol: str, key: str) -> list[float]:
    return fake.charts[symbol]["chart"]["result"][0]["indicators"]["quote"][0][key]


def test_yahoo_xetra_and_crypto_dates(yahoo: FakeYahoo) -> None:
    wsu = fetch_yahoo(
        Instrument("WSU", "WashTec", "equity", "EUR", "XETR", yahoo_id="WSU.DE"),
        date(2023, 8, 4),
        date(2023, 8, 8),
    )
    btc = fetch_yahoo(
        Instrument("BTC", "Bitcoin", "crypto", calendar="24/7", yahoo_id="BTC-USD"),
        date(2020, 1, 1),
        date(2020, 1, 3),
    )

    assert wsu.failures == [] and btc.failures == []
    assert wsu.prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2023-08-04",
        "2023-08-07",
        "2023-08-08",
    ]
    assert wsu.prices["close"].tolist() == quote(yahoo, "WSU.DE", "close")
    assert wsu.prices["volume"].tolist() == [1251.0, 336.0, 10846.0]
    assert btc.prices["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2020-01-01",
        "2020-01-02",
        "2020-01-03",
    ]
    assert btc.prices["close"].tolist() == quote(yahoo, "BTC-USD", "close")


def test_yahoo_split_and_dividend_events(yahoo: FakeYahoo) -> None:
    aapl = fetch_yahoo(Instrument("AAPL", "Apple", "equity"), date(2020, 8, 31), date(2020, 11, 6))
    nvda = fetch_yahoo(Instrument("NVDA", "Nvidia", "equity"), date(2021, 7, 19), date(2021, 7, 20))
    msft = fetch_yahoo(
        Instrument("MSFT", "Microsoft", "equity"), date(2021, 2, 1), date(2022, 1, 28)
    )

    assert aapl.failures == nvda.failures == msft.failures == []
    assert len(aapl.prices) == 49 and len(msft.prices) == 252
    assert aapl.actions[["action", "value"]].values.tolist() == [
        ["split", 4.0],
        ["dividend", 0.205],
    ]
    assert aapl.actions["date"].dt.strftime("%Y-%m-%d").tolist() == ["2020-08-31", "2020-11-06"]
    # The day before NVDA's 4:1 split traded at 4x the close Yahoo shows, on 1/4 of the volume.
    closes, volumes = quote(yahoo, "NVDA", "close"), quote(yahoo, "NVDA", "volume")
    i = yahoo.charts["NVDA"]["chart"]["result"][0]["timestamp"].index(1626787800)
    assert nvda.prices["close"].tolist() == [closes[i - 1] * 4, closes[i]]
    assert nvda.prices["volume"].tolist() == [volumes[i - 1] / 4, volumes[i]]
    assert nvda.actions[["action", "value"]].values.tolist() == [["split", 4.0]]
    assert msft.actions["value"].tolist() == [0.56, 0.56, 0.56, 0.62]
    assert msft.actions["date"].dt.strftime("%Y-%m-%d").tolist() == [
        "2021-02-17",
        "2021-05-19",
        "2021-08-18",
        "2021-11-17",
    ]


def test_yahoo_empty_weekend_answer_is_a_failure(yahoo: FakeYahoo) -> None:
    weekend = load("yahoo_chart_AAPL_1m_2025-02-01_2025-02-02_empty_weekend.json")
    yahoo.script["AAPL"] = [(200, weekend)]

    batch = fetch_yahoo(Instrument("AAPL", "Apple", "equity"), date(2025, 1, 31), date(2025, 2, 2))

    (failure,) = batch.failures
    assert (failure.source, failure.symbol) == ("yahoo", "AAPL") and batch.prices.empty


def yfinance_frame(name: str, tz: str) -> pd.DataFrame:
    frame = pd.read_csv(FIXTURES / name, index_col=0)
    frame.index = pd.to_datetime(frame.index, utc=True).tz_convert(tz)
    return frame


def test_as_traded_undoes_yfinance_split_adjustment() -> None:
    fixed = yfinance_frame(
        "yfinance_testdata_MOB-ST-1d-bad-stock-split-fixed.csv", "Europe/Stockholm"
    )
    raw = yfinance_frame("yfinance_testdata_MOB-ST-1d-bad-stock-split.csv", "Europe/Stockholm")

    bars, actions = as_traded(fixed)

    # On 22 May 2023 Yahoo served that day unadjusted; un-adjusting the repaired series
    # (a 1:10 reverse split on 24 May) must give back those as-traded numbers.
    day = bars.set_index("date").loc[pd.Timestamp("2023-05-22")]
    assert day["close"] == pytest.approx(raw["Close"].iloc[9], rel=1e-6)
    assert day["volume"] == pytest.approx(raw["Volume"].iloc[9], rel=1e-4)
    assert actions.values.tolist() == [[pd.Timestamp("2023-05-24"), "split", 0.1]]
    assert bars["close"].iloc[-5:].tolist() == fixed["Close"].iloc[-5:].tolist()


def test_as_traded_keeps_dividends_without_splits() -> None:
    frame = yfinance_frame("yfinance_testdata_LSC-L-1d-bad-div-fixed.csv", "Europe/London")

    _, actions = as_traded(frame)

    expected = frame[frame["Dividends"] > 0]["Dividends"]
    assert actions["value"].tolist() == pytest.approx(expected.tolist())
    assert actions["date"].tolist() == [pd.Timestamp(d.date()) for d in expected.index]


def test_coingecko_close_rule_agrees_across_granularities() -> None:
    daily = parse_market_chart(load("coingecko_market_chart_bitcoin_usd_90d_daily.json"))
    hourly = parse_market_chart(load("coingecko_market_chart_bitcoin_usd_30d_hourly.json"))
    minutes = parse_market_chart(load("coingecko_market_chart_bitcoin_usd_1d_5min.json"))
    prices = load("coingecko_market_chart_bitcoin_usd_90d_daily.json")["prices"]

    assert daily.index[0] == pd.Timestamp("2021-02-14") and daily.index.is_unique
    assert daily.loc["2021-05-14", "close"] == prices[-2][1]  # stamped 2021-05-15 00:00
    assert minutes.loc["2021-05-14", "close"] == daily.loc["2021-05-14", "close"]
    assert hourly.loc["2021-05-14", "close"] == pytest.approx(
        daily.loc["2021-05-14", "close"], rel=5e-3
    )
    assert not daily[["close", "volume", "market_cap"]].isna().any().any()


@pytest.fixture
def api() -> Iterator[responses.RequestsMock]:
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def test_coingecko_error_bodies(api: responses.RequestsMock) -> None:
    def body(name: str) -> str:
        return (FIXTURES / name).read_text()

    api.get(
        CHART,
        status=429,
        body=body("coingecko_error_429_rate_limit.json"),
        headers={"retry-after": "119"},
    )
    api.get(
        CHART, status=422, body=body("coingecko_error_422_market_chart_missing_vs_currency.json")
    )
    api.get(CHART, status=500, body=body("coingecko_error_500_ohlc_no_params.json"))
    src = CoinGeckoSource(min_interval_s=0.0, max_attempts=2)
    src._clock = clock = FrozenClock(utc(2021, 5, 15, 14, 42))
    btc = Instrument("BTC", "Bitcoin", "crypto", calendar="24/7", coingecko_id="bitcoin")

    first = src.fetch([btc], date(2021, 5, 10), date(2021, 5, 14))  # 429, retried -> 422
    second = src.fetch([btc], date(2021, 5, 10), date(2021, 5, 14))  # 500, 500

    assert clock.slept[0] == 119.0
    assert [f.reason for f in first.failures] == ["HTTP 422: Missing parameter vs_currency"]
    assert [f.reason for f in second.failures] == ["HTTP 500: Internal Server Error"]
