"""One headless-Chromium test per page: real content renders, navigation and URL state work, and
the browser console stays clean. Skipped without chromium + chromedriver (see conftest)."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from selenium.webdriver.common.by import By

pytestmark = [
    pytest.mark.browser,
    # selenium 4.2 calls urllib3 2's deprecated HTTPResponse.getheader on every command
    pytest.mark.filterwarnings("ignore:HTTPResponse.getheader:DeprecationWarning"),
]

PLOT = "#markets-price .js-plotly-plot .main-svg"


def wait_until(condition, timeout: float = 10.0, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def query(url: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlparse(url).query).items()}


def test_overview(dash_duo, app, universe):
    from dashboards import data

    dash_duo.start_server(app)
    link = dash_duo.wait_for_element("#movers-equity-gainers tr.fs-mover-row a", timeout=15)
    symbol = link.text
    assert symbol in {u[0] for u in universe}
    dash_duo.wait_for_contains_text("#overview-freshness", "coingecko")
    dash_duo.wait_for_contains_text("#footer-snapshot", data.snapshot().version)
    assert dash_duo.driver.title == "FinScope · Overview"

    dash_duo.find_element("#nav-markets").click()  # the navbar, client-side
    dash_duo.wait_for_element(f"{PLOT} g.trace", timeout=15)
    assert urlparse(dash_duo.driver.current_url).path == "/markets"
    wait_until(lambda: dash_duo.driver.title == "FinScope · Markets", what="the Markets title")

    dash_duo.find_element("#nav-overview").click()
    dash_duo.wait_for_element("#movers-equity-gainers tr.fs-mover-row a").click()
    wait_until(lambda: query(dash_duo.driver.current_url).get("symbols") == symbol,
               what="the mover's Markets URL")
    dash_duo.wait_for_contains_text("#markets-price-caption", f"of {symbol} (", timeout=15)
    assert dash_duo.get_logs() == []


def test_markets(dash_duo, app):
    dash_duo.start_server(app)
    shared = "/markets?symbols=AAPL,MSFT&start=2024-01-01&end=2024-06-30&chart=line&log=1"
    dash_duo.wait_for_page(url=dash_duo.server_url + shared)
    dash_duo.wait_for_element(f"{PLOT} .legend .traces", timeout=15)
    legend = dash_duo.find_elements(f"{PLOT} .legend .traces")
    assert [e.text for e in legend] == ["AAPL", "MSFT"]
    dash_duo.wait_for_contains_text("#markets-price-caption", "rebased to 100")
    assert "log scale" in dash_duo.find_element("#markets-price-caption").text
    assert dash_duo.find_element("#markets-log").is_selected()

    dash_duo.find_element("#markets-log").click()  # the control updates the URL in place
    wait_until(lambda: query(dash_duo.driver.current_url).get("log") == "0", what="log=0 in URL")
    state = query(dash_duo.driver.current_url)
    assert state == {"symbols": "AAPL,MSFT", "start": "2024-01-01", "end": "2024-06-30",
                     "chart": "line", "log": "0", "window": "21"}
    dash_duo.wait_for_element(f"{PLOT} .legend .traces")
    assert "log scale" not in dash_duo.find_element("#markets-price-caption").text

    dash_duo.driver.get(dash_duo.driver.current_url)  # the shared link restores the view
    dash_duo.wait_for_contains_text("#markets-price-caption", "rebased to 100", timeout=15)
    assert not dash_duo.find_element("#markets-log").is_selected()
    assert "log scale" not in dash_duo.find_element("#markets-price-caption").text

    dash_duo.wait_for_page(url=dash_duo.server_url + "/markets?symbols=AAPL")
    dash_duo.wait_for_element(f"{PLOT} g.trace.boxes", timeout=15)  # the candlesticks
    dash_duo.wait_for_element("#markets-returns .js-plotly-plot .main-svg g.trace")
    dash_duo.find_element("#markets-download-btn").click()
    download = Path(dash_duo.download_path)
    csv = wait_until(lambda: list(download.glob("finscope_AAPL_*.csv")), what="the CSV")
    assert csv[0].read_text().startswith("symbol,date,open,high,low,close,adj_close,volume")

    dash_duo.wait_for_page(url=dash_duo.server_url + "/markets?symbols=NOPE&start=banana")
    dash_duo.wait_for_contains_text("#markets-alert", "NOPE", timeout=15)
    dash_duo.wait_for_contains_text("#markets-alert", "banana")
    assert dash_duo.find_elements("#markets-price-caption")[0].text.count("SPY") >= 1
    assert dash_duo.driver.find_elements(By.CSS_SELECTOR, f"{PLOT} g.trace")
    assert dash_duo.get_logs() == []
