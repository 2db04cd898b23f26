"""Small building blocks: provenance captions, alerts, headline cards and value formatting.

Everything that came from data is passed to components as plain strings (rendered as text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from typing import Any

import dash_bootstrap_components as dbc
import pandas as pd
from dash import html

from warehouse.snapshot import SnapshotInfo


def fmt_date(value: date | datetime | pd.Timestamp | None) -> str:
    """``YYYY-MM-DD`` or an em dash."""
    if value is None or pd.isna(value):
        return "—"
    return f"{pd.Timestamp(value):%Y-%m-%d}"


def fmt_time(value: object) -> str:
    """``YYYY-MM-DD HH:MM UTC`` (naive values are taken as UTC) or an em dash."""
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return "—"
    stamp = pd.Timestamp(value)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return f"{stamp:%Y-%m-%d %H:%M} UTC"


def fmt_pct(value: float | None, *, digits: int = 2, sign: bool = True) -> str:
    """A fraction as a percentage, e.g. ``0.0123 -> +1.23%``."""
    if value is None or pd.isna(value):
        return "—"
    return f"{value * 100:{'+' if sign else ''}.{digits}f}%"


def snapshot_text(info: SnapshotInfo) -> str:
    """``Snapshot <version> of <time> (run <id>)``."""
    return f"Snapshot {info.version} of {fmt_time(info.created_at)} (run {info.run_id})"


def provenance(sources: Iterable[object], latest: object, info: SnapshotInfo) -> str:
    """Where and when shown rows came from: their sources, latest fetch time and snapshot.

    Args:
        sources: the distinct sources of the rows (e.g. ``frame["source"].unique()``).
        latest: the latest fetch time among them (e.g. ``frame["fetched_at"].max()``).
    """
    names = ", ".join(sorted({str(s) for s in sources})) or "—"
    return f"Source: {names}, fetched {fmt_time(latest)} · {snapshot_text(info)}"


def caption(what: str, where: str, *, id: str | None = None) -> html.P:
    """The one-line caption under a chart: what it shows, then as of when and from where."""
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return html.P([html.Span(what), html.Br(), html.Span(where, className="fs-provenance")],
                  className="fs-caption", **kwargs)


def problems_alert(problems: Sequence[str], *, color: str = "warning") -> dbc.Alert | None:
    """One alert listing what was wrong with the request (None when nothing was)."""
    if not problems:
        return None
    items = [html.Li(p) for p in problems]
    return dbc.Alert([html.Strong("Some of the request could not be used: "), html.Ul(items)],
                     color=color, className="fs-alert", dismissable=True)


def no_data_alert(message: str) -> dbc.Alert:
    """The friendly message shown before the first snapshot is published."""
    return dbc.Alert([html.H5("Nothing to show yet", className="alert-heading"), html.P(message)],
                     color="info", className="fs-alert")


def stat_card(title: str, value: str, detail: str, *, id: str | None = None) -> dbc.Card:
    """A headline number with a title above and a muted detail line below."""
    kwargs: dict[str, Any] = {"id": id} if id else {}
    return dbc.Card(dbc.CardBody([
        html.Div(title, className="fs-stat-title"),
        html.Div(value, className="fs-stat-value"),
        html.Div(detail, className="fs-stat-detail"),
    ]), className="h-100 shadow-sm", **kwargs)


def card(title: str, body: list | object, *, className: str = "") -> dbc.Card:
    """A titled card around ``body``."""
    return dbc.Card([dbc.CardHeader(title, className="fs-card-header"), dbc.CardBody(body)],
                    className=f"shadow-sm mb-4 {className}".strip())
