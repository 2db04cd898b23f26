"""FinScope settings: the universe, the source of each asset class, history; validated up front.

The file is TOML (``finscope.toml`` at the project root by default, or the path in
``FINSCOPE_CONFIG``). Secrets never live in it: API keys come from environment variables.
"""

from __future__ import annotations

import os
import tomllib
from datetime import date
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from models import clock
from models.calendars import is_known
from models.instruments import ALWAYS_OPEN, Instrument

CONFIG_ENV = "FINSCOPE_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "finscope.toml"
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9.\-^=]{0,19}$"


class SettingsError(ValueError):
    """The settings file is missing, unreadable or has a bad value (named with its key)."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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
    benchmark: str = Field(pattern=SYMBOL_PATTERN, description="Benchmark symbol, e.g. SPY.")
    equities: list[EquitySpec] = Field(min_length=1)
    crypto: list[CryptoSpec] = Field(default_factory=list)

    @model_validator(mode="after")
    def _symbols_unique_and_benchmark_known(self) -> Universe:
        seen: set[str] = set()
        specs: list[EquitySpec | CryptoSpec] = [*self.equities, *self.crypto]
        for spec in specs:
            if spec.symbol in seen:
                raise ValueError(f"symbol {spec.symbol!r} is listed twice")
            seen.add(spec.symbol)
        if self.benchmark not in seen:
            raise ValueError(f"benchmark {self.benchmark!r} is not in the universe")
        return self


class Sources(_Strict):
    equity: Literal["sample", "yahoo", "files"] = "sample"
    crypto: Literal["sample", "coingecko", "files"] = "sample"


class History(_Strict):
    start: date = Field(description="First day of price history.")

    @field_validator("start")
    @classmethod
    def _not_future(cls, value: date) -> date:
        if value >= clock.today():
            raise ValueError("history start must be in the past")
        if value < date(1990, 1, 1):
            raise ValueError("history start must be on or after 1990-01-01")
        return value


class Settings(_Strict):
    history: History
    sources: Sources = Sources()
    universe: Universe
    sample: dict[str, Any] = Field(default_factory=dict, description="SampleSource config.")
    yahoo: dict[str, Any] = Field(default_factory=dict, description="YahooSource config.")
    coingecko: dict[str, Any] = Field(default_factory=dict, description="CoinGeckoSource config.")
    files: dict[str, Any] = Field(default_factory=dict, description="FilesSource config.")

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
        return self.sources.crypto if instrument.asset_class == "crypto" else self.sources.equity


def config_path() -> Path:
    """The settings file in use: ``FINSCOPE_CONFIG`` or the project's ``finscope.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings file.

    Raises:
        SettingsError: the file is missing or not TOML, or a value is invalid; the message
            names the file, the key (e.g. ``universe.equities[3].symbol``) and the value.
    """
    path = path or config_path()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise SettingsError(f"{path}: settings file not found (set {CONFIG_ENV})") from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_error(e) for e in exc.errors())
        raise SettingsError(f"{path}: {problems}") from None
    if settings.files.get("directory"):
        folder = (path.parent / settings.files["directory"]).resolve()
        files = {**settings.files, "directory": str(folder)}
        settings = settings.model_copy(update={"files": files})
    return settings


def describe_error(error: Any, prefix: str = "") -> str:
    """One pydantic error as ``key.path[3].field = 'value': message``."""
    parts = [prefix, *error["loc"]] if prefix else list(error["loc"])
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    value = error.get("input")
    shown = "" if isinstance(value, dict | list) else f" = {value!r}"
    return f"{key or '(top level)'}{shown}: {error['msg']}"
