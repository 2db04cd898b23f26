"""The one interface every price source implements, and the frames it returns.

A source is a Dagster ``ConfigurableResource`` so that a test or a demo swaps the live
provider for the offline ``sample`` simulator without touching any asset.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

import dagster as dg
import pandas as pd

from models.instruments import ACTION_COLUMNS, BAR_COLUMNS, Instrument

__all__ = [
    "ACTION_COLUMNS", "BAR_COLUMNS", "Instrument", "PriceBatch", "PriceSource", "SourceError",
    "SymbolFailure", "empty_actions", "empty_prices",
]


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
    """An empty frame with the ``BAR_COLUMNS`` layout and dtypes."""
    frame = pd.DataFrame({c: pd.Series(dtype="float64") for c in BAR_COLUMNS})
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
