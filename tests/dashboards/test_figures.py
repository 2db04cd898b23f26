"""Figure factories on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd

from dashboards.figures import price_figure


def closes_only(n: int = 5) -> pd.DataFrame:
    """Bars as CoinGecko delivers them: a close and a volume, no open/high/low."""
    close = np.linspace(100.0, 104.0, n)
    return pd.DataFrame({
        "symbol": "BTC-USD", "date": pd.date_range("2024-01-01", periods=n),
        "open": np.nan, "high": np.nan, "low": np.nan, "close": close, "adj_close": close,
        "volume": 1e9,
    })


def test_candlestick_without_ohlc_falls_back_to_a_line():
    fig = price_figure(closes_only(), chart="candlestick")
    kinds = [trace["type"] for trace in fig["data"]]
    assert kinds == ["scattergl", "bar"]


def test_candlestick_with_ohlc_stays_a_candlestick():
    bars = closes_only().assign(open=100.0, high=105.0, low=99.0)
    assert price_figure(bars, chart="candlestick")["data"][0]["type"] == "candlestick"
