"""The Markets page as plain functions: URL state, figures, CSV and friendly failures."""

from __future__ import annotations

import importlib
import io
from datetime import date
from urllib.parse import parse_qsl

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest
from dash import html, no_update

from dashboards.components.markets_state import (
    MAX_REQUESTED,
    MAX_SYMBOLS,
    MarketsState,
    parse_state,
    split_symbols,
)
from dashboards.figures import as_array

KNOWN = ["AAPL", "MSFT", "NVDA", "JPM", "XOM", "SPY", "BTC-USD", "ETH-USD"]
BOUNDS = {"known": KNOWN, "default_symbols": ("SPY",), "first": date(2023, 1, 2),
          "last": date(2024, 12, 31)}
DEFAULT_RANGE = (date(2024, 1, 1), date(2024, 12, 31))


@pytest.fixture
def markets(app):
    return importlib.import_module("dashboards.pages.markets")


def closes(market, symbol: str, start: str, end: str) -> pd.Series:
    rows = market.prices[(market.prices["symbol"] == symbol)
                         & market.prices["date"].between(start, end)]
    return rows.set_index("date")["close"]


def test_good_url_parses_and_round_trips():
    raw = {"symbols": "aapl,MSFT", "start": "2024-01-01", "end": "2024-06-30", "chart": "line",
           "log": "1", "window": "63"}
    state, problems = parse_state(raw, **BOUNDS)
    assert problems == []
    assert state == MarketsState(("AAPL", "MSFT"), date(2024, 1, 1), date(2024, 6, 30), "line",
                                 True, 63)
    query = state.query()
    assert query == "?symbols=AAPL,MSFT&start=2024-01-01&end=2024-06-30&chart=line&log=1&window=63"
    assert parse_state(dict(parse_qsl(query[1:])), **BOUNDS) == (state, [])


def test_no_parameters_mean_the_benchmark_over_the_last_year():
    state, problems = parse_state({}, **BOUNDS)
    assert (state.symbols, (state.start, state.end), state.chart, state.log, state.window) == (
        ("SPY",), DEFAULT_RANGE, "candlestick", False, 21)
    assert problems == []


@pytest.mark.parametrize(("raw", "field", "expected", "named"), [
    ({"symbols": "NOPE"}, "symbols", ("SPY",), "NOPE"),
    ({"symbols": "AAPL,NOPE"}, "symbols", ("AAPL",), "NOPE"),
    ({"start": "banana", "end": "2024-13-45"}, "range", DEFAULT_RANGE, "2024-13-45"),
    ({"start": "banana"}, "range", DEFAULT_RANGE, "banana"),
    ({"start": "2024-06-30", "end": "2024-01-01"}, "range", DEFAULT_RANGE, "after"),
    ({"start": "1990-01-01", "end": "1990-12-31"}, "range", DEFAULT_RANGE, "No data"),
    ({"chart": "pie"}, "chart", "candlestick", "pie"),
    ({"log": "maybe"}, "log", False, "maybe"),
    ({"window": "7"}, "window", 21, "7"),
    ({"window": "x'; DROP"}, "window", 21, "DROP"),
])
def test_bad_values_fall_back_and_are_named(raw, field, expected, named):
    state, problems = parse_state(raw, **BOUNDS)
    got = (state.start, state.end) if field == "range" else getattr(state, field)
    assert got == expected
    assert len(problems) >= 1
    assert any(named in p for p in problems)


def test_partial_ranges_are_clipped_silently_and_lists_are_accepted():
    state, problems = parse_state({"symbols": ["aapl", "BTC-usd"], "start": "2020-01-01",
                                   "end": "2024-02-01T00:00:00"}, **BOUNDS)
    assert problems == []
    assert state.symbols == ("AAPL", "BTC-USD")
    assert (state.start, state.end) == (date(2023, 1, 2), date(2024, 2, 1))


def test_too_many_or_too_long_symbols_are_capped():
    many = [f"S{i}" for i in range(MAX_SYMBOLS + 2)]
    state, problems = parse_state({"symbols": ",".join(many)}, **{**BOUNDS, "known": many})
    assert len(state.symbols) == MAX_SYMBOLS
    assert f"first {MAX_SYMBOLS} of {MAX_SYMBOLS + 2}" in problems[0]
    _, problems = parse_state({"symbols": "X" * 500}, **BOUNDS)
    assert max(len(p) for p in problems) < 80


