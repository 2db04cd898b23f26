"""The ``[prices]`` and ``[universe]`` sections: price history, sources, instruments.

``[prices]`` holds the first day of history, the source of each asset class and one section per
source (``sample``, ``yahoo``, ``coingecko``, ``files``); ``[universe]`` lists the equities and
crypto assets FinScope follows, and the benchmark among them.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any, ClassVar, Literal

from pydantic import Field, ValidationInfo, field_validator, model_validator

from models import clock
from models.calendars import is_known
from pipelines.settings.base import _Strict

COINGECKO_KEY_ENV = "COINGECKO_API_KEY"
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9.\-^=]{0,19}$"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")

SourceName = Literal["sample", "yahoo", "coingecko", "files"]
StockSource = Literal["sample", "yahoo", "files"]
CryptoSource = Literal["sample", "coingecko", "files"]


# --- prices -------------------------------------------------------------------------------------


class History(_Strict):
    start: date = Field(description="First day of price history, an ISO date YYYY-MM-DD.")

    @field_validator("start", mode="before")
    @classmethod
    def _iso_date(cls, value: Any) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value  # a TOML date: start = 2016-01-04
        if isinstance(value, str) and ISO_DATE.match(value):
            try:
                return date.fromisoformat(value)
            except ValueError as exc:
                raise ValueError(f"not a calendar date ({exc})") from None
        raise ValueError('expected an ISO date YYYY-MM-DD, e.g. "2016-01-04"')

    @field_validator("start")
    @classmethod
    def _in_range(cls, value: date) -> date:
        if value >= clock.today():
            raise ValueError(f"history start must be in the past (today is {clock.today()} UTC)")
        if value < date(1990, 1, 1):
            raise ValueError("history start must be on or after 1990-01-01")
        return value


class PriceSources(_Strict):
    """Asset class -> the name of the source of its daily prices."""

    equity: StockSource = Field("sample", description="Source of equities.")
    etf: StockSource | None = Field(
        None, description="Source of ETFs; the equity source when unset (they share a resource)."
    )
    crypto: CryptoSource = Field("sample", description="Source of crypto assets.")

    @model_validator(mode="after")
    def _stocks_share_one_source(self) -> PriceSources:
        if self.etf is not None and self.etf != self.equity:
            raise ValueError(
                f"etf = {self.etf!r} differs from equity = {self.equity!r}: equities and ETFs "
                "are fetched by one resource, so they must name the same source"
            )
        return self

    def of(self, asset_class: str) -> SourceName:
        """The source of ``asset_class``; any class but crypto is served with the equities."""
        if asset_class == "crypto":
            return self.crypto
        return self.equity

    def in_use(self, source: SourceName) -> list[str]:
        """The asset classes ``source`` serves, in field order."""
        return [c for c in type(self).model_fields if self.of(c) == source]


class SampleSettings(_Strict):
    seed: int = Field(42, ge=0, le=2**32 - 1, description="Same seed, same simulated market.")


class _LiveSettings(_Strict):
    max_attempts: int = Field(4, ge=1, le=10, description="Attempts per request, first included.")
    backoff_base_s: float = Field(2.0, ge=0, le=60, description="First retry backoff (s).")
    backoff_max_s: float = Field(60.0, ge=0, le=600, description="Backoff ceiling in seconds.")
    max_retry_after_s: float = Field(
        120.0, ge=0, le=600, description="Longest Retry-After honoured (s); longer fails.")
    deadline_s: float = Field(
        600.0, ge=1, le=3600,
        description="Total seconds one fetch may take; then the remaining symbols fail at once.")

    @model_validator(mode="after")
    def _base_below_ceiling(self) -> _LiveSettings:
        if self.backoff_base_s > self.backoff_max_s:
            raise ValueError(
                f"backoff_base_s = {self.backoff_base_s} is above backoff_max_s = "
                f"{self.backoff_max_s}"
            )
        return self


class YahooSettings(_LiveSettings):
    batch_size: int = Field(20, ge=1, le=500, description="Symbols per batch.")
    pause_s: float = Field(2.0, ge=0, le=300, description="Pause between batches in seconds.")
    timeout_s: float = Field(20.0, gt=0, le=300, description="Per-request timeout in seconds.")
    min_interval_s: float = Field(
        0.0, ge=0, le=300, description="Least seconds between calls to Yahoo's host.")


class CoinGeckoSettings(_LiveSettings):
    SECRETS: ClassVar[dict[str, str]] = {"api_key": f"set {COINGECKO_KEY_ENV} in the environment"}

    plan: Literal["demo", "pro"] = Field(
        "demo", description=f"'demo': public API, key optional; 'pro': paid, {COINGECKO_KEY_ENV}."
    )
    vs_currency: str = Field("usd", pattern=r"^[a-z]{2,10}$", description="Quote currency.")
    min_interval_s: float = Field(2.5, ge=0, le=300, description="Pause between calls (~30/min).")
    timeout_s: float = Field(30.0, gt=0, le=300, description="Per-request timeout in seconds.")


class FilesSettings(_Strict):
    directory: str = Field(
        "data/prices", min_length=1,
        description="Folder of <SYMBOL>.csv / <SYMBOL>.parquet files, relative to this file.",
    )


class PriceSettings(_Strict):
    history: History
    sources: PriceSources = PriceSources()
    sample: SampleSettings = SampleSettings()
    yahoo: YahooSettings = YahooSettings()
    coingecko: CoinGeckoSettings = CoinGeckoSettings()
    files: FilesSettings = FilesSettings()


# --- universe -----------------------------------------------------------------------------------


class EquitySpec(_Strict):
    symbol: str = Field(pattern=SYMBOL_PATTERN, description="Ticker as FinScope shows it.")
    name: str = Field(min_length=1)
    sector: str = Field(min_length=1, description="Sector; drives sector correlation in `sample`.")
    kind: Literal["equity", "etf"] = "equity"
    calendar: str = Field("XNYS", description="Exchange calendar code (exchange_calendars).")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    yahoo_id: str | None = Field(None, description="Yahoo ticker when it differs from symbol.")

    @field_validator("calendar")
    @classmethod
    def _known_calendar(cls, value: str) -> str:
        if not is_known(value):
            raise ValueError("unknown exchange calendar (see exchange_calendars codes, e.g. XNYS)")
        return value


class CryptoSpec(_Strict):
    symbol: str = Field(pattern=SYMBOL_PATTERN)
    name: str = Field(min_length=1)
    coingecko_id: str = Field(pattern=r"^[a-z0-9\-]+$", description="CoinGecko coin id.")
    currency: str = Field("USD", pattern=r"^[A-Z]{3}$")
    yahoo_id: str | None = None


class Universe(_Strict):
    equities: list[EquitySpec] = Field(min_length=1)
    crypto: list[CryptoSpec] = Field(default_factory=list, validate_default=True)
    benchmark: str = Field(pattern=SYMBOL_PATTERN, description="Benchmark symbol, e.g. SPY.")

    @model_validator(mode="after")
    def _symbols_unique(self) -> Universe:
        listed = [(f"universe.equities[{n}]", s.symbol) for n, s in enumerate(self.equities)]
        listed += [(f"universe.crypto[{n}]", s.symbol) for n, s in enumerate(self.crypto)]
        where: dict[str, str] = {}
        for key, symbol in listed:
            if symbol in where:
                raise ValueError(f"symbol {symbol!r} is listed twice ({where[symbol]} and {key})")
            where[symbol] = key
        return self

    @field_validator("benchmark")
    @classmethod
    def _benchmark_known(cls, value: str, info: ValidationInfo) -> str:
        if "equities" in info.data and "crypto" in info.data:
            symbols = {s.symbol for s in [*info.data["equities"], *info.data["crypto"]]}
            if value not in symbols:
                raise ValueError(f"benchmark {value!r} is not in the universe")
        return value
