"""Markets: prices with volume, return distributions and volatility for chosen instruments.

The view's state lives in the URL (``/markets?symbols=AAPL,MSFT&start=...&end=...&chart=line
&log=1&window=63``): ``layout`` renders it on load, ``update_charts`` keeps it in sync as the
controls change. ``update_charts`` and ``download_csv`` are plain functions, callable without a
Dash server: import this module after ``create_app(snapshot_dir)`` (pages register with an app,
and ``create_app`` points ``dashboards.data`` at the snapshots).
"""

from __future__ import annotations

from datetime import date
from typing import Any, NamedTuple

import dash
import dash_bootstrap_components as dbc
from dash import Input, Output, State, callback, dcc, html, no_update

from dashboards import data
from dashboards.components.common import no_data_alert, problems_alert
from dashboards.components.markets_state import MarketsState, parse_state
from dashboards.components.markets_view import Catalog, controls, csv_download, render
from dashboards.figures import Figure, empty_figure

dash.register_page(__name__, path="/markets", title="FinScope · Markets", name="Markets", order=1)


class ChartsOutput(NamedTuple):
    """What ``update_charts`` returns, in the order of its callback outputs."""

    price: Figure
    price_caption: Any
    returns: Figure
    returns_caption: Any
    volatility: Figure
    volatility_caption: Any
    stats: Any
    alert: Any
    search: Any  # the URL query string, or no_update


OUTPUT_IDS = [("markets-price", "figure"), ("markets-price-caption", "children"),
              ("markets-returns", "figure"), ("markets-returns-caption", "children"),
              ("markets-vol", "figure"), ("markets-vol-caption", "children"),
              ("markets-stats", "children"), ("markets-alert", "children"),
              ("markets-url", "search")]


def _blank(message: str, alert: Any) -> ChartsOutput:
    fig = empty_figure(message)
    return ChartsOutput(fig, None, fig, None, fig, None, None, alert, no_update)


def view(state: MarketsState, problems: list[str], catalog: Catalog) -> ChartsOutput:
    """Every output of the page for ``state``; ``problems`` go into the alert."""
    out = render(state, catalog)
    return ChartsOutput(out.price, out.price_caption, out.returns, out.returns_caption,
                        out.volatility, out.volatility_caption, out.stats,
                        problems_alert([*problems, *out.notes]), state.query())


def update_charts(
    symbols: list[str] | str | None,
    start: str | date | None,
    end: str | date | None,
    chart: str | None = "candlestick",
    log: bool | str | None = False,
    window: int | str | None = 21,
) -> ChartsOutput:
    """The Markets callback body: controls -> validated state -> queries -> figures.

    Returns:
        ``ChartsOutput``: price, returns and volatility figures with their captions, the
        per-symbol statistics table, an alert naming anything that could not be used (or None),
        and the URL query string of what is shown.
    """
    try:
        catalog = Catalog.load()
    except data.NoSnapshotError as exc:
        return _blank("No data published yet", no_data_alert(str(exc)))
    if not symbols:
        return _blank("Pick one or more symbols above", None)
    raw = {"symbols": symbols, "start": start, "end": end, "chart": chart, "log": log,
           "window": window}
    state, problems = parse_state(raw, **catalog.bounds())
    return view(state, problems, catalog)


def download_csv(
    n_clicks: int | None,
    symbols: list[str] | str | None,
    start: str | date | None,
    end: str | date | None,
) -> dict[str, Any] | Any:
    """The CSV of exactly the price rows shown for these controls (``no_update`` before a click).

    Returns:
        A ``dcc.Download`` payload (content, filename, type, base64).
    """
    if not n_clicks or not symbols:
        return no_update
    try:
        catalog = Catalog.load()
    except data.NoSnapshotError:
        return no_update
    state, _ = parse_state({"symbols": symbols, "start": start, "end": end}, **catalog.bounds())
    return csv_download(state)


def layout(**query: Any) -> html.Div:
    """The page for the URL query (``symbols``, ``start``, ``end``, ``chart``, ``log``,
    ``window``); bad values are named in an alert and replaced by defaults."""
    catalog: Catalog | None = None
    state: MarketsState | None = None
    try:
        catalog = Catalog.load()
        state, problems = parse_state(query, **catalog.bounds())
        out = view(state, problems, catalog)
    except data.NoSnapshotError as exc:
        out = _blank("No data published yet", no_data_alert(str(exc)))
    return html.Div([
        html.H2("Markets", className="fs-title"),
        html.P("Adjusted prices, return distributions and volatility from the serving snapshot.",
               className="text-muted"),
        html.Div(out.alert, id="markets-alert"),
        controls(state, catalog),
        *_chart_cards(out),
        dcc.Location(id="markets-url", refresh=False),
        dcc.Download(id="markets-download"),
    ], id="markets-page")


def _chart_cards(out: ChartsOutput) -> list[Any]:
    def graph(id_: str, title: str, fig: Figure, cap: Any) -> dbc.Card:
        return dbc.Card([
            dbc.CardHeader(title, className="fs-card-header"),
            dbc.CardBody([
                dcc.Loading(dcc.Graph(id=id_, figure=fig, config={
                    "displaylogo": False, "displayModeBar": "hover",
                    "modeBarButtonsToRemove": ["lasso2d", "select2d"]}),
                    type="dot", delay_show=300),
                html.Div(cap, id=f"{id_}-caption"),
            ]),
        ], className="shadow-sm mb-4")

    return [
        graph("markets-price", "Prices", out.price, out.price_caption),
        dbc.Row([
            dbc.Col(graph("markets-returns", "Distribution of daily returns", out.returns,
                          out.returns_caption), lg=6),
            dbc.Col(graph("markets-vol", "Rolling volatility", out.volatility,
                          out.volatility_caption), lg=6),
        ]),
        dbc.Card([dbc.CardHeader("Shown period, per symbol", className="fs-card-header"),
                  dbc.CardBody(html.Div(out.stats, id="markets-stats"))],
                 className="shadow-sm mb-4"),
    ]


callback(
    [Output(id_, prop) for id_, prop in OUTPUT_IDS],
    Input("markets-symbols", "value"),
    Input("markets-dates", "start_date"),
    Input("markets-dates", "end_date"),
    Input("markets-chart", "value"),
    Input("markets-log", "value"),
    Input("markets-window", "value"),
    prevent_initial_call=True,
)(update_charts)

callback(
    Output("markets-download", "data"),
    Input("markets-download-btn", "n_clicks"),
    State("markets-symbols", "value"),
    State("markets-dates", "start_date"),
    State("markets-dates", "end_date"),
    prevent_initial_call=True,
)(download_csv)