def test_forty_thousand_symbols_are_read_up_to_the_cap_in_order():
    many = [f"S{i}" for i in range(40_000)]
    symbols, cut = split_symbols(",".join(many))
    assert cut is True
    assert symbols == many[:MAX_REQUESTED]
    repeated, cut = split_symbols(["aapl, MSFT"] * 20_000 + ["aapl,nvda"])
    assert (repeated, cut) == (["AAPL", "MSFT", "NVDA"], False)
    exactly, cut = split_symbols(",".join(many[:MAX_REQUESTED] * 2))
    assert (exactly, cut) == (many[:MAX_REQUESTED], False)

    state, problems = parse_state({"symbols": ",".join(many)}, **{**BOUNDS, "known": many})
    assert state.symbols == tuple(many[:MAX_SYMBOLS])
    assert problems == [f"Only the first {MAX_REQUESTED} distinct symbols given were read.",
                        f"Showing the first {MAX_SYMBOLS} of {MAX_REQUESTED} symbols."]


def test_single_symbol_candlestick_shows_adjusted_bars_with_volume(markets, market):
    out = markets.update_charts(["JPM"], "2024-03-01", "2024-03-31", "candlestick", False, "21")
    price, volume = out.price["data"]
    expected = closes(market, "JPM", "2024-03-01", "2024-03-31")  # no actions: adj == close
    assert price["type"] == "candlestick"
    assert price["x"] == [f"{d:%Y-%m-%d}" for d in expected.index]
    np.testing.assert_allclose(as_array(price["close"]), expected.to_numpy())
    assert volume["type"] == "bar" and volume["yaxis"] == "y2"
    assert out.price["layout"]["yaxis"]["type"] == "linear"
    assert out.alert is None
    assert out.search == (
        "?symbols=JPM&start=2024-03-01&end=2024-03-31&chart=candlestick&log=0&window=21")
    caption = str(out.price_caption)
    assert "JPM" in caption and "Source: sample" in caption and "fixture-run-1" in caption


def test_candles_are_split_adjusted(markets, market):
    out = markets.update_charts(["AAPL"], "2024-06-06", "2024-06-11", "candlestick", False, 21)
    raw = closes(market, "AAPL", "2024-06-06", "2024-06-11").to_numpy()
    # AAPL splits 4:1 on Monday 2024-06-10: Thursday's and Friday's bars are divided by 4.
    np.testing.assert_allclose(as_array(out.price["data"][0]["close"]),
                               np.r_[raw[:2] / 4, raw[2:]])


def test_log_toggle_sets_the_price_axis_type(markets):
    for log, kind in ((True, "log"), (False, "linear")):
        out = markets.update_charts(["SPY"], None, None, "line", log, 21)
        assert out.price["layout"]["yaxis"]["type"] == kind
        assert out.price["data"][0]["type"] == "scattergl"
        assert f"log={int(log)}" in out.search


def test_several_symbols_are_rebased_to_100_at_the_first_common_date(markets, market):
    # 2024-06-08 is a Saturday: the coin trades, NVDA first trades again on Monday the 10th.
    out = markets.update_charts(["NVDA", "BTC-USD"], "2024-06-08", "2024-06-30", "candlestick",
                                True, 63)
    lines = {t["name"]: t for t in out.price["data"]}
    assert set(lines) == {"NVDA", "BTC-USD"} and lines["NVDA"]["type"] == "scattergl"
    x = lines["BTC-USD"]["x"]
    assert x[0] == "2024-06-10"
    btc = as_array(lines["BTC-USD"]["y"])
    nvda = as_array(lines["NVDA"]["y"])
    assert btc[0] == pytest.approx(100.0) and nvda[0] == pytest.approx(100.0)
    raw = closes(market, "BTC-USD", "2024-06-10", "2024-06-30")
    np.testing.assert_allclose(btc, raw.to_numpy() / raw.iloc[0] * 100.0)
    assert np.isnan(nvda[x.index("2024-06-15")])  # a Saturday
    assert out.price["layout"]["yaxis"]["type"] == "log"
    assert "2024-06-10 = 100" in out.price["layout"]["yaxis"]["title"]["text"]


def test_csv_holds_exactly_the_rows_shown(markets, market):
    out = markets.update_charts(["NVDA", "BTC-USD"], "2024-06-08", "2024-06-30", "line", False, 21)
    payload = markets.download_csv(1, ["NVDA", "BTC-USD"], "2024-06-08", "2024-06-30")
    csv = pd.read_csv(io.StringIO(payload["content"]))
    assert payload["filename"] == "finscope_NVDA-BTC-USD_2024-06-08_2024-06-30.csv"
    assert list(csv.columns[:10]) == ["symbol", "date", "open", "high", "low", "close",
                                      "adj_close", "volume", "source", "fetched_at"]
    shown = {(t["name"], d) for t in out.price["data"]
             for d, y in zip(t["x"], as_array(t["y"]), strict=True) if not np.isnan(y)}
    assert set(zip(csv["symbol"], csv["date"], strict=True)) == shown
    btc = csv[csv["symbol"] == "BTC-USD"]
    np.testing.assert_allclose(btc["close"], closes(market, "BTC-USD", "2024-06-10",
                                                    "2024-06-30").to_numpy())
    assert btc["rebased"].iloc[0] == pytest.approx(100.0)
    assert markets.download_csv(None, ["NVDA"], None, None) is no_update


