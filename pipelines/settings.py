"""FinScope settings: one TOML file, a typed section per domain, validated before anything runs.

The file is ``finscope.toml`` at the project root by default, or the path in ``FINSCOPE_CONFIG``.
Sections: ``[prices]`` (history, the source of each asset class, one section per source),
``[universe]``, ``[news]``, ``[onchain]``, ``[portfolios]`` and ``[forecasts]``. Every section is
validated at load, whether its source or domain is in use or not; unknown keys are refused; a bad
value stops with the file, its key and its value. Secrets never live in the file: API keys and
RPC URLs come from environment variables that the file may only *name*, and that Dagster
resolves at run time. Nothing here reads the environment at import time.
"""

from __future__ import annotations

import os
import re
import tomllib
from datetime import date, datetime
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_core import PydanticCustomError

from models import clock
from models.calendars import is_known
from models.instruments import ALWAYS_OPEN, Instrument

CONFIG_ENV = "FINSCOPE_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "finscope.toml"
COINGECKO_KEY_ENV = "COINGECKO_API_KEY"
SYMBOL_PATTERN = r"^[A-Z0-9][A-Z0-9.\-^=]{0,19}$"
ENV_NAME_PATTERN = r"^[A-Z][A-Z0-9_]{0,63}$"
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
SECRET = "secret_in_file"
"""Error type of a secret found in the file: its value is never repeated in a message."""

SourceName = Literal["sample", "yahoo", "coingecko", "files"]
StockSource = Literal["sample", "yahoo", "files"]
CryptoSource = Literal["sample", "coingecko", "files"]


class SettingsError(ValueError):
    """The settings file is missing, unreadable or has a bad value (named with its key)."""


class _Strict(BaseModel):
    """TOML types as written (no ``"20"`` for 20), finite numbers, no unknown keys."""

    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)
    SECRETS: ClassVar[dict[str, str]] = {}
    """Keys refused as secrets, each with where its value must come from instead."""

    @model_validator(mode="before")
    @classmethod
    def _no_secrets(cls, data: Any) -> Any:
        for key, instead in cls.SECRETS.items():
            if isinstance(data, dict) and key in data:
                raise PydanticCustomError(
                    SECRET, "{key} is a secret and never goes in the settings file: {instead}",
                    {"key": key, "instead": instead},
                )
        return data


def _unique(values: list[str], what: str) -> list[str]:
    repeated = sorted({v for v in values if values.count(v) > 1})
    if repeated:
        raise ValueError(f"{what} {repeated[0]!r} is listed twice")
    return values


def _check_url(url: str) -> str:
    """``url`` if it is an absolute http(s) URL without credentials, else ``ValueError``."""
    match = re.match(r"^https?://([^/?#\s]+)[^\s]*$", url)
    if not match:
        raise ValueError("expected an http:// or https:// URL")
    if "@" in match.group(1):  # user:password@host; the value is not repeated
        raise PydanticCustomError(SECRET, "credentials never go in the settings file (user@host)")
    return url


def _check_template(template: str) -> str:
    """A feed URL template with ``{symbol}`` and no other placeholder, else ``ValueError``."""
    if "{symbol}" not in template or template.replace("{symbol}", "").count("{"):
        raise ValueError("expected a URL containing {symbol} and no other {...}")
    _check_url(template.replace("{symbol}", "SPY"))
    return template


FeedUrl = Annotated[str, AfterValidator(_check_url)]
FeedTemplate = Annotated[str, AfterValidator(_check_template)]


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


# --- the domains that land next -----------------------------------------------------------------


class NewsSettings(_Strict):
    enabled: bool = Field(False, description="Whether the news assets fetch anything.")
    feeds: list[FeedUrl] = Field(
        default_factory=list, max_length=200, description="RSS/Atom feed URLs read every day."
    )
    symbol_feeds: list[FeedTemplate] = Field(
        default_factory=list, max_length=20,
        description="Per-symbol feed URL templates; {symbol} is replaced by each equity's ticker.",
    )
    max_items_per_feed: int = Field(100, ge=1, le=1000, description="Newest items kept per feed.")

    @field_validator("feeds", "symbol_feeds")
    @classmethod
    def _feeds_unique(cls, feeds: list[str]) -> list[str]:
        return _unique(feeds, "feed")

    @model_validator(mode="after")
    def _something_to_read(self) -> NewsSettings:
        if self.enabled and not (self.feeds or self.symbol_feeds):
            raise ValueError("enabled = true needs at least one of feeds or symbol_feeds")
        return self


class OnchainSettings(_Strict):
    SECRETS: ClassVar[dict[str, str]] = {
        "rpc_url": "put the URL in an environment variable and name it in rpc_url_env",
    }

    enabled: bool = Field(False, description="Whether the on-chain assets fetch anything.")
    chains: list[Literal["ethereum", "bitcoin"]] = Field(
        default=["ethereum", "bitcoin"], description="Chains to collect."
    )
    rpc_url_env: str = Field(
        "ETHEREUM_RPC_URL",
        description="NAME of the environment variable holding the Ethereum JSON-RPC URL.",
    )
    timeout_s: float = Field(30.0, gt=0, le=300, description="Per-request timeout in seconds.")

    @field_validator("chains")
    @classmethod
    def _chains_unique(cls, chains: list[str]) -> list[str]:
        return _unique(chains, "chain")

    @field_validator("rpc_url_env")
    @classmethod
    def _env_name(cls, value: str) -> str:
        if not re.match(ENV_NAME_PATTERN, value):
            raise PydanticCustomError(  # it may well be the URL itself, key included: not shown
                SECRET, "{key} must be the NAME of an environment variable (e.g. "
                "ETHEREUM_RPC_URL), not the URL", {"key": "rpc_url_env"},
            )
        return value


