"""Figure factories with one shared theme: prices with volume, return distributions, volatility.

Factories return plain plotly figure dicts (``{"data": [...], "layout": {...}}``) that
``dcc.Graph`` renders directly: no ``make_subplots`` (two y-axis domains instead) and no
per-point validation, so building a ten-year chart takes well under a millisecond. Numeric
arrays are sent as base64 typed arrays (``as_array`` reads them back); ``go.Figure(fig)``
accepts and validates any of them. Long line series use WebGL (``scattergl``).
"""

from __future__ import annotations

import base64
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio

from models.returns import rebase

Figure = dict[str, Any]

UP, DOWN, MUTED = "#198754", "#dc3545", "#6c757d"
COLORWAY = ["#0d6efd", "#fd7e14", "#198754", "#6f42c1", "#dc3545", "#0dcaf0", "#d63384",
            "#ffc107", "#20c997", "#495057"]
FONT = 'system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif'
_AXIS = {"gridcolor": "#e9ecef", "linecolor": "#ced4da", "zeroline": False, "automargin": True,
         "ticks": "outside", "tickcolor": "#ced4da", "title": {"standoff": 8}}

THEME = go.layout.Template(layout={
    "font": {"family": FONT, "size": 12, "color": "#212529"},
    "colorway": COLORWAY, "paper_bgcolor": "#ffffff", "plot_bgcolor": "#ffffff",
    "margin": {"l": 64, "r": 24, "t": 56, "b": 48},
    "hovermode": "x unified", "hoverlabel": {"font": {"family": FONT, "size": 12}},
    "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "x": 0.0},
    "xaxis": _AXIS, "yaxis": _AXIS,
})
"""The FinScope plotly template (also registered as ``pio.templates["finscope"]``)."""
pio.templates["finscope"] = THEME
_THEME = THEME.to_plotly_json()

def _num(values: Any) -> dict[str, str]:
    """A float64 typed-array spec (NaN stays a gap in plotly.js)."""
    array = np.ascontiguousarray(values, dtype="<f8")
    return {"dtype": "f8", "bdata": base64.b64encode(array.tobytes()).decode("ascii")}


def _dates(values: Any) -> list[str]:
    return np.datetime_as_string(np.asarray(values, dtype="datetime64[D]"), unit="D").tolist()


def as_array(values: Any) -> np.ndarray:
    """The numbers of a trace attribute, whether a typed-array spec or a plain sequence."""
    if isinstance(values, dict) and "bdata" in values:
        return np.frombuffer(base64.b64decode(values["bdata"]), dtype=values["dtype"])
    return np.asarray(values)


def _figure(data: list[dict[str, Any]], height: int, **layout: Any) -> Figure:
    return {"data": data, "layout": {"template": _THEME, "height": height, **layout}}


def empty_figure(message: str, *, height: int = 320) -> Figure:
    """A blank, themed figure with ``message`` in the middle (for no data or no selection)."""
    note = {"text": message, "showarrow": False, "xref": "paper", "yref": "paper",
            "x": 0.5, "y": 0.5, "font": {"size": 14, "color": MUTED}}
    return _figure([], height, xaxis={"visible": False}, yaxis={"visible": False},
                   annotations=[note])


