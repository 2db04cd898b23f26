"""Table factories: movers, freshness by source, and per-symbol statistics of a view."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

import dash_bootstrap_components as dbc
import pandas as pd
from dash import dcc, html

from dashboards.components.common import fmt_date, fmt_pct, fmt_time
from dashboards.figures import wide
from models.returns import log_returns, max_drawdown, total_return, volatility

MARKETS_PATH = "/markets"


def markets_href(symbols: list[str] | tuple[str, ...]) -> str:
    """The Markets page with ``symbols`` preselected, e.g. ``/markets?symbols=AAPL,MSFT``."""
    return f"{MARKETS_PATH}?{urlencode({'symbols': ','.join(symbols)}, safe=',')}"


def _table(
    header: list[str], rows: list[html.Tr], *, numeric_from: int, **kwargs: Any
) -> dbc.Table:
    cells = [html.Th(h, className="text-end") if i >= numeric_from else html.Th(h)
             for i, h in enumerate(header)]
    return dbc.Table([html.Thead(html.Tr(cells)), html.Tbody(rows)], size="sm", hover=True,
                     responsive=True, className="fs-table mb-0", **kwargs)


def movers_table(movers: pd.DataFrame, *, side: str, id: str | None = None) -> html.Div:
    """Gainers or losers (rows of ``warehouse.queries.movers`` for one class and side).

    Each symbol links to the Markets page with that symbol preselected.
    """
    rows = movers[movers["side"] == side]
    kwargs: dict[str, Any] = {"id": id} if id else {}
    if rows.empty:
        word = "gains" if side == "gainer" else "losses"
        return html.Div(f"No {word} on the latest day.", className="text-muted small", **kwargs)
    color = "text-success" if side == "gainer" else "text-danger"
    body = [
        html.Tr([
            html.Td(dcc.Link(str(r.symbol), href=markets_href([str(r.symbol)]),
                             className="fs-symbol")),
            html.Td(str(r.name), className="text-truncate fs-name"),
            html.Td(f"{r.adj_close:,.2f}", className="text-end"),
            html.Td(fmt_pct(r.ret), className=f"text-end fw-semibold {color}"),
            html.Td(fmt_date(r.date), className="text-end text-muted"),
        ], className="fs-mover-row")
        for r in rows.itertuples()
    ]
    header = ["Symbol", "Name", "Close", "Change", "Date"]
    return html.Div(_table(header, body, numeric_from=2), **kwargs)


def freshness_table(as_of: pd.DataFrame) -> dbc.Table:
    """One row per (source, asset class): latest bar, latest fetch, symbols and bars."""
    body = [
        html.Tr([
            html.Td(str(r.source)), html.Td(str(r.asset_class)),
            html.Td(fmt_date(r.latest_date), className="text-end"),
            html.Td(fmt_time(r.latest_fetched_at), className="text-end"),
            html.Td(f"{r.symbols:,}", className="text-end"),
            html.Td(f"{r.bars:,}", className="text-end"),
        ])
        for r in as_of.itertuples()
    ]
    header = ["Source", "Asset class", "Latest bar", "Fetched", "Symbols", "Bars"]
    return _table(header, body, numeric_from=2)


def view_stats(prices: pd.DataFrame, periods: Mapping[str, int]) -> pd.DataFrame:
    """Per symbol over the shown ``price_history`` rows (definitions in ``models.returns``).

    Args:
        prices: long rows with symbol, date and adj_close.
        periods: bars per year per symbol (``models.returns.periods_per_year``).

    Returns:
        One row per symbol, in order of appearance: symbol, first and last date, last adjusted
        close, total return, annualised volatility of daily log returns, maximum drawdown and
        bar count.
    """
    columns = ["symbol", "first", "last", "close", "total_return", "volatility",
               "max_drawdown", "bars"]
    if prices.empty:
        return pd.DataFrame(columns=columns)
    adj = wide(prices, "adj_close")
    stats = pd.DataFrame({
        "first": adj.apply(pd.Series.first_valid_index),
        "last": adj.apply(pd.Series.last_valid_index), "close": adj.ffill().iloc[-1],
        "total_return": total_return(adj),
        "volatility": volatility(log_returns(adj), periods),
        "max_drawdown": max_drawdown(adj), "bars": adj.count(),
    })
    return stats.rename_axis("symbol").reset_index()[columns]


def stats_table(stats: pd.DataFrame, names: Mapping[str, str]) -> dbc.Table:
    """``view_stats`` output as a table, with instrument names."""
    body = [
        html.Tr([
            html.Td(str(r.symbol), className="fs-symbol"), html.Td(names.get(r.symbol, "")),
            html.Td(f"{fmt_date(r.first)} → {fmt_date(r.last)}", className="text-end"),
            html.Td(f"{r.close:,.2f}", className="text-end"),
            html.Td(fmt_pct(r.total_return), className="text-end"),
            html.Td(fmt_pct(r.volatility, digits=1, sign=False), className="text-end"),
            html.Td(fmt_pct(r.max_drawdown, digits=1), className="text-end"),
            html.Td(f"{r.bars:,}", className="text-end"),
        ])
        for r in stats.itertuples()
    ]
    header = ["Symbol", "Name", "Period", "Adj. close", "Return", "Volatility (ann.)",
              "Max drawdown", "Bars"]
    return _table(header, body, numeric_from=2, id="markets-stats-table")
