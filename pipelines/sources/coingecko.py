"""CoinGecko daily closes, market caps and volumes through pycoingecko.

Daily-close rule (the same whatever granularity CoinGecko picks for the range: 5-minute for
~1 day, hourly up to 90 days, daily beyond): the close of UTC day D is the last data point
whose timestamp lies in ``(D 00:00 UTC, D+1 00:00 UTC]``. A daily series' point stamped
D+1 00:00 is therefore D's close. ``volume`` (CoinGecko's rolling 24 h volume) and
``market_cap`` follow the same rule. A day whose D+1 00:00 UTC has not come yet has no close
and is not returned. ``open``/``high``/``low`` are NaN: this endpoint has no daily OHLC.

Plans: ``demo`` (default) uses api.coingecko.com, with the optional key sent in the
``x-cg-demo-api-key`` header (no key = the keyless public API); ``pro`` uses
pro-api.coingecko.com with the key in ``x-cg-pro-api-key``. Keys go in headers, never in the
URL, so they cannot leak into logs or failure messages. The demo/keyless API serves only the
last 365 days: older days become a ``SymbolFailure`` and are not requested. Every request
covers at most 365 days; ``pro`` walks further back in such windows.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np
import pandas as pd
import requests
from pycoingecko import CoinGeckoAPI
from pydantic import Field
from requests.adapters import HTTPAdapter

from pipelines.sources.base import (
    BAR_COLUMNS,
    Instrument,
    PriceBatch,
    SymbolFailure,
    empty_prices,
)
from pipelines.sources.deadline import Deadline, DeadlineExceeded
from pipelines.sources.http import HOSTS
from pipelines.sources.live import LiveSource
from pipelines.sources.retry import (
    RETRYABLE_STATUS,
    RetryPolicy,
    TransientError,
    retry_after_from_headers,
)

DAY_MS = 86_400_000
WINDOW_DAYS = 365
"""Longest window per request, and the history the demo/keyless plan serves."""
SLACK_S = 60
"""Added to ``to`` so the point stamped exactly at the last D+1 00:00 is inside the range."""
KEY_HEADERS = {"demo": "x-cg-demo-api-key", "pro": "x-cg-pro-api-key"}


def daily_values(points: Any) -> pd.Series:
    """One value per UTC day from CoinGecko ``[[ms, value], ...]`` by the daily-close rule.

    Returns:
        Values indexed by ``datetime64[ns]`` day; null values are skipped.

    Raises:
        ValueError: ``points`` is not a list of ``[timestamp, number]`` pairs.
    """
    try:
        arr = np.asarray(points if points is not None else [], dtype="float64")
    except (TypeError, ValueError) as exc:
        raise ValueError(f"garbled series: {exc}") from None
    if arr.size == 0:
        return pd.Series(dtype="float64", index=pd.DatetimeIndex([], dtype="datetime64[ns]"))
    if arr.ndim != 2 or arr.shape[1] != 2 or np.isnan(arr[:, 0]).any():
        raise ValueError("garbled series: expected [[timestamp_ms, value], ...]")
    arr = arr[~np.isnan(arr[:, 1])]
    arr = arr[np.argsort(arr[:, 0], kind="stable")]
    day = (np.ceil(arr[:, 0]).astype(np.int64) - 1) // DAY_MS  # (D, D+1] -> D
    keep = np.append(day[1:] != day[:-1], True)  # the last point of each day
    index = pd.DatetimeIndex(pd.to_datetime(day[keep] * DAY_MS, unit="ms"), name="date")
    return pd.Series(arr[keep, 1], index=index.astype("datetime64[ns]"))


def parse_market_chart(payload: Any) -> pd.DataFrame:
    """Daily ``close``/``volume``/``market_cap`` from a ``market_chart`` payload.

    Returns:
        A frame indexed by day with those three columns (``market_cap`` may be NaN).

    Raises:
        ValueError: the payload is not a market_chart object.
    """
    if not isinstance(payload, dict) or not isinstance(payload.get("prices"), list):
        raise ValueError(f"garbled response: expected 'prices', got {str(payload)[:80]!r}")
    return pd.DataFrame(
        {
            "close": daily_values(payload["prices"]),
            "volume": daily_values(payload.get("total_volumes")),
            "market_cap": daily_values(payload.get("market_caps")),
        }
    )


def plan_windows(
    start: date, end: date, now: datetime, history_days: int | None
) -> tuple[tuple[date, date] | None, list[tuple[date, date]]]:
    """Split ``start..end`` into request windows of at most ``WINDOW_DAYS`` days.

    Days not closed at ``now`` are dropped. With ``history_days`` set, days needing data older
    than ``now - history_days`` are returned apart as the too-old span.

    Returns:
        ``(too_old_span or None, windows)``, windows oldest first, both ends inclusive.
    """
    end = min(end, now.astimezone(UTC).date() - timedelta(days=1))
    too_old = None
    if history_days is not None:
        earliest = (now - timedelta(days=history_days)).astimezone(UTC).date() + timedelta(days=1)
        if start < earliest:
            too_old = (start, min(end, earliest - timedelta(days=1)))
            start = earliest
    windows = []
    while start <= end:
        stop = min(end, start + timedelta(days=WINDOW_DAYS - 1))
        windows.append((start, stop))
        start = stop + timedelta(days=1)
    return too_old, windows


def _midnight(day: date) -> int:
    return int(datetime.combine(day, time(), tzinfo=UTC).timestamp())


def _error_text(exc: BaseException) -> str:
    """CoinGecko's own words from an error body (pycoingecko raises ``ValueError(body)``)."""
    body = exc.args[0] if exc.args else None
    if isinstance(body, dict):
        status = body.get("status")
        if isinstance(status, dict) and status.get("error_message"):
            return str(status["error_message"])
        if body.get("error"):
            return str(body["error"])
    return str(exc)[:200]