def test_unknown_symbol_and_nonsense_dates_give_an_alert_and_the_default_view(markets, tree):
    page = markets.layout(symbols="NOPE", start="banana", end="2024-13-45")
    alert = tree.text(tree.find(page, "markets-alert"))
    for bad in ("NOPE", "banana", "2024-13-45"):
        assert bad in alert
    assert tree.find(page, "markets-symbols").value == ["SPY"]
    assert tree.find(page, "markets-dates").start_date == "2024-01-01"
    assert tree.find(page, "markets-price").figure["data"][0]["name"] == "SPY"
    out = markets.update_charts(["NOPE"], "2024-01-01", "2024-02-01", "line", False, 21)
    assert "NOPE" in tree.text(out.alert)
    assert out.price["data"][0]["name"] == "SPY"


def test_layout_restores_the_view_from_the_url(markets, tree):
    page = markets.layout(symbols="AAPL,MSFT", start="2024-01-01", end="2024-06-30",
                          chart="line", log="1", window="63")
    assert tree.find(page, "markets-symbols").value == ["AAPL", "MSFT"]
    dates = tree.find(page, "markets-dates")
    assert (dates.start_date, dates.end_date) == ("2024-01-01", "2024-06-30")
    assert tree.find(page, "markets-chart").value == "line"
    assert tree.find(page, "markets-log").value is True
    assert tree.find(page, "markets-window").value == "63"
    fig = tree.find(page, "markets-price").figure
    assert [t["name"] for t in fig["data"]] == ["AAPL", "MSFT"]
    assert fig["layout"]["yaxis"]["type"] == "log"
    assert tree.text(tree.find(page, "markets-alert")) == ""


def test_clearing_the_picker_asks_for_a_symbol(markets):
    out = markets.update_charts([], "2024-01-01", "2024-02-01", "line", False, 21)
    assert out.price["data"] == []
    assert "Pick one or more symbols" in out.price["layout"]["annotations"][0]["text"]


def test_returns_histogram_overlays_the_fitted_normal(markets, market):
    out = markets.update_charts(["JPM"], "2024-01-01", "2024-12-31", "line", False, 21)
    hist, normal = out.returns["data"]
    c = closes(market, "JPM", "2023-12-01", "2024-12-31")
    pct = (c.pct_change().loc["2024-01-01":] * 100).to_numpy()
    np.testing.assert_allclose(as_array(hist["x"]), pct)
    sd = pct.std(ddof=1)
    assert as_array(normal["y"]).max() == pytest.approx(1 / (sd * np.sqrt(2 * np.pi)), rel=1e-3)
    assert f"σ {sd:.2f}%" in hist["name"]


@pytest.mark.parametrize(("symbol", "periods", "last_bar"),
                         [("JPM", 252, "2024-06-28"), ("ETH-USD", 365, "2024-06-30")])
def test_volatility_chart_annualises_each_symbol_by_its_calendar(markets, market, symbol,
                                                                 periods, last_bar):
    out = markets.update_charts(["JPM", "ETH-USD"], "2024-03-01", "2024-06-30", "line", False,
                                21)
    line = next(t for t in out.volatility["data"] if t["name"] == symbol)
    y = as_array(line["y"])
    shown = [x for x, v in zip(line["x"], y, strict=True) if not np.isnan(v)]
    assert shown[0] == "2024-03-01" and shown[-1] == last_bar  # windows filled from earlier bars
    c = closes(market, symbol, "2024-01-01", last_bar)  # no actions: adj == close
    last_21 = np.diff(np.log(c.to_numpy()))[-21:]
    expected = last_21.std(ddof=1) * np.sqrt(periods)  # a fraction; the axis shows percent
    assert y[~np.isnan(y)][-1] == pytest.approx(expected)
    assert out.volatility["layout"]["yaxis"]["tickformat"] == ".0%"


