"""A small universe, a temporary data directory and an ephemeral Dagster instance."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from models import clock
from pipelines.settings import Settings, load_settings
from warehouse.paths import DataHome

SMALL = """
[prices.history]
start = "{start}"

[universe]
benchmark = "SPY"
equities = [
  {{ symbol = "SPY",  name = "S&P 500 ETF", sector = "Broad Market", kind = "etf" }},
  {{ symbol = "AAPL", name = "Apple",       sector = "Technology" }},
  {{ symbol = "MSFT", name = "Microsoft",   sector = "Technology" }},
]
crypto = [
  {{ symbol = "BTC-USD", name = "Bitcoin", coingecko_id = "bitcoin" }},
]
"""


def write_settings(folder: Path, start: date, extra: str = "") -> Path:
    path = folder / "finscope.toml"
    path.write_text(SMALL.format(start=start.isoformat()) + extra)
    return path


@pytest.fixture
def start() -> date:
    return clock.today() - timedelta(days=45)


@pytest.fixture
def settings(tmp_path: Path, start: date) -> Settings:
    return load_settings(write_settings(tmp_path, start))


@pytest.fixture
def home(tmp_path: Path) -> DataHome:
    return DataHome(tmp_path / "home").ensure()


@pytest.fixture
def instance() -> dg.DagsterInstance:
    with dg.instance_for_test() as instance:
        yield instance
