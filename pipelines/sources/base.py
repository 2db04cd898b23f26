"""The one interface every price source implements, and the frames it returns.

A source is a Dagster ``ConfigurableResource`` so that a test or a demo swaps the live
provider for the offline ``sample`` simulator without touching any asset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Literal

import dagster as dg
import pandas as pd

from models import calendars

AssetClass = Literal["equity", "etf", "index", "crypto", "fx"]
ActionKind = Literal["split", "dividend"]

ALWAYS_OPEN = calendars.ALWAYS_OPEN
"""Calendar name of instruments that trade every calendar day (crypto)."""

PRICE_COLUMNS: tuple[str, ...] = (
    "symbol", "date", "open", "high", "low", "close", "volume", "market_cap",
)
"""Columns of ``PriceBatch.prices``: as-traded (unadjusted) daily bars.

``date`` is a ``datetime64`` day (midnight, no time zone): the trading session for exchange
instruments, the UTC calendar day for 24/7 instruments. ``open``/``high``/``low`` and
``market_cap`` may be NaN where a provider has no such field (CoinGecko has no OHLC, Yahoo no
market cap); ``close`` and ``volume`` never are.
"""

ACTION_COLUMNS: tuple[str, ...] = ("symbol", "date", "action", "value")
"""Columns of ``PriceBatch.actions``: corporate actions on their ex-date.

``action`` is ``"split"`` (``value`` = new shares per old share, 4.0 for a 4-for-1 split) or
``"dividend"`` (``value`` = cash per share as traded on that day).
"""


@dataclass(frozen=True)
class Instrument:
    """One tradable symbol of the universe, as the settings file declares it."""

    symbol: str
    name: str
    asset_class: AssetClass
    currency: str = "USD"
    calendar: str = "XNYS"
    sector: str | None = None
    yahoo_id: str | None = None
    coingecko_id: str | None = None
    is_benchmark: bool = False


@dataclass(frozen=True)
class SymbolFailure:
    """One symbol a source could not deliver for a window; the other symbols still land."""

    source: str
    symbol: str
    start: date
    end: date
    reason: str

    def __str__(self) -> str:
        return f"{self.source}: {self.symbol} {self.start}..{self.end}: {self.reason}"


def empty_prices() -> pd.DataFrame:
    """An empty frame with the ``PRICE_COLUMNS`` layout and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in PRICE_COLUMNS})
    frame["symbol"] = frame["symbol"].astype("object")
    frame["date"] = frame["date"].astype("datetime64[ns]")
    return frame


def empty_actions() -> pd.DataFrame:
    """An empty frame with the ``ACTION_COLUMNS`` layout and dtypes."""
    return pd.DataFrame(
        {
            "symbol": pd.Series(dtype="object"),
            "date": pd.Series(dtype="datetime64[ns]"),
            "action": pd.Series(dtype="object"),
            "value": pd.Series(dtype="float64"),
        }
    )


@dataclass
class PriceBatch:
    """What one fetch returns: bars, corporate actions and the symbols that failed."""

    prices: pd.DataFrame = field(default_factory=empty_prices)
    actions: pd.DataFrame = field(default_factory=empty_actions)
    failures: list[SymbolFailure] = field(default_factory=list)


class SourceError(RuntimeError):
    """A provider answered badly for one symbol and window (empty, garbled, unknown, timeout)."""

    def __init__(self, source: str, symbol: str, start: date, end: date, reason: str) -> None:
        self.failure = SymbolFailure(source, symbol, start, end, reason)
        super().__init__(str(self.failure))


class PriceSource(dg.ConfigurableResource, ABC):
    """Daily bars and corporate actions for a set of instruments over a date window."""

    @property
    @abstractmethod
    def source_name(self) -> str:
        """Short provenance name stored with every row (``sample``, ``yahoo`` ...)."""

    @abstractmethod
    def fetch(self, instruments: Sequence[Instrument], start: date, end: date) -> PriceBatch:
        """Bars and actions for ``instruments`` on ``start..end`` (both inclusive).

        A symbol that fails is reported in ``PriceBatch.failures`` (source, symbol, dates,
        reason) and the other symbols are still returned; only a fault that concerns the whole
        request (bad credentials, say) raises.
        """
