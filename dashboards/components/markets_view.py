"""Building blocks of the Markets page: the instrument catalog, the controls, the rendered
charts for a ``MarketsState`` and the CSV of what is shown."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashboards import data
from dashboards.components.common import caption, provenance
from dashboards.components.markets_state import CHARTS, WINDOWS, MarketsState
from dashboards.components.tables import stats_table, view_stats
from dashboards.figures import Figure, price_figure, returns_histogram, volatility_figure, wide
from models import clock
from models.returns import (
    CALENDAR_DAYS_PER_YEAR,
    TRADING_DAYS_PER_YEAR,
    first_common_date,
    periods_per_year,
    rebase,
    rolling_volatility,
)


@dataclass(frozen=True)
class Catalog:
    """The instruments of the served snapshot and the range of its bars."""

    instruments: pd.DataFrame
    first: date
    last: date
    names: dict[str, str]
    periods: dict[str, int]
    currencies: dict[str, str]
    defaults: tuple[str, ...]

    @staticmethod
    def load() -> Catalog:
        """The catalog of the current snapshot (built once per snapshot version).

        Raises:
            data.NoSnapshotError: nothing published yet, or the snapshot holds no bars.
        """
        return _catalog(data.snapshot().version)

    def bounds(self) -> dict[str, Any]:
        """The keyword arguments ``parse_state`` needs."""
        return {"known": list(self.names), "default_symbols": self.defaults,
                "first": self.first, "last": self.last}


@lru_cache(maxsize=4)
def _catalog(version: str) -> Catalog:
    inst, bounds = data.instruments(), data.date_bounds()
    if bounds.first is None or bounds.last is None or inst.empty:
        raise data.NoSnapshotError("The snapshot holds no instruments or price bars yet — "
                                   "run `finscope build`.")
    symbols = [str(s) for s in inst["symbol"]]
    bench = [str(s) for s in inst.loc[inst["is_benchmark"].fillna(False), "symbol"]]
    return Catalog(
        instruments=inst, first=bounds.first, last=bounds.last,
        names=dict(zip(symbols, inst["name"].astype(str), strict=True)),
        periods={s: periods_per_year(c) for s, c in zip(symbols, inst["calendar"], strict=True)},
        currencies=dict(zip(symbols, inst["currency"].astype(str), strict=True)),
        defaults=tuple(bench[:1] or symbols[:1]),
    )


def _label(text: str) -> dbc.Label:
    return dbc.Label(text, className="fs-control-label")


def controls(state: MarketsState | None, catalog: Catalog | None) -> dbc.Card:
    """Symbol picker, date range, chart type, log switch, volatility window and CSV button."""
    options = [] if catalog is None else [
        {"label": f"{s} — {n}", "value": s} for s, n in catalog.names.items()]
    st = state or MarketsState((), clock.today(), clock.today())
    return dbc.Card(dbc.CardBody(dbc.Row([
        dbc.Col([_label("Symbols"), dcc.Dropdown(
            id="markets-symbols", options=options, value=list(st.symbols), multi=True,
            placeholder="Pick one or more symbols…")], lg=4, className="mb-2"),
        dbc.Col([_label("Dates"), dcc.DatePickerRange(
            id="markets-dates", start_date=st.start.isoformat(), end_date=st.end.isoformat(),
            min_date_allowed=catalog.first.isoformat() if catalog else None,
            max_date_allowed=catalog.last.isoformat() if catalog else None,
            display_format="YYYY-MM-DD", first_day_of_week=1)], lg=3, className="mb-2"),
        dbc.Col([_label("Chart"), dbc.RadioItems(
            id="markets-chart", value=st.chart, inline=True, className="btn-group",
            inputClassName="btn-check", labelClassName="btn btn-outline-primary btn-sm",
            labelCheckedClassName="active",
            options=[{"label": c.capitalize(), "value": c} for c in CHARTS]),
            dbc.Switch(id="markets-log", label="Log scale", value=st.log, className="mt-2")],
            lg=2, className="mb-2"),
        dbc.Col([_label("Volatility window"), dbc.Select(
            id="markets-window", value=str(st.window), size="sm",
            options=[{"label": f"{w} bars", "value": str(w)} for w in WINDOWS])],
            lg=2, className="mb-2"),
        dbc.Col([_label("Export"), html.Div(dbc.Button(
            "CSV", id="markets-download-btn", color="secondary", outline=True, size="sm",
            title="Download the price rows shown"))], lg=1, className="mb-2"),
    ], className="align-items-start")), className="shadow-sm mb-4 fs-controls")


def shown_prices(state: MarketsState) -> pd.DataFrame:
    """The ``price_history`` rows the price chart shows for ``state``.

    Several symbols are compared from their first common date, so earlier rows are dropped.
    """
    prices = data.price_history(state.symbols, state.start, state.end)
    if len(state.symbols) > 1 and not prices.empty:
        base = first_common_date(wide(prices, "adj_close"))
        prices = prices.iloc[0:0] if base is None else prices[prices["date"] >= base]
    return prices


@dataclass(frozen=True)
class Rendered:
    """The charts, captions and statistics of one state."""

    price: Figure
    price_caption: html.P
    returns: Figure
    returns_caption: html.P
    volatility: Figure
    volatility_caption: html.P
    stats: Any
    notes: tuple[str, ...] = ()


def render(state: MarketsState, catalog: Catalog) -> Rendered:
    """Query the snapshot for ``state`` and build every chart, caption and table."""
    info = data.snapshot()
    prices = shown_prices(state)
    lead = timedelta(days=2 * state.window + 14)  # enough earlier bars to fill the window
    rets = data.returns(state.symbols, state.start - lead, state.end)
    where = provenance(prices["source"].unique(), prices["fetched_at"].max(), info)
    span = (f"{prices['date'].min():%Y-%m-%d} → {prices['date'].max():%Y-%m-%d}"
            if not prices.empty else f"{state.start} → {state.end}")
    multi = len(state.symbols) > 1
    shown = set(prices["symbol"].unique())
    missing = [s for s in state.symbols if s not in shown]
    notes = (f"No bars for {', '.join(missing)} between {state.start} and {state.end}.",
             ) if missing else ()
    currency = catalog.currencies.get(state.symbols[0], "USD")
    price = price_figure(prices, chart=state.chart, log=state.log, currency=currency)
    if multi:
        what = (f"Adjusted closes of {', '.join(state.symbols)} rebased to 100 at their first "
                f"common date, {span}")
    else:
        sym = state.symbols[0]
        kind = "candlesticks" if state.chart == "candlestick" else "closing prices"
        what = (f"Daily {kind} of {sym} ({catalog.names.get(sym, sym)}), split- and "
                f"dividend-adjusted, {span}; volume as traded")
    what += f"{', log scale' if state.log else ''} ({len(prices):,} bars)."
    in_range = rets[rets["date"] >= pd.Timestamp(state.start)]
    vol = pd.DataFrame()
    if not rets.empty:
        log_ret = wide(rets, "log_ret")
        vol = rolling_volatility(log_ret, state.window, catalog.periods)
        vol = vol.loc[pd.Timestamp(state.start):]
    return Rendered(
        price=price,
        price_caption=caption(what, where),
        returns=returns_histogram(in_range),
        returns_caption=caption(
            f"Daily simple returns from adjusted closes, {span}; dashed lines: normal "
            "distributions with the same mean and standard deviation.", where),
        volatility=volatility_figure(vol, window=state.window),
        volatility_caption=caption(
            f"Standard deviation (ddof=1) of daily log returns over a rolling {state.window}-bar "
            f"window, annualised by √{TRADING_DAYS_PER_YEAR} (exchange calendars) or "
            f"√{CALENDAR_DAYS_PER_YEAR} (24/7 crypto).", where),
        stats=stats_table(view_stats(prices, catalog.periods), catalog.names),
        notes=notes,
    )


def csv_frame(state: MarketsState) -> pd.DataFrame:
    """``shown_prices`` as exported: dates as text, plus ``rebased`` when comparing symbols."""
    prices = shown_prices(state)
    if len(state.symbols) > 1 and not prices.empty:
        rebased = rebase(wide(prices, "adj_close"))
        long = rebased.stack().rename("rebased").reset_index()
        prices = prices.merge(long, on=["symbol", "date"], how="left")
    return prices.assign(date=prices["date"].dt.strftime("%Y-%m-%d"),
                         fetched_at=prices["fetched_at"].dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


def csv_download(state: MarketsState) -> dict[str, Any]:
    """The ``dcc.Download`` payload of ``csv_frame(state)``."""
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", "-".join(state.symbols))
    filename = f"finscope_{name}_{state.start}_{state.end}.csv"
    return dcc.send_data_frame(csv_frame(state).to_csv, filename, index=False)
