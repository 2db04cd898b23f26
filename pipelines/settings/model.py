"""The whole settings file: ``Settings``, one typed section per domain.

It also refuses the sections of the first layout (now under ``[prices]``) and turns the
``[universe]`` into ``Instrument`` objects.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, ClassVar

from pydantic import PrivateAttr, model_validator

from models.instruments import ALWAYS_OPEN, Instrument
from pipelines.settings.base import _Strict
from pipelines.settings.domains import (
    ForecastSettings,
    NewsSettings,
    OnchainSettings,
    PortfolioSettings,
)
from pipelines.settings.prices import History, PriceSettings, PriceSources, Universe


class Settings(_Strict):
    prices: PriceSettings
    universe: Universe
    news: NewsSettings = NewsSettings()
    onchain: OnchainSettings = OnchainSettings()
    portfolios: PortfolioSettings = PortfolioSettings()
    forecasts: ForecastSettings = ForecastSettings()
    _path: Path | None = PrivateAttr(default=None)
    MOVED: ClassVar[tuple[str, ...]] = (
        "history", "sources", "sample", "yahoo", "coingecko", "files",
    )
    """Sections of the first settings layout, now under ``[prices]``."""

    @model_validator(mode="before")
    @classmethod
    def _moved_sections(cls, data: Any) -> Any:
        moved = [k for k in cls.MOVED if isinstance(data, dict) and k in data]
        if moved:
            shown = ", ".join(f"[{k}] is now [prices.{k}]" for k in moved)
            raise ValueError(f"these sections moved under [prices]: {shown}")
        return data

    @property
    def path(self) -> Path | None:
        """The file these settings were loaded from, if any."""
        return self._path

    @property
    def history(self) -> History:
        """``prices.history``: ``settings.history.start`` is the first day of price history."""
        return self.prices.history

    @property
    def sources(self) -> PriceSources:
        """``prices.sources``: ``settings.sources.equity`` / ``.crypto`` name the sources."""
        return self.prices.sources

    def instruments(self) -> list[Instrument]:
        """Every instrument of the universe, equities first, in file order."""
        bench = self.universe.benchmark
        out = [
            Instrument(
                symbol=e.symbol, name=e.name, asset_class=e.kind, currency=e.currency,
                calendar=e.calendar, sector=e.sector, yahoo_id=e.yahoo_id or e.symbol,
                is_benchmark=e.symbol == bench,
            )
            for e in self.universe.equities
        ]
        out += [
            Instrument(
                symbol=c.symbol, name=c.name, asset_class="crypto", currency=c.currency,
                calendar=ALWAYS_OPEN, sector="Crypto", yahoo_id=c.yahoo_id or c.symbol,
                coingecko_id=c.coingecko_id, is_benchmark=c.symbol == bench,
            )
            for c in self.universe.crypto
        ]
        return out

    def source_for(self, instrument: Instrument) -> str:
        """The configured source name for the instrument's asset class."""
        return self.prices.sources.of(instrument.asset_class)
