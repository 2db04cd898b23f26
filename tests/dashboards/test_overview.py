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


def test_movers_rank_the_latest_day_per_class_and_link_to_markets(overview, market, tree):
    page = overview.layout()
    expected = latest_returns(market)
    for cls in ("equity", "crypto", "etf"):
        rets = expected[expected["asset_class"] == cls]
        gainers = rets[rets["ret"] > 0].sort_values("ret", ascending=False)["symbol"].head(5)
        losers = rets[rets["ret"] < 0].sort_values("ret")["symbol"].head(5)
        for side, symbols in (("gainers", gainers), ("losers", losers)):
            if symbols.empty:
                continue
            assert mover_rows(tree, page, f"movers-{cls}-{side}") == [
                (s, f"/markets?symbols={s}") for s in symbols]


def test_headline_counts_and_freshness(overview, market, tree):
    page = overview.layout()
    assert "8" in tree.text(tree.find(page, "overview-instruments"))
    assert f"{len(market.prices):,}" in tree.text(tree.find(page, "overview-bars"))
    fresh = tree.text(tree.find(page, "overview-freshness"))
    assert "coingecko crypto 2024-12-31 2025-01-01 06:30 UTC 2 1,460" in fresh
    assert "sample equity 2024-12-31 2025-01-01 06:00 UTC 5 2,608" in fresh


def test_navbar_comes_from_the_page_registry_and_footer_names_the_snapshot(app, tree):
    shell = app.layout()
    links = [(x.children, x.href) for x in tree.walk(shell) if isinstance(x, dbc.NavLink)]
    assert links == [("Overview", "/"), ("Markets", "/markets")]
    from dashboards import data

    info = data.snapshot()
    assert info.version in tree.text(tree.find(shell, "footer-snapshot"))
    assert "as of" in tree.text(tree.find(shell, "snapshot-badge"))


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
    assert "2 equity" not in text and "1 equity · 1 etf" in text
    assert hostile[1] in [x for x in tree.walk(page) if isinstance(x, str)]
    assert not any(isinstance(x, dcc.Markdown) or getattr(x, "dangerously_allow_html", False)
                   for x in tree.walk(page))


def test_without_a_snapshot_the_overview_says_how_to_get_one(make_app, tmp_path, tree):
    app = make_app(tmp_path / "none")
    overview = importlib.import_module("dashboards.pages.overview")
    assert "finscope build" in tree.text(overview.layout())
    assert "no snapshot yet" in tree.text(app.layout())


def test_the_server_renders_the_overview_with_real_content(app, universe):
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
    assert any(f'"/markets?symbols={u[0]}"' in served for u in universe)