class PortfolioSettings(_Strict):
    directory: str = Field(
        "portfolios", min_length=1,
        description="Folder of the user's holdings and transactions files, relative to this file.",
    )


class ForecastSettings(_Strict):
    horizon_days: int = Field(30, ge=1, le=365, description="Days ahead each forecast covers.")
    models: list[Literal["naive", "drift", "prophet"]] = Field(
        default=["naive", "prophet"], min_length=1, description="Models to fit."
    )

    @field_validator("models")
    @classmethod
    def _models_unique(cls, models: list[str]) -> list[str]:
        return _unique(models, "model")


# --- the whole file -----------------------------------------------------------------------------


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


def config_path() -> Path:
    """The settings file in use: ``FINSCOPE_CONFIG`` or the project's ``finscope.toml``."""
    return Path(os.environ.get(CONFIG_ENV) or DEFAULT_CONFIG)


def load_settings(path: Path | None = None) -> Settings:
    """Read and validate the settings file; folders in it are resolved against its own folder.

    Raises:
        SettingsError: the file is missing, a directory, not UTF-8 or not TOML, or a value is
            invalid; the message names the file, the key (``universe.equities[3].symbol``) and
            the value (never a secret's).
    """
    named = path is None and bool(os.environ.get(CONFIG_ENV))
    path = path or config_path()
    data = _read(path, f" (named by {CONFIG_ENV})" if named else "")
    try:
        settings = Settings.model_validate(data)
    except ValidationError as exc:
        problems = "; ".join(describe_error(e, model=Settings) for e in exc.errors())
        raise SettingsError(f"{path}: {problems}") from None
    settings = _with_folders(settings, path)
    settings._path = path
    return settings


def _read(path: Path, origin: str) -> dict[str, Any]:
    if path.is_dir():
        raise SettingsError(f"{path}: is a directory, not a settings file{origin}")
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise SettingsError(
            f"{path}: settings file not found{origin} (set {CONFIG_ENV} to a settings file)"
        ) from None
    except OSError as exc:
        raise SettingsError(f"{path}: cannot read the settings file{origin}: {exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SettingsError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); "
            "save the settings file as UTF-8"
        ) from None
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(f"{path}: not valid TOML: {exc}") from None


def _with_folders(settings: Settings, path: Path) -> Settings:
    """Folders made absolute against the file's folder; the files source's folder must exist."""

    def resolve(folder: str) -> Path:
        return (path.parent / Path(folder).expanduser()).resolve()

    prices = settings.prices
    files_dir = resolve(prices.files.directory)
    users = prices.sources.in_use("files")
    if users and not files_dir.is_dir():
        what = "is not a folder" if files_dir.exists() else "does not exist"
        raise SettingsError(
            f"{path}: prices.files.directory = {prices.files.directory!r}: {files_dir} {what} "
            f"(the files source is in use for {', '.join(users)})"
        )
    files = prices.files.model_copy(update={"directory": str(files_dir)})
    portfolios = settings.portfolios.model_copy(
        update={"directory": str(resolve(settings.portfolios.directory))}
    )
    return settings.model_copy(
        update={"prices": prices.model_copy(update={"files": files}), "portfolios": portfolios}
    )


def describe_error(error: Any, prefix: str = "", model: type[BaseModel] | None = None) -> str:
    """One pydantic error as ``key.path[3].field = 'value': message``.

    Args:
        error: one item of ``ValidationError.errors()``.
        prefix: key of the validated object inside the file (``prices.yahoo``), if not the root.
        model: the model validated; names the known keys when a key is unknown.
    """
    loc = list(error["loc"])
    message = error["msg"]
    secret_key = (error.get("ctx") or {}).get("key") if error["type"] == SECRET else None
    if secret_key and loc[-1:] != [secret_key]:
        loc.append(secret_key)
    elif error["type"] == "value_error":
        message = str(error["ctx"]["error"])
    elif error["type"] == "extra_forbidden":
        known = _known_keys(model, loc[:-1]) if model else []
        message = f"unknown key (known: {', '.join(known)})" if known else "unknown key"
    parts = [prefix, *loc] if prefix else loc
    key = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in parts).lstrip(".")
    value = error.get("input")
    hidden = error["type"] == SECRET or isinstance(value, dict) or len(repr(value)) > 80
    shown = "" if hidden else f" = {value!r}"
    return f"{key or '(top level)'}{shown}: {message}"


def _known_keys(model: type[BaseModel], loc: list[Any]) -> list[str]:
    """The keys of the section at ``loc`` (list indexes skipped) inside ``model``."""
    current: Any = model
    for part in loc:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", {})
        if part not in fields:
            return []
        current = fields[part].annotation
        while not isinstance(current, type) and get_args(current):  # list[X], X | None
            current = next(a for a in get_args(current) if a is not type(None))
    return sorted(getattr(current, "model_fields", {}))
