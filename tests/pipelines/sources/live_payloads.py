"""Test doubles for the live sources: a network guard and payload builders.

Sources get a ``models.clock.FrozenClock`` (``sleep`` records the wait and advances time), so
retries, pauses and deadlines take no time.

The payloads are written here in the providers' exact formats (Yahoo chart API v8, CoinGecko
``market_chart``), learnt from the captures in ``../shared/fixtures``; none is copied.
``FakeYahoo`` serves them to yfinance's real parser by replacing ``YfData.get``/``cache_get``.
"""

from __future__ import annotations

import copy
import json
import socket
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from zoneinfo import ZoneInfo

import curl_cffi.requests
import pytest
import yfinance.cache
import yfinance.data

from models.clock import FrozenClock

Bar = tuple[date, float | None, float | None, float | None, float | None, int | None]
NOT_FOUND = {
    "chart": {
        "result": None,
        "error": {"code": "Not Found", "description": "No data found, symbol may be delisted"},
    }
}


def block_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make any real connection attempt fail loudly (sockets, DNS, curl_cffi)."""

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access is disabled in tests")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    monkeypatch.setattr(curl_cffi.requests.Session, "request", refuse)


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    """A UTC datetime."""
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


def sleeps(resource: Any) -> list[float]:
    """The waits a source with a ``FrozenClock`` asked for."""
    clock = resource._clock
    assert isinstance(clock, FrozenClock)
    return clock.slept


def stamp(day: date, tz: str, at: dtime) -> int:
    """Unix seconds of local time ``at`` on ``day`` in ``tz`` (how Yahoo stamps daily bars)."""
    return int(datetime.combine(day, at, tzinfo=ZoneInfo(tz)).timestamp())


def chart(
    symbol: str,
    bars: list[Bar],
    *,
    tz: str = "America/New_York",
    opens_at: dtime = dtime(9, 30),
    dividends: dict[date, float] | None = None,
    splits: dict[date, tuple[int, int]] | None = None,
    trading_day: date | None = None,
    instrument_type: str = "EQUITY",
) -> dict[str, Any]:
    """A Yahoo v8 chart payload with daily ``bars`` (day, open, high, low, close, volume).

    ``trading_day`` sets ``currentTradingPeriod`` (default: the day after the last bar).
    """
    day0 = trading_day or bars[-1][0] + timedelta(days=1)
    start = stamp(day0, tz, opens_at)
    offset = int(datetime.fromtimestamp(start, ZoneInfo(tz)).utcoffset().total_seconds())  # type: ignore[union-attr]
    period = {"timezone": "X", "gmtoffset": offset}
    events: dict[str, Any] = {}
    if dividends:
        events["dividends"] = {
            str(ts): {"amount": amount, "date": ts}
            for ts, amount in ((stamp(d, tz, opens_at), a) for d, a in dividends.items())
        }
    if splits:
        events["splits"] = {
            str(ts): {"date": ts, "numerator": n, "denominator": m, "splitRatio": f"{n}:{m}"}
            for ts, (n, m) in ((stamp(d, tz, opens_at), r) for d, r in splits.items())
        }
    quote = {k: [b[i] for b in bars] for i, k in enumerate(["open", "high", "low", "close"], 1)}
    quote["volume"] = [b[5] for b in bars]
    result: dict[str, Any] = {
        "meta": {
            "currency": "USD",
            "symbol": symbol,
            "exchangeName": "NMS",
            "fullExchangeName": "NasdaqGS",
            "instrumentType": instrument_type,
            "firstTradeDate": 345479400,
            "regularMarketTime": start,
            "hasPrePostMarketData": True,
            "gmtoffset": offset,
            "timezone": "X",
            "exchangeTimezoneName": tz,
            "regularMarketPrice": bars[-1][4],
            "chartPreviousClose": bars[0][4],
            "priceHint": 2,
            "currentTradingPeriod": {
                "pre": {**period, "start": start - 5 * 3600, "end": start},
                "regular": {**period, "start": start, "end": start + 23400},
                "post": {**period, "start": start + 23400, "end": start + 37800},
            },
            "dataGranularity": "1d",
            "range": "",
            "validRanges": ["1d", "5d", "1mo", "3mo", "6mo", "1y", "2y", "5y", "10y", "ytd", "max"],
        },
        "timestamp": [stamp(b[0], tz, opens_at) for b in bars],
        "indicators": {"quote": [quote], "adjclose": [{"adjclose": quote["close"]}]},
    }
    if events:
        result["events"] = events
    return {"chart": {"result": [result], "error": None}}


def empty_chart(payload: dict[str, Any]) -> dict[str, Any]:
    """The same chart with no bars: no ``timestamp`` key and ``quote: [{}]`` (a weekend)."""
    result = copy.deepcopy(payload["chart"]["result"][0])
    result.pop("timestamp", None)
    result.pop("events", None)
    result["indicators"] = {"quote": [{}]}
    return {"chart": {"result": [result], "error": None}}


class FakeResponse:
    """What yfinance reads from a curl_cffi response."""

    def __init__(self, status: int, text: str, url: str) -> None:
        self.status_code, self.text, self.url = status, text, url
        self.content = text.encode()

    def json(self) -> Any:
        return json.loads(self.text)

    def raise_for_status(self) -> None:
        if self.status_code >= 400:
            raise curl_cffi.requests.exceptions.HTTPError(f"HTTP {self.status_code}", response=self)


class FakeYahoo:
    """Answers yfinance's requests like Yahoo: the chart cut to ``period1..period2``.

    ``charts[symbol]`` is the full history; ``script[symbol]`` queues answers for the next
    history requests (an exception to raise, a dict or str body, optionally ``(status, body)``).
    """

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.charts: dict[str, dict[str, Any]] = {}
        self.script: dict[str, list[Any]] = {}
        self.requests: list[tuple[str, dict[str, Any]]] = []
        monkeypatch.setattr(yfinance.data.YfData, "get", self._get)
        monkeypatch.setattr(yfinance.data.YfData, "cache_get", self._get)
        monkeypatch.setattr(
            yfinance.cache._TzCacheManager, "_tz_cache", yfinance.cache._TzCacheDummy()
        )

    def history_requests(self, symbol: str) -> list[dict[str, Any]]:
        """Params of the price-history requests (not the timezone look-ups) for ``symbol``."""
        return [p for u, p in self.requests if u.endswith(f"/{symbol}") and "period1" in p]

    def _get(self, url: str, params: dict[str, Any] | None = None, timeout: float = 30) -> Any:
        params = dict(params or {})
        self.requests.append((url, params))
        symbol = url.rsplit("/", 1)[-1]
        if "/v8/finance/chart/" not in url:  # quoteSummary etc.: as Yahoo does for unknowns
            body = {"quoteSummary": {"result": None, "error": {"code": "Not Found"}}}
            return FakeResponse(404, json.dumps(body), url)
        if "period1" in params and self.script.get(symbol):
            answer = self.script[symbol].pop(0)
            if isinstance(answer, BaseException):
                raise answer
            status, body = answer if isinstance(answer, tuple) else (200, answer)
            return FakeResponse(status, body if isinstance(body, str) else json.dumps(body), url)
        if symbol not in self.charts:
            return FakeResponse(404, json.dumps(NOT_FOUND), url)
        lo, hi = params.get("period1", 0), params.get("period2", 2**40)
        return FakeResponse(200, json.dumps(self._cut(self.charts[symbol], lo, hi)), url)

    @staticmethod
    def _cut(payload: dict[str, Any], lo: int, hi: int) -> dict[str, Any]:
        out = copy.deepcopy(payload)
        result = out["chart"]["result"][0]
        keep = [i for i, ts in enumerate(result.get("timestamp", [])) if lo <= ts < hi]
        if "timestamp" in result:
            result["timestamp"] = [result["timestamp"][i] for i in keep]
            for block in (result["indicators"]["quote"][0], result["indicators"]["adjclose"][0]):
                for key, values in block.items():
                    block[key] = [values[i] for i in keep]
        for kind, items in result.get("events", {}).items():
            result["events"][kind] = {k: v for k, v in items.items() if lo <= v["date"] < hi}
        return out


def market_chart(points: list[tuple[datetime, float, float, float]]) -> dict[str, Any]:
    """A CoinGecko ``market_chart`` body from ``(time, price, volume, market_cap)`` points."""

    def ms(t: datetime) -> int:
        return int(t.timestamp() * 1000)

    return {
        "prices": [[ms(t), p] for t, p, _, _ in points],
        "market_caps": [[ms(t), m] for t, _, _, m in points],
        "total_volumes": [[ms(t), v] for t, _, v, _ in points],
    }