def wide(rows: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` of long rows (symbol, date, ...) as a date x symbol frame, dates ascending and
    symbols in their order of appearance; a symbol without a bar on a date is NaN there."""
    frame = rows.pivot(index="date", columns="symbol", values=column).sort_index()
    return frame[list(rows["symbol"].unique())]


def price_figure(
    prices: pd.DataFrame, *, chart: str = "candlestick", log: bool = False,
    currency: str = "USD", height: int = 480,
) -> Figure:
    """Price chart of ``price_history`` rows.

    One symbol: split- and dividend-adjusted candlesticks (``chart="candlestick"``) or the
    adjusted close as a line, over a volume panel (as traded, green on up days). Several symbols:
    adjusted closes as lines rebased to 100 at their first common date, without volume.
    ``log`` puts the price axis on a log scale.
    """
    if prices.empty:
        return empty_figure("No bars for these symbols and dates", height=height)
    yaxis: dict[str, Any] = {"type": "log" if log else "linear"}
    if prices["symbol"].nunique() > 1:
        rebased = rebase(wide(prices, "adj_close"))
        if rebased.empty:
            return empty_figure("These symbols share no trading day in the range", height=height)
        dates = _dates(rebased.index)
        lines = [{"type": "scattergl", "mode": "lines", "name": s, "x": dates,
                  "y": _num(rebased[s]), "connectgaps": True,
                  "hovertemplate": f"{s} %{{y:.1f}}<extra></extra>"} for s in rebased.columns]
        yaxis["title"] = {"text": f"Rebased, {dates[0]} = 100"}
        return _figure(lines, height, yaxis=yaxis, showlegend=True)
    symbol = str(prices["symbol"].iloc[0])
    x = _dates(prices["date"])
    adj = prices["adj_close"].to_numpy()
    factor = adj / prices["close"].to_numpy()
    has_ohlc = bool(prices[["open", "high", "low"]].notna().all(axis=None))
    if chart == "candlestick" and has_ohlc:  # CoinGecko has closes only: draw those as a line
        main: dict[str, Any] = {
            "type": "candlestick", "name": symbol, "x": x,
            "open": _num(prices["open"].to_numpy() * factor),
            "high": _num(prices["high"].to_numpy() * factor),
            "low": _num(prices["low"].to_numpy() * factor), "close": _num(adj),
            "increasing": {"line": {"color": UP}}, "decreasing": {"line": {"color": DOWN}}}
    else:
        main = {"type": "scattergl", "mode": "lines", "name": symbol, "x": x, "y": _num(adj),
                "line": {"color": COLORWAY[0], "width": 1.6},
                "hovertemplate": "Adj. close %{y:,.2f}<extra></extra>"}
    up = prices["close"].to_numpy() >= prices["open"].fillna(prices["close"].shift()).to_numpy()
    volume = {"type": "bar", "name": "Volume", "x": x, "y": _num(prices["volume"]), "yaxis": "y2",
              "marker": {"color": _num(up), "colorscale": [[0, DOWN], [1, UP]], "cmin": 0,
                         "cmax": 1, "opacity": 0.45, "line": {"width": 0}},
              "hovertemplate": "Volume %{y:,.0f}<extra></extra>"}
    yaxis.update(domain=[0.27, 1.0], title={"text": f"Price ({currency}, adjusted)"})
    return _figure(
        [main, volume], height, showlegend=False, bargap=0, yaxis=yaxis,
        xaxis={"anchor": "y2", "rangeslider": {"visible": False}},
        yaxis2={"domain": [0.0, 0.2], "title": {"text": "Volume"}, "anchor": "x",
                "tickformat": "~s"},
    )


def returns_histogram(returns: pd.DataFrame, *, bins: int = 60, height: int = 340) -> Figure:
    """Distribution of daily simple returns (%) per symbol, each with its fitted normal curve.

    Bins are shared across symbols so the overlays compare; densities integrate to 1.
    """
    data = returns.dropna(subset=["ret"])
    if data.empty:
        return empty_figure("No returns in this range", height=height)
    pct = data["ret"].to_numpy() * 100.0
    lo, hi = float(pct.min()), float(pct.max())
    size = (hi - lo) / bins or 0.1
    grid = np.linspace(lo, hi, 200)
    groups = list(data.groupby("symbol", sort=False)["ret"])
    traces: list[dict[str, Any]] = []
    for i, (symbol, ret) in enumerate(groups):
        r = ret.to_numpy() * 100.0
        mu, sd = float(r.mean()), float(r.std(ddof=1)) if len(r) > 1 else 0.0
        color = COLORWAY[i % len(COLORWAY)]
        traces.append({
            "type": "histogram", "x": _num(r), "name": f"{symbol} (σ {sd:.2f}%)",
            "histnorm": "probability density", "legendgroup": symbol,
            "xbins": {"start": lo, "end": hi + size, "size": size},
            "marker": {"color": color}, "opacity": 0.75 if len(groups) == 1 else 0.45,
            "hovertemplate": f"{symbol} %{{x:.2f}}%: density %{{y:.3f}}<extra></extra>"})
        if sd > 0:
            pdf = np.exp(-0.5 * ((grid - mu) / sd) ** 2) / (sd * np.sqrt(2 * np.pi))
            traces.append({
                "type": "scatter", "mode": "lines", "x": _num(grid), "y": _num(pdf),
                "name": f"{symbol} normal", "legendgroup": symbol, "showlegend": False,
                "hoverinfo": "skip", "line": {"color": color, "dash": "dash", "width": 1.5}})
    return _figure(traces, height, barmode="overlay", hovermode="closest",
                   xaxis={"title": {"text": "Daily return (%)"}, "ticksuffix": "%"},
                   yaxis={"title": {"text": "Density"}})


def volatility_figure(vol: pd.DataFrame, *, window: int, height: int = 340) -> Figure:
    """Lines of ``models.returns.rolling_volatility`` output (date x symbol, annualised
    fractions), on a percent axis."""
    vol = vol.dropna(how="all")
    if vol.empty:
        return empty_figure(f"Not enough bars for a {window}-bar window", height=height)
    dates = _dates(vol.index)
    lines = [{"type": "scattergl", "mode": "lines", "name": s, "x": dates, "y": _num(vol[s]),
              "connectgaps": True, "hovertemplate": f"{s} %{{y:.1%}}<extra></extra>"}
             for s in vol.columns]
    return _figure(lines, height, showlegend=len(lines) > 1, yaxis={
        "title": {"text": f"Annualised volatility, {window}-bar"}, "tickformat": ".0%",
        "rangemode": "tozero"})
