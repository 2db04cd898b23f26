"""Figure factories on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from dashboards.figures import as_array, price_figure, volatility_figure, wide


def closes_only(n: int = 5, symbol: str = "BTC-USD") -> pd.DataFrame:
    """Bars as CoinGecko delivers them: a close and a volume, no open/high/low."""
    close = np.linspace(100.0, 104.0, n)
    return pd.DataFrame({
        "symbol": symbol, "date": pd.date_range("2024-01-01", periods=n),
        "open": np.nan, "high": np.nan, "low": np.nan, "close": close, "adj_close": close,
        "volume": 1e9,
    })


def test_candlestick_without_ohlc_falls_back_to_a_line_of_adjusted_closes():
    bars = closes_only()
    fig = price_figure(bars, chart="candlestick")
    line, volume = fig["data"]
    assert (line["type"], volume["type"]) == ("scattergl", "bar")
    assert line["x"] == ["2024-01-01", "2024-01-02", "2024-01-03", "2024-01-04", "2024-01-05"]
    np.testing.assert_array_equal(as_array(line["y"]), [100.0, 101.0, 102.0, 103.0, 104.0])
    np.testing.assert_array_equal(as_array(volume["y"]), np.full(5, 1e9))
    go.Figure(fig)


def test_candlestick_with_ohlc_is_adjusted_by_the_close_factor():
    # adj_close is half the close (a 2:1 split later on): open/high/low are halved alike.
    bars = closes_only().assign(open=100.0, high=106.0, low=98.0)
    bars["adj_close"] = bars["close"] / 2
    candle = price_figure(bars, chart="candlestick")["data"][0]
    assert candle["type"] == "candlestick"
    for field, value in (("open", 50.0), ("high", 53.0), ("low", 49.0)):
        np.testing.assert_allclose(as_array(candle[field]), np.full(5, value))
    np.testing.assert_allclose(as_array(candle["close"]), bars["close"] / 2)


def test_several_symbols_are_rebased_lines_from_their_first_common_date():
    late = closes_only(3, "ETH-USD").assign(date=pd.date_range("2024-01-03", periods=3),
                                           adj_close=[50.0, 55.0, 45.0])
    fig = price_figure(pd.concat([closes_only(), late]))
    lines = {t["name"]: t for t in fig["data"]}
    assert set(lines) == {"BTC-USD", "ETH-USD"}
    assert lines["ETH-USD"]["x"] == ["2024-01-03", "2024-01-04", "2024-01-05"]
    np.testing.assert_allclose(as_array(lines["ETH-USD"]["y"]), [100.0, 110.0, 90.0])
    np.testing.assert_allclose(as_array(lines["BTC-USD"]["y"]),
                               np.array([102.0, 103.0, 104.0]) / 102.0 * 100.0)
    assert fig["layout"]["yaxis"]["title"]["text"] == "Rebased, 2024-01-03 = 100"


def test_symbols_that_never_share_a_day_say_so():
    later = closes_only(2, "ETH-USD").assign(date=pd.date_range("2024-02-01", periods=2))
    fig = price_figure(pd.concat([closes_only(), later]))
    assert fig["data"] == []
    assert fig["layout"]["annotations"][0]["text"] == (
        "These symbols share no trading day in the range")


def test_wide_keeps_the_order_symbols_appear_in_and_leaves_gaps_nan():
    rows = pd.concat([closes_only(2, "ZZZ"), closes_only(3, "AAA")])
    frame = wide(rows, "adj_close")
    assert list(frame.columns) == ["ZZZ", "AAA"]
    assert frame["ZZZ"].isna().tolist() == [False, False, True]


def test_volatility_figure_plots_fractions_on_a_percent_axis():
    vol = pd.DataFrame({"EQ": [np.nan, 0.2, 0.25]}, index=pd.date_range("2024-01-01", periods=3))
    fig = volatility_figure(vol, window=21)
    (line,) = fig["data"]
    assert line["x"] == ["2024-01-02", "2024-01-03"]  # the all-NaN head is dropped
    np.testing.assert_allclose(as_array(line["y"]), [0.2, 0.25])
    assert fig["layout"]["yaxis"]["tickformat"] == ".0%"
    go.Figure(fig)
    empty = volatility_figure(vol.iloc[:1], window=63)
    assert empty["data"] == []
    assert empty["layout"]["annotations"][0]["text"] == "Not enough bars for a 63-bar window"


@pytest.mark.parametrize("chart", ["candlestick", "line"])
def test_no_bars_give_an_empty_figure_with_a_message(chart):
    fig = price_figure(closes_only().iloc[0:0], chart=chart)
    assert fig["data"] == []
    assert fig["layout"]["annotations"][0]["text"] == "No bars for these symbols and dates"
