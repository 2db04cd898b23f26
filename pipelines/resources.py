"""The warehouse resource, and the price-source resources the settings file selects."""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import dagster as dg
import duckdb
from pydantic import Field, ValidationError
from tenacity import retry, retry_if_exception, stop_after_delay, wait_random_exponential

from pipelines.settings import Settings, SettingsError, describe_error
from pipelines.sources.base import PriceSource
from warehouse.db import connect_writer
from warehouse.migrate import migrate

COINGECKO_KEY_ENV = "COINGECKO_API_KEY"
POOL = "warehouse_writer"
"""The one concurrency pool (limit 1, see dagster.yaml) every warehouse writer and check uses."""


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


class WarehouseResource(dg.ConfigurableResource):
    """The read-write DuckDB warehouse. Only Dagster writers open it; the app reads snapshots."""

    path: str = Field(description="Path of the warehouse DuckDB file.")
    lock_wait_s: float = Field(
        default=120.0,
        description="How long to wait for another process's write lock before failing.",
    )

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema migrated; closed on exit.

        Raises:
            duckdb.IOException: the file stayed locked by another process for ``lock_wait_s``.
        """
        opener = retry(
            retry=retry_if_exception(_locked),
            wait=wait_random_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self.lock_wait_s),
            reraise=True,
        )(connect_writer)
        con = opener(self.path)
        try:
            migrate(con)
            yield con
        finally:
            con.close()


def price_sources(settings: Settings) -> dict[str, PriceSource]:
    """The ``equity_prices`` and ``crypto_prices`` resources the settings name.

    Raises:
        SettingsError: a source section has a bad value (named as ``section.key``).
    """
    return {
        "equity_prices": _build(settings.sources.equity, settings),
        "crypto_prices": _build(settings.sources.crypto, settings),
    }


def _build(name: str, settings: Settings) -> PriceSource:
    from pipelines.sources.coingecko import CoinGeckoSource
    from pipelines.sources.files import FilesSource
    from pipelines.sources.sample import SampleSource
    from pipelines.sources.yahoo import YahooSource

    classes: dict[str, type[PriceSource]] = {
        "sample": SampleSource,
        "yahoo": YahooSource,
        "coingecko": CoinGeckoSource,
        "files": FilesSource,
    }
    options: dict[str, Any] = dict(getattr(settings, name))
    if name == "sample":
        options.setdefault("history_start", settings.history.start.isoformat())
    if name == "coingecko" and os.environ.get(COINGECKO_KEY_ENV):
        # Unresolved: Dagster reads it at run time and never shows the value in the UI.
        options.setdefault("api_key", dg.EnvVar(COINGECKO_KEY_ENV))
    unknown = sorted(set(options) - set(classes[name].model_fields))
    if unknown:
        known = ", ".join(sorted(classes[name].model_fields))
        raise SettingsError(f"[{name}] section: unknown key {unknown[0]!r} (known: {known})")
    try:
        return classes[name](**options)
    except ValidationError as exc:
        problems = "; ".join(describe_error(e, prefix=name) for e in exc.errors())
        raise SettingsError(f"[{name}] section: {problems}") from None
