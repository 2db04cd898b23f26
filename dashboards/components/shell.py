"""The app shell: a navbar built from ``dash.page_registry`` and the snapshot footer."""

from __future__ import annotations

import dash
import dash_bootstrap_components as dbc
from dash import html

from dashboards import data
from dashboards.components.common import fmt_time


def navbar() -> dbc.Navbar:
    """Brand plus one link per registered page, in registry order, highlighting the active one."""
    links = [
        dbc.NavItem(dbc.NavLink(page["name"], href=page["relative_path"], active="exact",
                                id=f"nav-{page['name'].lower()}"))
        for page in dash.page_registry.values()
    ]
    return dbc.Navbar(
        dbc.Container([
            dbc.NavbarBrand([html.Span("◆", className="fs-logo"), " FinScope"], href="/"),
            dbc.Nav(links, navbar=True, className="me-auto"),
            snapshot_badge(),
        ], fluid="xl"),
        color="dark", dark=True, className="mb-4 fs-navbar",
    )


def snapshot_badge() -> html.Span:
    """The served snapshot's version and time, or a note that none is published yet."""
    try:
        info = data.snapshot()
    except data.NoSnapshotError:
        return html.Span(dbc.Badge("no snapshot yet", color="warning"), id="snapshot-badge")
    return html.Span([
        dbc.Badge(f"snapshot {info.version}", color="secondary", className="me-2",
                  title=info.version),
        html.Small(f"as of {fmt_time(info.created_at)}", className="text-light opacity-75"),
    ], id="snapshot-badge", className="d-none d-md-inline")


def footer() -> html.Footer:
    """Provenance of everything on the page: the snapshot version, time and run."""
    try:
        info = data.snapshot()
        text = (f"Serving snapshot {info.version} · published {fmt_time(info.created_at)} "
                f"· run {info.run_id}")
    except data.NoSnapshotError as exc:
        text = str(exc)
    return html.Footer(
        dbc.Container([html.Span(text, id="footer-snapshot"), html.Span(
            " · FinScope — prices from the configured sources; not investment advice.")],
            fluid="xl"),
        className="fs-footer mt-5 py-3 text-muted small",
    )
