"""A small, realistic serving snapshot built through the warehouse writers, and the Dash app.

Six US listings (five stocks and SPY, the benchmark) on business days plus two coins on every
day, 2023-2024, from a seeded geometric random walk; AAPL splits 4:1 and MSFT pays a dividend;
XOM stops two sessions early (a stale symbol). Also sets up headless Chromium for dash_duo.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse.migrate import migrate
from warehouse.prices import SERVING as PRICES
from warehouse.prices import refresh_core_actions, refresh_core_prices, refresh_returns, replace_raw
from warehouse.snapshot import publish

START, END = date(2023, 1, 2), date(2024, 12, 31)
RUN_ID = "fixture-run-1"
FETCHED = {"sample": datetime(2025, 1, 1, 6, 0, tzinfo=UTC),
           "coingecko": datetime(2025, 1, 1, 6, 30, tzinfo=UTC)}

# symbol, name, asset_class, calendar, sector, start price, annual drift, annual vol, source
UNIVERSE = [
    ("AAPL", "Apple Inc.", "equity", "XNYS", "Technology", 520.0, 0.15, 0.28, "sample"),
    ("MSFT", "Microsoft Corp.", "equity", "XNYS", "Technology", 240.0, 0.12, 0.25, "sample"),
    ("NVDA", "NVIDIA Corp.", "equity", "XNYS", "Technology", 150.0, 0.35, 0.50, "sample"),
    ("JPM", "JPMorgan Chase & Co.", "equity", "XNYS", "Financials", 135.0, 0.08, 0.22, "sample"),
    ("XOM", "Exxon Mobil Corp.", "equity", "XNYS", "Energy", 110.0, 0.02, 0.24, "sample"),
    ("SPY", "SPDR S&P 500 ETF Trust", "etf", "XNYS", None, 385.0, 0.09, 0.16, "sample"),
    ("BTC-USD", "Bitcoin", "crypto", "24/7", None, 16500.0, 0.40, 0.60, "coingecko"),
    ("ETH-USD", "Ethereum", "crypto", "24/7", None, 1200.0, 0.30, 0.70, "coingecko"),
]
ACTIONS = [("AAPL", date(2024, 6, 10), "split", 4.0), ("MSFT", date(2024, 2, 14), "dividend", 0.75)]
STALE = {"XOM": date(2024, 12, 27)}


@dataclass(frozen=True)
class Market:
    """The synthetic inputs, for computing expectations independently of the warehouse."""

    instruments: pd.DataFrame
    prices: pd.DataFrame
    actions: pd.DataFrame


def synthetic_market(universe: list[tuple], start: date, end: date, seed: int = 7) -> Market:
    """Deterministic raw (as-traded) bars for ``universe``, plus ``ACTIONS`` where they apply."""
    rng = np.random.default_rng(seed)
    frames = []
    for symbol, _, _, calendar, _, price, mu, sigma, _ in universe:
        days = pd.date_range(start, end, freq="D" if calendar == "24/7" else "B")
        if symbol in STALE:
            days = days[days <= pd.Timestamp(STALE[symbol])]
        periods = 365 if calendar == "24/7" else 252
        steps = rng.normal((mu - sigma**2 / 2) / periods, sigma / np.sqrt(periods), len(days))
        close = price * np.exp(np.cumsum(steps))
        open_ = close * np.exp(rng.normal(0, sigma / np.sqrt(periods) / 3, len(days)))
        spread = np.abs(rng.normal(0, sigma / np.sqrt(periods) / 2, (2, len(days))))
        frame = pd.DataFrame({
            "symbol": symbol, "date": days, "open": open_,
            "high": np.maximum(open_, close) * (1 + spread[0]),
            "low": np.minimum(open_, close) * (1 - spread[1]), "close": close,
            "volume": np.round(rng.lognormal(16, 0.4, len(days))), "market_cap": np.nan,
        })
        for s, ex_date, action, value in ACTIONS:
            if s == symbol and action == "split":  # as traded: prices fall by the ratio
                after = frame["date"] >= pd.Timestamp(ex_date)
                cols = ["open", "high", "low", "close"]
                frame.loc[after, cols] = frame.loc[after, cols] / value
        frames.append(frame)
    known = {row[0] for row in universe}
    actions = pd.DataFrame(
        [(s, pd.Timestamp(d), a, v) for s, d, a, v in ACTIONS if s in known],
        columns=["symbol", "date", "action", "value"],
    )
    instruments = pd.DataFrame({
        "symbol": [u[0] for u in universe], "name": [u[1] for u in universe],
        "asset_class": [u[2] for u in universe], "currency": "USD",
        "calendar": [u[3] for u in universe], "sector": [u[4] for u in universe],
        "yahoo_id": [u[0] for u in universe], "coingecko_id": None,
        "is_benchmark": [u[0] == "SPY" for u in universe], "source": [u[8] for u in universe],
        "updated_at": FETCHED["sample"],
    })
    return Market(instruments, pd.concat(frames, ignore_index=True), actions)


def build_warehouse(con: duckdb.DuckDBPyConnection, market: Market, start: date, end: date) -> None:
    """Load ``market`` into ``con`` through the warehouse writers, one source at a time."""
    migrate(con)
    con.register("new_instruments", market.instruments)
    con.execute("INSERT INTO core.instruments SELECT * FROM new_instruments")
    con.unregister("new_instruments")
    for source, fetched_at in FETCHED.items():
        symbols = market.instruments.loc[market.instruments["source"] == source, "symbol"]
        prices = market.prices[market.prices["symbol"].isin(symbols)]
        acts = market.actions[market.actions["symbol"].isin(symbols)]
        replace_raw(con, prices, acts, symbols=list(symbols), start=start, end=end, source=source,
                    fetched_at=fetched_at, run_id=RUN_ID)
    refresh_core_actions(con, start=start, end=end)
    refresh_core_prices(con, start=start, end=end)  # crypto keeps its later fetch time
    refresh_returns(con, start=start, end=end)


@pytest.fixture(scope="session")
def universe() -> list[tuple]:
    return list(UNIVERSE)


@pytest.fixture(scope="session")
def market() -> Market:
    return synthetic_market(UNIVERSE, START, END)


@pytest.fixture(scope="session")
def snapshot_dir(tmp_path_factory: pytest.TempPathFactory, market: Market) -> Path:
    """A published snapshot of the synthetic market; its directory (read-only for tests)."""
    root = tmp_path_factory.mktemp("finscope")
    con = duckdb.connect(str(root / "warehouse.duckdb"))
    build_warehouse(con, market, START, END)
    publish(con, root / "snapshots", PRICES, run_id=RUN_ID, now=FETCHED["coingecko"])
    con.close()
    return root / "snapshots"


@pytest.fixture
def publish_market(tmp_path: Path):
    """Build a warehouse of ``universe`` in tmp_path and publish it into ``snapshots``."""

    def build(snapshots: Path, universe: list[tuple], start: date = START, end: date = END):
        con = duckdb.connect(str(tmp_path / f"wh-{len(list(tmp_path.iterdir()))}.duckdb"))
        build_warehouse(con, synthetic_market(universe, start, end), start, end)
        info = publish(con, snapshots, PRICES, run_id=f"run-{len(universe)}",
                       now=FETCHED["coingecko"])
        con.close()
        return info

    return build


class Tree:
    """Look-ups in a Dash component tree (layouts are plain component objects)."""

    @staticmethod
    def walk(node: object) -> Iterator[object]:
        yield node
        if node is None or isinstance(node, str | int | float):
            return
        kids = node if isinstance(node, list | tuple) else getattr(node, "children", None)
        for kid in kids if isinstance(kids, list | tuple) else [kids]:
            if kid is not None:
                yield from Tree.walk(kid)

    @staticmethod
    def find(node: object, component_id: str):
        for item in Tree.walk(node):
            if getattr(item, "id", None) == component_id:
                return item
        raise LookupError(component_id)

    @staticmethod
    def text(node: object) -> str:
        return " ".join(str(i) for i in Tree.walk(node) if isinstance(i, str | int | float))


@pytest.fixture
def tree() -> type[Tree]:
    return Tree


def reset_dash_pages() -> None:
    """Forget pages and callbacks registered by an earlier app in this process (as Dash's own
    tests do), so each ``create_app`` starts from a clean registry."""
    from dash import _callback, _pages

    _pages.PAGE_REGISTRY.clear()
    _pages.CONFIG.clear()
    _callback.GLOBAL_CALLBACK_LIST.clear()
    _callback.GLOBAL_CALLBACK_MAP.clear()
    _callback.GLOBAL_INLINE_SCRIPTS.clear()


@pytest.fixture
def make_app() -> Iterator:
    """``create_app`` on a clean Dash page registry."""
    from dashboards.app import create_app

    def make(snapshot_dir: Path | None):
        reset_dash_pages()
        return create_app(snapshot_dir)

    yield make
    reset_dash_pages()


@pytest.fixture
def app(make_app, snapshot_dir: Path):
    """The FinScope app on the fixture snapshot (its pages importable as dashboards.pages.*)."""
    return make_app(snapshot_dir)


# -- headless Chromium for dash_duo -----------------------------------------------------------

def chrome_available() -> bool:
    """True when a Chromium browser and its driver are on PATH."""
    browser = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which(
        "google-chrome")
    return bool(browser and shutil.which("chromedriver"))


def browser_required() -> bool:
    """CI sets FINSCOPE_REQUIRE_BROWSER=1: a missing browser is then a failure, not a skip."""
    return os.environ.get("FINSCOPE_REQUIRE_BROWSER") == "1"


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Browser tests skip without Chromium, unless CI demands them (then they fail loudly)."""
    if item.get_closest_marker("browser") is None or chrome_available():
        return
    reason = "needs chromium and chromedriver on PATH (apt-get install chromium chromium-driver)"
    if browser_required():
        pytest.fail(f"FINSCOPE_REQUIRE_BROWSER=1 but the browser is missing: {reason}")
    pytest.skip(reason)


def pytest_configure(config: pytest.Config) -> None:
    """dash_duo runs headless here: no display is needed for a plain ``pytest`` run."""
    if hasattr(config.option, "headless"):
        config.option.headless = True


def pytest_setup_options():
    """Chrome flags for running as root in a container, without background network traffic."""
    from selenium.webdriver.chrome.options import Options

    options = Options()
    for flag in ("--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync", "--window-size=1400,1000"):
        options.add_argument(flag)
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    if binary:
        options.binary_location = binary
    return options
