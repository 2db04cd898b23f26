"""The Overview page and the app shell as plain functions, on the fixture snapshot."""

from __future__ import annotations

import importlib
import json

import dash_bootstrap_components as dbc
import pandas as pd
import pytest
from dash import dcc, html


@pytest.fixture
def overview(app):
    return importlib.import_module("dashboards.pages.overview")


def latest_returns(market) -> pd.DataFrame:
    """Each symbol's last return from raw closes (no action falls on the fixture's last bars)."""
    prices = market.prices.sort_values(["symbol", "date"])
    last = prices.groupby("symbol").tail(2).groupby("symbol")["close"]
    ret = (last.last() / last.first() - 1).rename("ret").reset_index()
    return ret.merge(market.instruments[["symbol", "asset_class"]], on="symbol")


def mover_rows(tree, page, table_id: str) -> list[tuple[str, str]]:
    rows = [r for r in tree.walk(tree.find(page, table_id))
            if isinstance(r, html.Tr) and getattr(r, "className", None) == "fs-mover-row"]
    links = [next(x for x in tree.walk(r) if isinstance(x, dcc.Link)) for r in rows]
    return [(link.children, link.href) for link in links]


def stat(tree, page, card_id: str) -> tuple[str, str, str]:
    """The title, value and detail lines of the headline card ``card_id``."""
    card = tree.find(page, card_id)
    parts = {x.className: x.children for x in tree.walk(card) if isinstance(x, html.Div)}
    return parts["fs-stat-title"], parts["fs-stat-value"], parts["fs-stat-detail"]


def table_rows(tree, node) -> list[list[str]]:
    return [[tree.text(cell) for cell in row.children] for row in tree.walk(node)
            if isinstance(row, html.Tr)]


def expected_movers(market) -> dict[str, list[str]]:
    """Table id -> the symbols it should list, best first (empty when that side has none)."""
    expected = latest_returns(market)
    out = {}
    for cls in ("equity", "crypto", "etf"):
        rets = expected[expected["asset_class"] == cls]
        out[f"movers-{cls}-gainers"] = list(
            rets[rets["ret"] > 0].sort_values("ret", ascending=False)["symbol"].head(5))
        out[f"movers-{cls}-losers"] = list(rets[rets["ret"] < 0].sort_values("ret")["symbol"]
                                           .head(5))
    return out


def test_movers_rank_the_latest_day_per_class_and_link_to_markets(overview, market, tree):
    page = overview.layout()
    movers = expected_movers(market)
    assert sum(map(len, movers.values())) == len(market.instruments)  # no symbol ends flat
    for table_id, symbols in movers.items():
        if symbols:
            assert mover_rows(tree, page, table_id) == [
                (s, f"/markets?symbols={s}") for s in symbols]
        else:
            word = "gains" if table_id.endswith("gainers") else "losses"
            assert tree.text(tree.find(page, table_id)) == f"No {word} on the latest day."


def test_headline_counts_and_freshness(overview, market, tree):
    from dashboards import data
    from dashboards.components.common import fmt_time

    page = overview.layout()
    assert len(market.instruments) == 8
    assert stat(tree, page, "overview-instruments") == (
        "Instruments", "8", "5 equity · 1 etf · 2 crypto")  # classes in display order
    dates = market.prices["date"]
    assert stat(tree, page, "overview-bars") == (
        "Daily bars", f"{len(market.prices):,}",
        f"{market.prices['symbol'].nunique()} symbols · {dates.min():%Y-%m-%d} → "
        f"{dates.max():%Y-%m-%d}")
    assert stat(tree, page, "overview-latest") == (
        "Latest bar", "2024-12-31", "every source is up to date")
    info = data.snapshot()
    assert stat(tree, page, "overview-snapshot") == (
        "Snapshot", fmt_time(info.created_at), f"version {info.version} · run {info.run_id}")
    assert table_rows(tree, tree.find(page, "overview-freshness")) == [
        ["Source", "Asset class", "Latest bar", "Fetched", "Symbols", "Bars"],
        ["coingecko", "crypto", "2024-12-31", "2025-01-01 06:30 UTC", "2", "1,460"],
        ["sample", "equity", "2024-12-31", "2025-01-01 06:00 UTC", "5", "2,608"],
        ["sample", "etf", "2024-12-31", "2025-01-01 06:00 UTC", "1", "522"],
    ]


def test_navbar_comes_from_the_page_registry_and_footer_names_the_snapshot(app, tree):
    from dashboards import data
    from dashboards.components.common import fmt_time

    shell = app.layout()
    links = [(x.children, x.href) for x in tree.walk(shell) if isinstance(x, dbc.NavLink)]
    assert links == [("Overview", "/"), ("Markets", "/markets")]
    info = data.snapshot()
    assert tree.text(tree.find(shell, "footer-snapshot")) == (
        f"Serving snapshot {info.version} · published {fmt_time(info.created_at)} "
        f"· run {info.run_id}")
    assert tree.text(tree.find(shell, "snapshot-badge")) == (
        f"snapshot {info.version} as of {fmt_time(info.created_at)}")


def test_a_new_snapshot_replaces_every_cached_answer_and_text_stays_text(
        make_app, publish_market, universe, tmp_path, tree):
    snapshots = tmp_path / "snapshots"
    first = publish_market(snapshots, universe)
    make_app(snapshots)
    overview = importlib.import_module("dashboards.pages.overview")
    assert first.version in tree.text(overview.layout())
    hostile = ("EVIL", "<script>alert('x')</script> & <b>Co</b>", "equity", "XNYS", None,
               100.0, 0.1, 0.3, "sample")
    second = publish_market(snapshots, [hostile, universe[5]])
    page = overview.layout()
    text = tree.text(page)
    assert second.version in text and first.version not in text
    assert stat(tree, page, "overview-instruments")[1:] == ("2", "1 equity · 1 etf")
    assert hostile[1] in [x for x in tree.walk(page) if isinstance(x, str)]
    assert not any(isinstance(x, dcc.Markdown) or getattr(x, "dangerously_allow_html", False)
                   for x in tree.walk(page))


def test_without_a_snapshot_the_overview_says_how_to_get_one(make_app, tmp_path, tree):
    app = make_app(tmp_path / "none")
    overview = importlib.import_module("dashboards.pages.overview")
    assert "finscope build" in tree.text(overview.layout())
    assert "no snapshot yet" in tree.text(app.layout())


def test_the_server_renders_the_overview_with_real_content(app, market):
    client = app.server.test_client()
    assert client.get("/").status_code == 200
    deps = client.get("/_dash-dependencies").get_json()
    router = next(d for d in deps if "_pages_content" in d["output"])
    body = {"output": router["output"],
            "outputs": [{"id": "_pages_content", "property": "children"},
                        {"id": "_pages_store", "property": "data"}],
            "inputs": [{"id": "_pages_location", "property": "pathname", "value": "/"},
                       {"id": "_pages_location", "property": "search", "value": ""}],
            "changedPropIds": ["_pages_location.pathname"]}
    response = client.post("/_dash-update-component", json=body)
    assert response.status_code == 200
    page = response.get_json()["response"]["_pages_content"]["children"]
    served = json.dumps(page)
    for symbols in expected_movers(market).values():
        for s in symbols:
            assert f'"/markets?symbols={s}"' in served
