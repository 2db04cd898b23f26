"""The warehouse resource, and the price-source resources the settings file selects."""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import dagster as dg
import duckdb
from pydantic import Field, ValidationError
from tenacity import (
    RetryCallState,
    retry,
    retry_if_exception,
    stop_after_delay,
    wait_random_exponential,
)

from pipelines.run_owner import tag_run
from pipelines.settings import COINGECKO_KEY_ENV, Settings, SettingsError, describe_error
from pipelines.sources.base import PriceSource
from warehouse.db import connect_writer
from warehouse.migrate import migrate

POOL = "warehouse_writer"
"""The one concurrency pool (limit 1, see dagster.yaml) every warehouse writer and check uses."""


logger = logging.getLogger("finscope.warehouse")


def _locked(exc: BaseException) -> bool:
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def _say_waiting(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    logger.warning(f"the warehouse is locked by another process; waiting "
                   f"({state.seconds_since_start:.0f} s so far): {exc}")


class WarehouseResource(dg.ConfigurableResource):
    """The read-write DuckDB warehouse. Only Dagster writers open it; the app reads snapshots."""

    path: str = Field(description="Path of the warehouse DuckDB file.")
    lock_wait_s: float = Field(
        default=120.0, ge=0, le=3600,
        description="How long to wait for another process's lock on the file before failing.",
    )

    def _retrying(self, opener: Callable[[], duckdb.DuckDBPyConnection]
                  ) -> duckdb.DuckDBPyConnection:
        return retry(
            retry=retry_if_exception(_locked),
            wait=wait_random_exponential(multiplier=0.2, max=5),
            stop=stop_after_delay(self.lock_wait_s),
            before_sleep=_say_waiting,
            reraise=True,
        )(opener)()

    def setup_for_execution(self, context: dg.InitResourceContext) -> None:
        """Name this process on the run, so a later build can repair it if it dies (kill -9)."""
        tag_run(context)

    @contextmanager
    def connect(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A read-write connection with the schema migrated; closed on exit.

        Raises:
            duckdb.IOException: the file stayed locked by another process for ``lock_wait_s``.
        """
        con = self._retrying(lambda: connect_writer(self.path))
        try:
            migrate(con)
            yield con
        finally:
            con.close()

    @contextmanager
    def read(self) -> Iterator[duckdb.DuckDBPyConnection | None]:
        """A short read-only look (planning, outside the writer pool); None before any write.

        Raises:
            duckdb.IOException: the file stayed locked by a writer for ``lock_wait_s``.
        """
        if not Path(self.path).exists():
            yield None
            return
        con = self._retrying(lambda: duckdb.connect(self.path, read_only=True))
        try:
            yield con
        finally:
            con.close()


class StagingResource(dg.ConfigurableResource):
    """Where fetched data waits, as files, for its short write into the warehouse."""

    path: str = Field(description="Directory of the staged fetches, one folder per run.")


def price_sources(settings: Settings) -> dict[str, PriceSource]:
    """The ``equity_prices`` and ``crypto_prices`` resources the settings name.

    Every source section was validated when the settings were loaded; this builds the two in use.

    Raises:
        SettingsError: a section breaks a rule of its source class, or plan ``pro`` has no key
            in the environment (named as ``prices.<source>.key``).
    """
    return {
        "equity_prices": _build(settings.sources.equity, settings),
        "crypto_prices": _build(settings.sources.crypto, settings),
    }


_SOURCE_CLASSES = {
    "sample": "pipelines.sources.sample:SampleSource",
    "yahoo": "pipelines.sources.yahoo:YahooSource",
    "coingecko": "pipelines.sources.coingecko:CoinGeckoSource",
    "files": "pipelines.sources.files:FilesSource",
}


def _build(name: str, settings: Settings) -> PriceSource:
    module, class_name = _SOURCE_CLASSES[name].split(":")  # imported only when in use
    source_class: type[PriceSource] = getattr(importlib.import_module(module), class_name)
    where = f"{settings.path}: " if settings.path else ""
    options: dict[str, Any] = getattr(settings.prices, name).model_dump()
    if name == "sample":
        options["history_start"] = settings.history.start.isoformat()
    if name == "coingecko" and os.environ.get(COINGECKO_KEY_ENV):
        # Unresolved: Dagster reads it at run time and never shows the value in the UI.
        options["api_key"] = dg.EnvVar(COINGECKO_KEY_ENV)
    elif name == "coingecko" and settings.prices.coingecko.plan == "pro":
        raise SettingsError(
            f"{where}prices.coingecko.plan = 'pro': the pro plan needs an API key; "
            f"set {COINGECKO_KEY_ENV} in the environment"
        )
    try:
        return source_class(**options)
    except ValidationError as exc:  # a rule of the source class that its section does not have
        problems = "; ".join(describe_error(e, prefix=f"prices.{name}") for e in exc.errors())
        raise SettingsError(f"{where}{problems}") from None