def test_every_figure_is_valid_plotly(markets):
    for symbols, chart in ((["AAPL"], "candlestick"), (["AAPL"], "line"),
                           (["AAPL", "ETH-USD"], "line"), ([], "line")):
        out = markets.update_charts(symbols, "2024-01-01", "2024-06-30", chart, True, 21)
        for fig in (out.price, out.returns, out.volatility):
            go.Figure(fig)  # raises on any invalid property


def test_stats_table_reports_the_period_statistics(markets, market, tree):
    out = markets.update_charts(["JPM", "BTC-USD"], "2024-03-01", "2024-03-31", "line", False,
                                21)
    rows = [[tree.text(cell) for cell in row.children] for row in tree.walk(out.stats)
            if isinstance(row, html.Tr)]
    assert rows[0] == ["Symbol", "Name", "Period", "Adj. close", "Return", "Volatility (ann.)",
                       "Max drawdown", "Bars"]
    expected = []
    for symbol, name, periods in (("BTC-USD", "Bitcoin", 365),
                                  ("JPM", "JPMorgan Chase & Co.", 252)):
        c = closes(market, symbol, "2024-03-01", "2024-03-31").to_numpy()  # no actions
        vol = np.diff(np.log(c)).std(ddof=1) * np.sqrt(periods)
        drawdown = (c / np.maximum.accumulate(c) - 1).min()
        expected.append([symbol, name, "2024-03-01 → 2024-03-29" if symbol == "JPM" else
                         "2024-03-01 → 2024-03-31", f"{c[-1]:,.2f}", f"{(c[-1] / c[0] - 1):+.2%}",
                         f"{vol:.1%}", f"{drawdown:+.1%}", f"{len(c)}"])
    assert rows[1:] == expected


def test_without_a_snapshot_the_page_says_how_to_get_one(make_app, tmp_path, tree):
    make_app(tmp_path / "empty")
    markets = importlib.import_module("dashboards.pages.markets")
    out = markets.update_charts(["AAPL"], None, None, "line", False, 21)
    assert "finscope build" in tree.text(out.alert)
    assert "finscope build" in tree.text(markets.layout(symbols="AAPL"))
    assert markets.download_csv(1, ["AAPL"], None, None) is no_update


def charts_request(client) -> dict:
    """The body the browser posts when the Markets controls change (AAPL, line, log, 63)."""
    client.get("/")
    deps = {d["output"]: d for d in client.get("/_dash-dependencies").get_json()}
    charts = next(d for key, d in deps.items() if "markets-price.figure" in key)
    outputs = [dict(zip(("id", "property"), o.split("."), strict=True))
               for o in charts["output"].strip(".").split("...")]
    values = ["AAPL", "2024-01-01", "2024-06-30", "line", True, "63"]
    inputs = [{**i, "value": v} for i, v in zip(charts["inputs"], values, strict=True)]
    return {"output": charts["output"], "outputs": outputs, "inputs": inputs,
            "changedPropIds": ["markets-chart.value"]}


def test_the_server_wires_the_callback_to_the_page(app):
    client = app.server.test_client()
    response = client.post("/_dash-update-component", json=charts_request(client))
    assert response.status_code == 200
    got = response.get_json()["response"]
    assert got["markets-url"]["search"] == (
        "?symbols=AAPL&start=2024-01-01&end=2024-06-30&chart=line&log=1&window=63")
    assert got["markets-price"]["figure"]["layout"]["yaxis"]["type"] == "log"
    assert "bdata" in got["markets-price"]["figure"]["data"][0]["y"]


def test_an_oversize_request_body_is_refused_and_normal_callbacks_still_work(app):
    from dashboards.app import MAX_REQUEST_BYTES

    client = app.server.test_client()
    body = charts_request(client)
    huge = {**body, "inputs": [{**body["inputs"][0], "value": "A," * (1024 * 1024)},
                               *body["inputs"][1:]]}  # a 2 MiB symbol list
    response = client.post("/_dash-update-component", json=huge)
    assert response.status_code == 413
    just_over = client.post("/_dash-update-component", data=b"x" * (MAX_REQUEST_BYTES + 1),
                            content_type="application/json")
    assert just_over.status_code == 413
    ok = client.post("/_dash-update-component", json=body)
    assert ok.status_code == 200
    assert ok.get_json()["response"]["markets-url"]["search"].startswith("?symbols=AAPL&")


def test_a_symbol_without_bars_in_the_range_is_named(markets, tree):
    # XOM's last bar is 2024-12-27; the coin trades through the weekend.
    out = markets.update_charts(["XOM", "BTC-USD"], "2024-12-28", "2024-12-29", "line", False, 21)
    assert "No bars for XOM" in tree.text(out.alert)
    assert [t["name"] for t in out.price["data"] if t["type"] != "bar"] == ["BTC-USD"]
