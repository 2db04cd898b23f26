"""FinScope settings: one TOML file, a typed section per domain, validated before anything runs.

The file is ``finscope.toml`` at the project root by default, or the path in ``FINSCOPE_CONFIG``.
Sections: ``[prices]`` (history, the source of each asset class, one section per source),
``[universe]``, ``[news]``, ``[onchain]``, ``[portfolios]`` and ``[forecasts]``. Every section is
validated at load, whether its source or domain is in use or not; unknown keys are refused; a bad
value stops with the file, its key and its value. Secrets never live in the file: API keys and
RPC URLs come from environment variables that the file may only *name*, and that Dagster
resolves at run time. Nothing here reads the environment at import time.

This package re-exports its public names, so ``from pipelines.settings import Settings`` works:

- ``base``: the strict base model every section shares, ``SettingsError`` and ``SECRET``;
- ``prices``: ``[prices]`` (history, sources, one section per source) and ``[universe]``;
- ``domains``: ``[news]``, ``[onchain]``, ``[portfolios]`` and ``[forecasts]``;
- ``model``: ``Settings``, the whole file;
- ``loading``: finding and reading the file, ``load_settings`` and ``describe_error``.
"""

from __future__ import annotations

from pipelines.settings.base import SECRET, SettingsError
from pipelines.settings.domains import (
    ENV_NAME_PATTERN,
    FeedTemplate,
    FeedUrl,
    ForecastSettings,
    NewsSettings,
    OnchainSettings,
    PortfolioSettings,
)
from pipelines.settings.loading import (
    CONFIG_ENV,
    DEFAULT_CONFIG,
    config_path,
    describe_error,
    load_settings,
)
from pipelines.settings.model import Settings
from pipelines.settings.prices import (
    COINGECKO_KEY_ENV,
    ISO_DATE,
    SYMBOL_PATTERN,
    CoinGeckoSettings,
    CryptoSource,
    CryptoSpec,
    EquitySpec,
    FilesSettings,
    History,
    PriceSettings,
    PriceSources,
    SampleSettings,
    SourceName,
    StockSource,
    Universe,
    YahooSettings,
)

__all__ = [
    "COINGECKO_KEY_ENV",
    "CONFIG_ENV",
    "DEFAULT_CONFIG",
    "ENV_NAME_PATTERN",
    "ISO_DATE",
    "SECRET",
    "SYMBOL_PATTERN",
    "CoinGeckoSettings",
    "CryptoSource",
    "CryptoSpec",
    "EquitySpec",
    "FeedTemplate",
    "FeedUrl",
    "FilesSettings",
    "ForecastSettings",
    "History",
    "NewsSettings",
    "OnchainSettings",
    "PortfolioSettings",
    "PriceSettings",
    "PriceSources",
    "SampleSettings",
    "Settings",
    "SettingsError",
    "SourceName",
    "StockSource",
    "Universe",
    "YahooSettings",
    "config_path",
    "describe_error",
    "load_settings",
]
