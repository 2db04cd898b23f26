"""Overview: how fresh the data is, what the snapshot holds, and the latest day's movers."""

import dash
import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashboards import data
from dashboards.components.common import (
    caption,
    card,
    fmt_date,
    fmt_time,
    no_data_alert,
    provenance,
    snapshot_text,
    stat_card,
)
from dashboards.components.tables import freshness_table, markets_href, movers_table

dash.register_page(__name__, path="/", title="FinScope · Overview", name="Overview", order=0)

MOVERS_PER_SIDE = 5
CLASS_LABELS = {"equity": "Equities", "etf": "ETFs", "index": "Indices", "crypto": "Crypto",
                "fx": "FX"}
"""Asset classes in display order, with their headings; others follow alphabetically."""


def _class_order(asset_class: str) -> tuple[int, str]:
    order = list(CLASS_LABELS)
    return (order.index(asset_class) if asset_class in order else len(order), asset_class)


def headline_cards(as_of: pd.DataFrame) -> dbc.Row:
    """Instruments per class, bars, the latest bar and the snapshot being served."""
    info, summary, instruments = data.snapshot(), data.summary(), data.instruments()
    per_class = instruments["asset_class"].value_counts()
    classes = " · ".join(f"{per_class[c]} {c}" for c in sorted(per_class.index, key=_class_order))
    stale = as_of.loc[as_of["latest_date"] < as_of["latest_date"].max()]
    behind = ", ".join(f"{r.source}/{r.asset_class}" for r in stale.itertuples())
    cards = [
        stat_card("Instruments", f"{summary.instruments:,}", classes or "none",
                  id="overview-instruments"),
        stat_card("Daily bars", f"{summary.bars:,}",
                  f"{summary.symbols:,} symbols · {fmt_date(summary.first_date)} → "
                  f"{fmt_date(summary.last_date)}", id="overview-bars"),
        stat_card("Latest bar", fmt_date(summary.last_date),
                  f"behind: {behind}" if behind else "every source is up to date",
                  id="overview-latest"),
        stat_card("Snapshot", fmt_time(info.created_at), f"version {info.version} · run "
                  f"{info.run_id}", id="overview-snapshot"),
    ]
    return dbc.Row([dbc.Col(c, md=6, xl=3, className="mb-3") for c in cards], className="mb-2")


def freshness_card() -> dbc.Card:
    """Latest bar and fetch time per source and asset class."""
    as_of = data.as_of()
    where = snapshot_text(data.snapshot())
    return card("Freshness by source", [
        html.Div(freshness_table(as_of), id="overview-freshness"),
        caption("Latest daily bar and when it was fetched (UTC) per price source and asset "
                "class, from core.prices_daily.", where),
    ])


def movers_section(movers: pd.DataFrame, as_of: pd.DataFrame) -> list[dbc.Card]:
    """One card per asset class with its top gainers and losers side by side."""
    info = data.snapshot()
    cards = []
    for asset_class in sorted(movers["asset_class"].unique(), key=_class_order):
        rows = movers[movers["asset_class"] == asset_class]
        latest = fmt_date(rows["date"].max())
        symbols = [str(s) for s in rows.loc[rows["side"] == "gainer", "symbol"]]
        sources = as_of.loc[as_of["asset_class"] == asset_class]
        body = [
            dbc.Row([
                dbc.Col([html.H6("Top gainers", className="fs-subhead"),
                         movers_table(rows, side="gainer", id=f"movers-{asset_class}-gainers")],
                        lg=6, className="mb-3"),
                dbc.Col([html.H6("Top losers", className="fs-subhead"),
                         movers_table(rows, side="loser", id=f"movers-{asset_class}-losers")],
                        lg=6, className="mb-3"),
            ]),
            caption(f"Daily total return (split- and dividend-adjusted) on each symbol's latest "
                    f"bar, up to {latest}, from marts.returns_daily.",
                    provenance(sources["source"].unique(), sources["latest_fetched_at"].max(),
                               info)),
        ]
        if symbols:
            body.append(dcc.Link("Compare the gainers in Markets →", href=markets_href(symbols),
                                 className="small"))
        label = CLASS_LABELS.get(asset_class, asset_class)
        cards.append(card(f"Latest day's movers · {label}", body))
    return cards


def layout(**_query: object) -> html.Div:
    """The overview page; query parameters are ignored."""
    header = html.Div([
        html.H2("Market overview", className="fs-title"),
        html.P("What the warehouse holds, how fresh it is, and the latest day's biggest moves.",
               className="text-muted"),
    ])
    try:
        movers, as_of = data.movers(MOVERS_PER_SIDE), data.as_of()
        content = [
            headline_cards(as_of),
            *movers_section(movers, as_of),
            freshness_card(),
            html.Div([
                dbc.Button("Open Markets", href="/markets", color="primary", className="me-2",
                           id="overview-open-markets"),
                html.Span("Charts, return distributions and volatility for any instrument.",
                          className="text-muted small"),
            ], className="mb-4"),
        ]
    except data.NoSnapshotError as exc:
        content = [no_data_alert(str(exc))]
    return html.Div([header, *content], id="overview-page")