class CoinGeckoSource(LiveSource):
    """Live crypto daily bars (close, volume, market cap) from CoinGecko."""

    api_key: str | None = Field(default=None, description="API key (COINGECKO_API_KEY).")
    plan: Literal["demo", "pro"] = Field(
        default="demo", description="'demo': public API, key optional; 'pro': paid, key needed."
    )
    vs_currency: str = Field(default="usd", description="Quote currency of prices/volumes.")
    min_interval_s: float = Field(
        default=2.5, ge=0.0, le=300.0, description="Least seconds between calls (~30/min)."
    )

    @property
    def source_name(self) -> str:
        return "coingecko"

    def client(self) -> CoinGeckoAPI:
        """A pycoingecko client with no retries of its own and the key in a header.

        Raises:
            ValueError: plan ``pro`` without an API key.
        """
        key = (self.api_key or "").strip()
        if self.plan == "pro" and not key:
            raise ValueError("CoinGecko plan 'pro' needs api_key (set COINGECKO_API_KEY)")
        cg = CoinGeckoAPI(api_key=key, retries=0) if self.plan == "pro" else CoinGeckoAPI(retries=0)
        cg.extra_params = None  # pycoingecko would put the key in the query string
        cg.session.mount("https://", HTTPAdapter(max_retries=0))  # RetryPolicy is the only one
        if key:
            cg.session.headers[KEY_HEADERS[self.plan]] = key
        cg.request_timeout = self.timeout_s
        return cg

    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        """Daily closes for ``start..end``; see the module docstring for the rules."""
        cg, deadline = self.client(), self.start_deadline()
        policy = self.retry_policy(deadline)
        history = None if self.plan == "pro" else WINDOW_DAYS
        too_old, windows = plan_windows(start, end, self.clock.now(), history)
        old = f"the {self.plan} plan serves only the last {WINDOW_DAYS} days (pro goes further)"
        frames: list[pd.DataFrame] = [empty_prices()]
        failures: list[SymbolFailure] = []
        for inst in instruments:
            if not inst.coingecko_id:
                reason = "no coingecko_id in the instrument settings"
                failures.append(SymbolFailure(self.source_name, inst.symbol, start, end, reason))
                continue
            if too_old:
                failures.append(SymbolFailure(self.source_name, inst.symbol, *too_old, old))
            for first, last in windows:
                try:
                    daily = self._window(cg, deadline, policy, inst.coingecko_id, first, last)
                except (TransientError, ValueError, DeadlineExceeded) as exc:
                    span = (first, windows[-1][1])  # the rest of the window is not fetched
                    failures.append(SymbolFailure(self.source_name, inst.symbol, *span, str(exc)))
                    break
                expected = pd.date_range(first, last, freq="D", unit="ns")
                daily = daily.reindex(expected).dropna(subset=["close", "volume"])
                if len(missing := expected.difference(daily.index)):
                    shown = ", ".join(d.strftime("%Y-%m-%d") for d in missing[:5])
                    reason = f"no data point for {len(missing)} day(s): {shown}"
                    span = (missing[0].date(), missing[-1].date())
                    failures.append(SymbolFailure(self.source_name, inst.symbol, *span, reason))
                frames.append(daily.rename_axis("date").reset_index().assign(symbol=inst.symbol))
        prices = pd.concat(frames, ignore_index=True)[list(BAR_COLUMNS)]
        prices = prices.astype({"symbol": object, "date": "datetime64[ns]"})
        return PriceBatch(
            prices=prices.sort_values(["symbol", "date"], ignore_index=True), failures=failures
        )

    def _window(
        self, cg: CoinGeckoAPI, deadline: Deadline, policy: RetryPolicy, coin: str, a: date, b: date
    ) -> pd.DataFrame:
        """One ``market_chart/range`` request for days ``a..b``: paced, retried, parsed.

        Raises:
            TransientError: retries spent on timeouts, connection errors, 429/5xx.
            ValueError: a 4xx or a garbled answer (not retried).
            DeadlineExceeded: the fetch's deadline was reached (the request was not made).
        """
        host = urlsplit(cg.api_base_url).netloc

        def attempt() -> Any:
            HOSTS.wait(host, self.min_interval_s, self.clock, deadline)
            cg.request_timeout = min(self.timeout_s, deadline.remaining())
            frm, to = _midnight(a), _midnight(b + timedelta(days=1)) + SLACK_S
            try:
                return cg.get_coin_market_chart_range_by_id(coin, self.vs_currency, frm, to)
            except (ValueError, requests.HTTPError) as exc:
                http = exc if isinstance(exc, requests.HTTPError) else exc.__context__
                if not isinstance(http, requests.HTTPError) or http.response is None:
                    raise ValueError(f"garbled response: {exc}") from exc
                status, text = http.response.status_code, _error_text(exc)
                if status in RETRYABLE_STATUS:
                    retry_after = retry_after_from_headers(http.response.headers)
                    raise TransientError(f"HTTP {status}: {text}", retry_after) from exc
                raise ValueError(f"HTTP {status}: {text}") from exc

        try:
            payload = policy.call(attempt)
        except requests.RequestException as exc:  # timeouts, connection errors: retries spent
            raise TransientError(f"{type(exc).__name__}: {exc}") from exc
        return parse_market_chart(payload)
